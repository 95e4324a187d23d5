// The pad's file tabs over the editor: one tab per file (the file that runs marked ▶), and for someone who may
// edit: + to add a file, and Rename, "Runs" and × for the file shown. Names are typed in place. The tabs only
// draw and ask: pad-doc.js makes the changes and says why one is refused.

/**
 * @param {object} options
 * @param {HTMLElement} options.container
 * @param {object} options.actions  select(name), add(name), rename(from, to), remove(name), entry(name): the last
 *   four return null or why not
 * @param {(text: string) => void} options.refuse  say why a change was refused
 */
export function createPadTabs({ container, actions, refuse }) {
  let shown = { files: [], entry: "", current: "", editable: false };
  let editing = null; // {from: name | null} while a name is typed (from null: a new file)

  function button(text, { title = "", testid = "", className = "tab-action", onClick }) {
    const element = document.createElement("button");
    element.type = "button";
    element.className = className;
    element.textContent = text;
    if (title) element.title = title;
    if (testid) element.dataset.testid = testid;
    element.addEventListener("click", onClick);
    return element;
  }

  function nameInput(initial, from) {
    const input = document.createElement("input");
    input.className = "tab-input";
    input.value = initial;
    input.spellcheck = false;
    input.dataset.testid = "file-name-input";
    input.setAttribute("aria-label", from === null ? "New file's name" : `New name for ${from}`);
    let done = false;
    const finish = (commit) => {
      if (done) return;
      done = true;
      editing = null;
      const name = input.value.trim();
      const wasShown = from === null || shown.current === from;
      if (commit && name && name !== from) {
        const problem = from === null ? actions.add(name) : actions.rename(from, name);
        if (problem) refuse(problem);
        else if (wasShown) actions.select(name);
      }
      draw();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        finish(true);
      } else if (event.key === "Escape") {
        event.preventDefault();
        finish(false);
      }
    });
    input.addEventListener("blur", () => finish(true));
    queueMicrotask(() => {
      input.focus();
      const dot = initial.lastIndexOf(".");
      input.setSelectionRange(0, dot > 0 ? dot : initial.length);
    });
    return input;
  }

  function draw() {
    const { files, entry, current, editable } = shown;
    const parts = files.map((name) => {
      if (editing && editing.from === name) return nameInput(name, name);
      const tab = button(name, {
        className: "file-tab",
        title: name === entry ? `${name}: the file that runs` : name,
        onClick: () => actions.select(name),
      });
      tab.dataset.file = name;
      tab.dataset.testid = "file-tab";
      tab.setAttribute("aria-pressed", String(name === current));
      if (name === entry && files.length > 1) tab.dataset.entry = "true";
      if (editable) tab.addEventListener("dblclick", () => startEditing(name));
      return tab;
    });
    if (editable) {
      if (editing && editing.from === null) parts.push(nameInput("", null));
      else parts.push(button("+", { title: "Add a file", testid: "add-file", onClick: () => startEditing(null) }));
      if (current && !editing) {
        parts.push(button("Rename", { title: `Rename ${current}`, testid: "rename-file", onClick: () => startEditing(current) }));
        if (current !== entry) {
          parts.push(
            button("Runs", {
              title: `Make ${current} the file that runs`,
              testid: "entry-file",
              onClick: () => refuseIf(actions.entry(current)),
            }),
          );
        }
        if (files.length > 1) {
          parts.push(button("×", { title: `Delete ${current}`, testid: "delete-file", onClick: () => remove(current) }));
        }
      }
    }
    container.replaceChildren(...parts);
  }

  function refuseIf(problem) {
    if (problem) refuse(problem);
  }

  function startEditing(from) {
    editing = { from };
    draw();
  }

  function remove(name) {
    // eslint-disable-next-line no-alert
    if (!confirm(`Delete ${name} for everyone on the pad?`)) return;
    refuseIf(actions.remove(name));
  }

  return {
    /** Draw the tabs: files in tab order, the file that runs, the one shown, whether this page may change them. */
    render(state) {
      shown = state;
      if (editing && !state.editable) editing = null;
      // A name being typed is not thrown away because someone else typed code meanwhile.
      if (editing && container.contains(document.activeElement)) return;
      draw();
    },
  };
}
