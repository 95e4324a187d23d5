// The notice line above the panes: what went wrong and what to do about it, or a word of information.
// When the server wants an API token, the notice asks for it in place.

import * as store from "./store.js";

/**
 * @param {object} elements  notice, text, close (its × button), tokenForm, tokenInput
 * @param {() => void} onToken  called once a token was typed and saved
 */
export function createNotices({ notice, text, close, tokenForm, tokenInput }, onToken) {
  function show({ text: words, kind = "error", askToken = false }) {
    text.textContent = words;
    notice.dataset.kind = kind;
    notice.hidden = false;
    tokenForm.hidden = !askToken;
    if (askToken) tokenInput.focus();
  }

  function clear() {
    notice.hidden = true;
    text.textContent = "";
    tokenForm.hidden = true;
  }

  close.addEventListener("click", clear);

  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    store.saveToken(tokenInput.value.trim());
    tokenInput.value = "";
    clear();
    onToken();
  });

  return {
    /** Show a notice ({text, kind: "error" | "info", askToken}), replacing the one shown. */
    show,
    clear,
    /** Take the notice down if it says exactly `words`: a warning that no longer holds. */
    withdraw(words) {
      if (!notice.hidden && text.textContent === words) clear();
    },
  };
}
