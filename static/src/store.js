// What the pad remembers between visits, in localStorage: code per language, the last language, the tty toggle,
// the API token; on pads, the name and colour a person goes by and the keys of the pads they own.
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

/** The name and colour a person goes by on pads ({name, colour}; either may be null). */
export function loadPadPerson() {
  return { name: read("pad.name"), colour: read("pad.colour") };
}

export function savePadPerson({ name, colour }) {
  write("pad.name", name || null);
  write("pad.colour", colour || null);
}

/** The keys of a pad this browser created or renewed ({owner, edit, view}), so its owner can copy its links. */
export function loadPadKeys(padId) {
  try {
    const keys = JSON.parse(read(`pad.keys.${padId}`) || "{}");
    return keys && typeof keys === "object" ? keys : {};
  } catch {
    return {};
  }
}

export function savePadKey(padId, role, key) {
  write(`pad.keys.${padId}`, JSON.stringify({ ...loadPadKeys(padId), [role]: key }));
}
