// The embed page's side of the postMessage API (docs/embed.md): listen to the parent window, answer only allowed
// origins, post events to them by name. The rules are embed-api.js; what a command does is the pad page's
// (pad-page.js hands in `commands`, each answering null when done or {code, message} when refused).

import { EmbedError, EmbedEvent, errorMessage, eventMessage, eventTargets, isAllowedOrigin, readCommand, readOrigins } from "./embed-api.js";

const ORIGINS_META = "padbox-embed-origins"; // server/padbox/web/embed.py

/** The origins the server allows to frame this page. */
export function allowedOrigins(doc = document) {
  return readOrigins(doc.querySelector(`meta[name="${ORIGINS_META}"]`)?.content);
}

/**
 * Start answering the parent window. `commands`: {run(command), stop(command), set_language(command)}, each
 * returning (or resolving to) null or {code, message}. Returns {ready(fields), emit(type, fields)}; commands
 * before `ready` are answered with a not_ready error.
 */
export function startEmbed({ commands, win = window }) {
  const allowed = allowedOrigins(win.document);
  const parent = win.parent !== win ? win.parent : null;
  const ancestor = win.location.ancestorOrigins?.[0] ?? null; // Chromium and Safari name the parent's origin
  let isReady = false;

  function post(message) {
    if (!parent) return;
    for (const target of eventTargets(allowed, ancestor)) parent.postMessage(message, target);
  }

  function answer(event, message) {
    event.source?.postMessage(message, event.origin); // the origin was checked: an explicit target, never "*"
  }

  async function handle(event) {
    if (!parent || event.source !== parent || !isAllowedOrigin(event.origin, allowed)) return; // nobody else is answered
    const read = readCommand(event.data);
    if (read.error) {
      answer(event, read.error);
      return;
    }
    const { command } = read;
    if (!isReady) {
      answer(event, errorMessage(EmbedError.NOT_READY, "the pad is still opening: wait for the ready event", command));
      return;
    }
    let refusal;
    try {
      refusal = await commands[command.type](command);
    } catch (error) {
      refusal = { code: EmbedError.REFUSED, message: String(error?.message ?? error) };
    }
    if (refusal) answer(event, errorMessage(refusal.code, refusal.message, command));
  }

  win.addEventListener("message", (event) => {
    handle(event);
  });

  return {
    allowed,
    ready(fields) {
      if (isReady) return;
      isReady = true;
      post(eventMessage(EmbedEvent.READY, fields));
    },
    emit(type, fields) {
      if (isReady) post(eventMessage(type, fields));
    },
  };
}
