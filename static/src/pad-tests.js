// The pad's question and tests, without the DOM: the custom cases kept in the document (`Y.Map` "tests", so every
// page sees them live), and the results of a test run folded from the events socket's messages.

export const TESTS = "tests";
export const MAX_CUSTOM_CASES = 20; // the server runs at most this many of a pad's own cases

export const testsOf = (doc) => doc.getMap(TESTS);

/** The pad's own cases, in id order (ids are times, so that is the order they were added in). */
export function customCases(doc) {
  const tests = testsOf(doc);
  return [...tests.keys()].sort().map((id) => {
    const value = tests.get(id) ?? {};
    return { id, name: String(value.name ?? ""), stdin: String(value.stdin ?? ""), expected: String(value.expected ?? "") };
  });
}

/** Add a case; refused (an error's words) when it is unnamed or the pad has enough. */
export function addCase(doc, { name, stdin, expected }, now = Date.now()) {
  const clean = String(name ?? "").trim().slice(0, 80);
  if (!clean) return "Name the case.";
  if (testsOf(doc).size >= MAX_CUSTOM_CASES) return `A pad keeps at most ${MAX_CUSTOM_CASES} cases of its own.`;
  const id = `${String(now).padStart(15, "0")}-${Math.random().toString(36).slice(2, 6)}`;
  testsOf(doc).set(id, { name: clean, stdin: String(stdin ?? ""), expected: String(expected ?? "") });
  return null;
}

export const removeCase = (doc, id) => testsOf(doc).delete(id);

/** One test run as a page shows it: a row per case, filled in as results arrive, and the summary at the end. */
export class TestRunView {
  constructor(started) {
    this.runId = started.run_id;
    this.rows = (started.cases ?? []).map((c) => ({ ...c, result: null }));
    this.finished = null;
  }

  add(result) {
    const row = this.rows[result.index];
    if (row) row.result = result;
  }

  finish(message) {
    this.finished = message;
  }

  get done() {
    return this.rows.filter((row) => row.result).length;
  }

  get summary() {
    if (this.finished) return this.finished.summary;
    return `running… ${this.done}/${this.rows.length}`;
  }
}
