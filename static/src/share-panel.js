// The Share popover under the Share button: the live run's driver and viewer links, each with a Copy button.
// It knows nothing of runs: the pad hands it the links (share.js makes them) each time it opens.

import { Role } from "./protocol.js";

const FLASH_MS = 2000;

/**
 * @param {object} options
 * @param {HTMLButtonElement} options.button  the Share button, which toggles the panel
 * @param {HTMLElement} options.panel  the panel, holding one `[data-link-role]` row per role
 * @param {string} options.copyKeys  what to press to copy where the clipboard is out of reach ("Ctrl+C")
 */
export function createSharePanel({ button, panel, copyKeys }) {
  const rows = new Map(
    [Role.DRIVER, Role.VIEWER].map((role) => {
      const row = panel.querySelector(`[data-link-role="${role}"]`);
      return [role, { row, input: row.querySelector("input"), copy: row.querySelector("button") }];
    }),
  );
  const flashTimers = new Map();
  let open = false;

  function show(links) {
    for (const [role, { row, input }] of rows) {
      row.hidden = !links[role];
      input.value = links[role] || "";
    }
  }

  // Fixed under the button, kept inside the window: the toolbar wraps on narrow screens.
  function place() {
    const anchor = button.getBoundingClientRect();
    const width = panel.offsetWidth;
    const left = Math.max(8, Math.min(anchor.left, document.documentElement.clientWidth - width - 8));
    panel.style.left = `${left}px`;
    panel.style.top = `${anchor.bottom + 6}px`;
  }

  function openWith(links) {
    show(links);
    panel.hidden = false;
    open = true;
    button.setAttribute("aria-expanded", "true");
    place();
    const first = [...rows.values()].find(({ row }) => !row.hidden);
    if (first) {
      first.input.focus();
      first.input.select();
    }
  }

  function close({ returnFocus = false } = {}) {
    if (!open) return;
    panel.hidden = true;
    open = false;
    button.setAttribute("aria-expanded", "false");
    if (returnFocus) button.focus();
  }

  function flash(copyButton, text) {
    clearTimeout(flashTimers.get(copyButton));
    copyButton.textContent = text;
    flashTimers.set(
      copyButton,
      setTimeout(() => {
        copyButton.textContent = "Copy";
      }, FLASH_MS),
    );
  }

  async function copy({ input, copy: copyButton }) {
    try {
      // Missing on an origin that is neither HTTPS nor localhost; may also be refused. Either way: select it.
      await navigator.clipboard.writeText(input.value);
      flash(copyButton, "Copied");
    } catch {
      input.focus();
      input.select();
      flash(copyButton, `Press ${copyKeys}`);
    }
  }

  for (const entry of rows.values()) entry.copy.addEventListener("click", () => copy(entry));
  document.addEventListener("pointerdown", (event) => {
    if (open && !panel.contains(event.target) && !button.contains(event.target)) close();
  });
  document.addEventListener("keydown", (event) => {
    if (open && event.key === "Escape") close({ returnFocus: true });
  });
  addEventListener("resize", () => {
    if (open) place();
  });

  return {
    /** Open showing `links` ({driver, viewer}; a missing one's row is hidden), or close if open. */
    toggle(links) {
      if (open) close();
      else openWith(links);
    },
    /** Keep the shown links current; null (the run ended) closes the panel. */
    update(links) {
      if (!open) return;
      if (links) show(links);
      else close();
    },
    close,
  };
}
