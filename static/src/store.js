// What the pad remembers between visits, in localStorage: code per language, the last language, the tty toggle,
// the API token.
// Storage can be missing or full (private windows, quotas); the pad then simply forgets.

const PREFIX = "padbox.";

function read(key) {
  try {
    return globalThis.localStorage.getItem(PREFIX + key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null) globalThis.localStorage.removeItem(PREFIX + key);
    else globalThis.localStorage.setItem(PREFIX + key, value);
  } catch {
    // not remembered this time
  }
}

/** The code the person wrote for a language, or null when they have not written any. */
export function loadCode(languageId) {
  return read(`code.${languageId}`);
}

/** Remember code for a language; code equal to the template is not the person's, so it is forgotten. */
export function saveCode(languageId, code, template) {
  write(`code.${languageId}`, code === template ? null : code);
}

export function loadLanguageId() {
  return read("language");
}

export function saveLanguageId(languageId) {
  write("language", languageId);
}

/** The tty toggle: true unless the person switched to pipe mode. */
export function loadTty() {
  return read("tty") !== "false";
}

export function saveTty(tty) {
  write("tty", tty ? null : "false");
}

/** The API token for a server that asks for one, or null. */
export function loadToken() {
  return read("token");
}

export function saveToken(token) {
  write("token", token || null);
}
