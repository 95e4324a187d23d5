// The pad's question panel: the question's description (HTML the server sanitised), its visible cases, the pad's
// own cases (the Tests panel, kept in the document), Run tests, and each test run's results as they arrive.

import { addCase, customCases, removeCase, testsOf, TestRunView } from "./pad-tests.js";

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};

/**
 * @param {object} options
 * @param {() => boolean} options.runTests  asks for a test run on the events socket; false when it is not open (a
 *   refusal comes back on that socket, and the page shows it)
 */
export function createQuestionPanel({ root, calls, getDoc, getRole, canEdit, runTests, notify, onLanguageStarter }) {
  let question = null;
  let run = null;
  const q = (name) => root.querySelector(`[data-part="${name}"]`);

  async function load() {
    const answer = await calls.question();
    question = answer.ok ? answer.body.question : null;
    render();
  }

  function renderCase(c) {
    return el(
      "li",
      { className: "case" },
      el("strong", { textContent: c.name }),
      c.visibility === "hidden" ? el("span", { className: "tag", textContent: "hidden" }) : null,
      el("pre", { textContent: `in:  ${c.stdin}` }),
      el("pre", { textContent: `out: ${c.expected}` }),
    );
  }

  function render() {
    root.hidden = false;
    q("title").textContent = question ? `${question.title} · ${question.difficulty}` : "No question: tests of your own";
    q("description").innerHTML = question ? question.description_html : ""; // sanitised by the server (nh3)
    q("cases").replaceChildren(...(question ? question.cases.map(renderCase) : []));
    q("hidden").textContent = question && question.hidden_cases && getRole() !== "owner"
      ? `and ${question.hidden_cases} hidden case(s), run with the others`
      : "";
    renderCustom();
    renderRun();
  }

  function renderCustom() {
    const doc = getDoc();
    if (!doc) return;
    const editable = canEdit();
    q("custom").replaceChildren(
      ...customCases(doc).map((c) => {
        const remove = el("button", { type: "button", textContent: "×", title: "Remove this case", disabled: !editable });
        remove.addEventListener("click", () => removeCase(doc, c.id));
        const item = renderCase({ ...c, visibility: "visible" });
        item.dataset.testid = "custom-case";
        item.append(remove);
        return item;
      }),
    );
    q("add").hidden = !editable;
    q("run-tests").disabled = !editable;
  }

  function renderRun() {
    const box = q("results");
    if (!run) {
      box.replaceChildren();
      q("summary").textContent = "";
      return;
    }
    q("summary").textContent = run.summary;
    box.replaceChildren(
      ...run.rows.map((row) => {
        const r = row.result;
        const state = r ? (r.passed ? "pass" : "fail") : "waiting";
        const head = el(
          "div",
          { className: "result-head" },
          el("span", { className: `result-${state}`, textContent: r ? (r.passed ? "✔ pass" : "✘ fail") : "…" }),
          el("strong", { textContent: ` ${row.name}` }),
          row.custom ? el("span", { className: "tag", textContent: "yours" }) : null,
          r ? el("span", { className: "hint", textContent: ` ${r.verdict ?? r.error ?? ""} ${r.wall_ms ?? "–"} ms` }) : null,
        );
        const details = [];
        if (r && r.expected !== undefined && !r.passed) {
          if (r.stdin) details.push(el("pre", { textContent: `input:\n${r.stdin}` }));
          details.push(el("pre", { textContent: `expected:\n${r.expected}` }));
          if (r.actual !== undefined) details.push(el("pre", { textContent: `actual:\n${r.actual}` }));
          if (r.diff) details.push(el("pre", { className: "diff", textContent: r.diff }));
          if (r.stderr) details.push(el("pre", { textContent: `stderr:\n${r.stderr}` }));
        }
        const item = el("li", { className: `result ${state}` }, head, ...details);
        item.dataset.testid = "test-result";
        return item;
      }),
    );
    if (run.finished?.compile) {
      box.prepend(el("pre", { className: "result fail", textContent: `compile error:\n${run.finished.compile.output}` }));
    }
  }

  q("add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const problem = addCase(getDoc(), {
      name: form.elements.name.value,
      stdin: form.elements.stdin.value,
      expected: form.elements.expected.value,
    });
    if (problem) notify(problem);
    else form.reset();
  });
  q("run-tests").addEventListener("click", () => {
    if (!runTests()) notify("Not connected to the pad: try Run tests again once the page has reconnected.");
  });
  q("use-starter").addEventListener("click", () => onLanguageStarter(question));

  return {
    load,
    attachDoc(doc) {
      testsOf(doc).observe(renderCustom);
      renderCustom();
    },
    refresh: render,
    /** The pad's language changed: offer the question's starter for it, if it has one. */
    languageChanged(language) {
      const starter = question?.starters?.find((s) => s.language === language);
      q("use-starter").hidden = !starter || !canEdit();
      q("use-starter").textContent = starter ? `Use the question's ${language} starter` : "";
    },
    event(message) {
      if (message.type === "test_run") run = new TestRunView(message);
      else if (message.type === "test_case" && run?.runId === message.run_id) run.add(message.result);
      else if (message.type === "test_run_finished" && run?.runId === message.run_id) run.finish(message);
      else if (message.type === "pad_question") return load();
      else return;
      renderRun();
    },
    state: () => ({ summary: run?.summary ?? "", question: question?.slug ?? null }),
  };
}
