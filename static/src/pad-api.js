// The pad's HTTP API as the page calls it: each call answers {ok, status, body} and never throws, so a refusal
// (404 for an unknown pad or a wrong key alike, 403, 409 pad_ended, 413, 429) is an expected result the page
// puts into words with `describeRefusal`.

import { apiHeaders } from "./access.js";
import { padApi } from "./pad-link.js";
import { NO_SUCH_PAD } from "./pad-events.js";

async function call(url, { method = "GET", body } = {}) {
  const headers = { ...apiHeaders() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    return { ok: response.ok, status: response.status, body: parsed };
  } catch (err) {
    return { ok: false, status: 0, body: { message: err instanceof Error ? err.message : String(err) } };
  }
}

/** A refused call's words: the server's message under its code, else what the status means. */
export function describeFailure({ status, body }) {
  const error = body && typeof body === "object" ? (body.error && typeof body.error === "object" ? body.error : body) : {};
  const message = typeof error.message === "string" ? error.message : "";
  if (status === 0) return `Cannot reach the padbox server (${message || "no answer"}).`;
  if (status === 404) return `No pad has that id and key: the link is wrong or was replaced, or the pad has been deleted.`;
  if (error.code === "pad_ended" || status === 409) return message ? `This pad has ended: ${message}` : "This pad has ended.";
  if (status === 429) return `The server is busy${message ? `: ${message}` : ""}. Try again in a moment.`;
  return message || `The server answered ${status}.`;
}

export const createPad = (body) => call("/api/v1/pads", { method: "POST", body });

export function padCalls(id, key) {
  return {
    info: () => call(padApi(id, key)),
    run: (body) => call(padApi(id, key, "runs"), { method: "POST", body }),
    question: () => call(padApi(id, key, "question")),
    testRuns: () => call(padApi(id, key, "tests")),
    end: () => call(padApi(id, key, "end"), { method: "POST" }),
    newLink: (role) => call(padApi(id, key, "links"), { method: "POST", body: { role } }),
    notes: () => call(padApi(id, key, "notes")),
    saveNotes: (notes) => call(padApi(id, key, "notes"), { method: "PUT", body: { notes } }),
    history: () => call(padApi(id, key, "history")),
    report: () => call(padApi(id, key, "report")),
    languageHelp: () => call(padApi(id, key, "language-help")),
    // `name`: who the pad's history records as having switched it.
    setLanguageHelp: (enabled, name) =>
      call(`${padApi(id, key, "language-help")}${name ? `&name=${encodeURIComponent(name)}` : ""}`, {
        method: "PUT",
        body: { enabled },
      }),
    exportUrl: () => padApi(id, key, "export"),
  };
}

export { NO_SUCH_PAD };
