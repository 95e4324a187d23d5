// The web pad: wires the editor, the terminal, the language picker and the status line to runs over /ws.

import "@xterm/xterm/css/xterm.css";
import "./style.css";

import { adoptTokenFromAddress, apiHeaders, isTokenRefusal, openSocket } from "./access.js";
import { createEditor } from "./editor.js";
import { indentFor, loadSupport } from "./languages.js";
import { LineEditor } from "./line-editor.js";
import { ErrorCode, runMessage, ServerType, Stage, Verdict } from "./protocol.js";
import { EndReason, Phase, RunSession } from "./session.js";
import { exitDetails, formatDuration, phaseLabel, VERDICT_HINTS } from "./status.js";
import * as store from "./store.js";
import { createTerminal } from "./terminal.js";

const $ = (id) => document.getElementById(id);
const ui = {
  language: $("language"),
  run: $("run"),
  stop: $("stop"),
  tty: $("tty"),
  fileName: $("file-name"),
  notice: $("notice"),
  noticeText: $("notice-text"),
  noticeClose: $("notice-close"),
  tokenForm: $("token-form"),
  tokenInput: $("token-input"),
  status: $("status"),
  verdict: $("verdict"),
  details: $("details"),
};

const LANGUAGES_URL = "/api/v1/languages";
const LANGUAGES_RETRY_MS = 3000;
const SAVE_DELAY_MS = 300;

const wsUrl = () => (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";

const darkScheme = matchMedia("(prefers-color-scheme: dark)");

let languages = []; // as the server listed them
let current = null; // the language shown in the editor
let session = null; // the latest run, finished or not
let runTty = true; // the mode the latest run was started in
let saveTimer = 0;
let languagesTimer = 0;

const editor = createEditor($("editor"), { dark: darkScheme.matches, onChange: scheduleSave });
const terminal = createTerminal($("terminal"), {
  dark: darkScheme.matches,
  onData: terminalInput,
  onResize: ({ cols, rows }) => session?.resize(cols, rows),
});
const lineEditor = new LineEditor({
  echo: (text) => terminal.write(text),
  send: (data) => session?.sendStdin(data),
  eof: () => session?.sendEof(),
  interrupt: () => session?.interrupt(),
});

darkScheme.addEventListener("change", (event) => {
  editor.setDark(event.matches);
  terminal.setDark(event.matches);
});

// --- notices: one line above the panes for what went wrong and what to do about it

function showNotice(text, kind = "error") {
  ui.noticeText.textContent = text;
  ui.notice.dataset.kind = kind;
  ui.notice.hidden = false;
}

function clearNotice() {
  ui.notice.hidden = true;
  ui.noticeText.textContent = "";
  ui.tokenForm.hidden = true;
}

ui.noticeClose.addEventListener("click", clearNotice);

/** The server wants an API token: ask for one right in the notice. */
function askForToken(text) {
  showNotice(text);
  ui.tokenForm.hidden = false;
  ui.tokenInput.focus();
}

ui.tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  store.saveToken(ui.tokenInput.value.trim());
  ui.tokenInput.value = "";
  clearNotice();
  if (!current) loadLanguages();
});

// --- languages

async function loadLanguages() {
  clearTimeout(languagesTimer);
  let list;
  try {
    const response = await fetch(LANGUAGES_URL, { cache: "no-store", headers: apiHeaders() });
    if (response.status === 401 || response.status === 403) {
      askForToken("This padbox server needs an API token. Enter it to continue (the pad remembers it).");
      ui.status.textContent = "token needed";
      return;
    }
    if (!response.ok) throw new Error(`the server answered ${response.status} ${response.statusText}`.trim());
    list = await response.json();
    if (!Array.isArray(list)) throw new Error("the server's language list is not a list");
  } catch (err) {
    const reason = err instanceof TypeError ? "no answer" : err.message;
    showNotice(`Cannot reach the padbox server at ${location.host} (${reason}). Retrying…`);
    ui.status.textContent = "offline";
    languagesTimer = setTimeout(loadLanguages, LANGUAGES_RETRY_MS);
    return;
  }
  languages = list.filter((l) => l && typeof l.id === "string" && l.id);
  ui.language.replaceChildren(
    ...languages.map((l) => {
      const option = document.createElement("option");
      option.value = l.id;
      option.textContent = l.version ? `${l.name || l.id} ${l.version}` : l.name || l.id;
      return option;
    }),
  );
  ui.language.disabled = languages.length === 0;
  if (languages.length === 0) {
    showNotice("The server offers no languages.");
    return;
  }
  clearNotice();
  ui.status.textContent = "ready";
  const remembered = store.loadLanguageId();
  const first =
    languages.find((l) => l.id === remembered) ?? languages.find((l) => l.id === "python") ?? languages[0];
  selectLanguage(first.id);
}

function selectLanguage(id) {
  const language = languages.find((l) => l.id === id);
  if (!language) return;
  flushSave();
  current = language;
  ui.language.value = id;
  ui.fileName.textContent = language.file || "";
  store.saveLanguageId(id);
  const stored = store.loadCode(id);
  const code = stored !== null && stored.trim() !== "" ? stored : language.template || "";
  editor.open(id, code, indentFor(language));
  loadSupport(language).then((support) => {
    if (current === language) editor.setLanguageSupport(support);
  });
}

ui.language.addEventListener("change", () => selectLanguage(ui.language.value));

// --- code kept per language

function scheduleSave() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(flushSave, SAVE_DELAY_MS);
}

function flushSave() {
  clearTimeout(saveTimer);
  if (current) store.saveCode(current.id, editor.getCode(), current.template || "");
}

addEventListener("pagehide", flushSave);

// --- runs

ui.tty.checked = store.loadTty();
ui.tty.addEventListener("change", () => store.saveTty(ui.tty.checked));

function terminalInput(data) {
  if (!session || !session.running) return;
  if (runTty) session.sendStdin(data); // the pseudo-terminal echoes and edits
  else lineEditor.feed(data);
}

/** Program output for xterm: pipes carry bare \n, which a terminal needs as \r\n; stderr gets its own colour. */
function forTerminal(stream, stage, data) {
  let text = data;
  // A compiler's output may come through a pipe even in a tty run; converting a lone \n is harmless either way.
  if (!runTty || stage === Stage.COMPILE) text = text.replace(/(?<!\r)\n/g, "\r\n");
  if (stream === ServerType.STDERR) {
    // Re-apply the colour after any reset the program wrote itself.
    text = `\x1b[31m${text.replace(/\x1b\[0?m/g, "$&\x1b[31m")}\x1b[39m`;
  }
  return text;
}

function setBusy(busy) {
  ui.stop.disabled = !busy;
  document.body.dataset.running = busy ? "true" : "false";
}

function showStatus(text, phase) {
  ui.status.textContent = text;
  ui.status.dataset.phase = phase;
}

function showVerdict(verdict) {
  ui.verdict.textContent = verdict || "";
  ui.verdict.dataset.verdict = verdict || "";
  ui.verdict.title = VERDICT_HINTS[verdict] || "";
}

function showDetails(parts) {
  ui.details.replaceChildren(
    ...parts.map(({ key, text }) => {
      const span = document.createElement("span");
      span.dataset.testid = key;
      span.className = `detail detail-${key}`;
      span.textContent = text;
      return span;
    }),
  );
}

const ERROR_PREFIX = {
  [ErrorCode.BAD_REQUEST]: "The server refused the run",
  [ErrorCode.UNKNOWN_LANGUAGE]: "The server does not know this language",
  [ErrorCode.LIMIT_EXCEEDED]: "The run asks for more than the server allows",
  [ErrorCode.BUSY]: "The server is busy",
  [ErrorCode.INTERNAL]: "The server failed",
};

function run() {
  if (!current) {
    showNotice("The language list has not loaded yet, so there is nothing to run. Retrying…");
    loadLanguages();
    return;
  }
  if (session && session.active) session.abandon();
  flushSave();
  clearNotice();
  showVerdict("");
  showDetails([]);
  runTty = ui.tty.checked;
  lineEditor.reset();
  terminal.reset();
  terminal.showCursor(true);
  terminal.fit();
  const { cols, rows } = terminal.size();
  const language = current;
  let compileMs = null;
  let version = language.version || "";

  const thisRun = new RunSession({
    url: wsUrl(),
    request: runMessage({
      language: language.id,
      fileName: language.file || "main",
      content: editor.getCode(),
      tty: runTty,
      cols,
      rows,
    }),
    createSocket: openSocket,
    handlers: {
      phase(phase, info) {
        if (info.version) version = info.version;
        const label = phaseLabel(phase, info);
        showStatus(phase === Phase.STARTING ? `starting ${language.name || language.id} ${version}…` : label, phase);
      },
      output(stream, stage, data) {
        terminal.write(forTerminal(stream, stage, data));
      },
      exit(message) {
        if (message.stage === Stage.COMPILE && message.verdict === Verdict.OK) {
          compileMs = message.wall_ms;
          return;
        }
        const parts = exitDetails(message);
        if (compileMs !== null) parts.push({ key: "compile", text: `compile ${formatDuration(compileMs)}` });
        showVerdict(message.verdict);
        showDetails(parts);
        showStatus(message.stage === Stage.COMPILE ? "compile failed" : "finished", "finished");
      },
      error(message) {
        const prefix = ERROR_PREFIX[message.code] || "The server reported an error";
        let text = message.message ? `${prefix}: ${message.message}` : prefix;
        if (Number.isInteger(message.retry_after_s)) text += ` (try again in ${message.retry_after_s} s)`;
        if (isTokenRefusal(message.message)) askForToken(text);
        else showNotice(text);
        showStatus("error", "error");
        terminal.ensureNewLine();
        terminal.write(`\x1b[31m${prefix}.\x1b[39m\r\n`);
      },
      end({ reason, detail }) {
        setBusy(false);
        terminal.showCursor(false); // nothing reads what is typed now
        if (reason === EndReason.UNREACHABLE) {
          showNotice(`Cannot reach the padbox server at ${location.host}: is it running? Press Run to try again.`);
          showStatus("not connected", "error");
        } else if (reason === EndReason.DROPPED) {
          showNotice(`The connection to the server dropped before the run finished: ${detail}. Press Run to try again.`);
          showStatus("disconnected", "error");
          terminal.ensureNewLine();
          terminal.write("\x1b[31m[connection lost]\x1b[39m\r\n");
        } else if (reason === EndReason.CANCELLED) {
          showStatus("cancelled", "finished");
        }
      },
    },
  });
  session = thisRun;
  setBusy(true);
  thisRun.start();
  terminal.focus();
}

function stop() {
  if (!session || !session.active) return;
  if (session.started) showStatus("stopping…", "stopping");
  session.stop();
}

ui.run.addEventListener("click", run);
ui.stop.addEventListener("click", stop);

// Ctrl/Cmd+Enter runs from anywhere, the editor and the terminal included: caught before either sees it.
addEventListener(
  "keydown",
  (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey) {
      event.preventDefault();
      event.stopPropagation();
      run();
    }
  },
  true,
);

addEventListener("resize", () => terminal.fit());

// For people poking at the pad from the console, and for the browser tests.
window.padbox = {
  terminalText: () => terminal.text(),
  terminalSize: () => terminal.size(),
  getCode: () => editor.getCode(),
  setCode: (code) => editor.setCode(code),
  language: () => current?.id ?? null,
  running: () => Boolean(session && session.running),
};

if (/Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent)) $("run-hint").textContent = "⌘+Enter runs";
adoptTokenFromAddress();
setBusy(false);
terminal.showCursor(false);
terminal.write("\x1b[2mPress Run (Ctrl+Enter) to run the program. Its output appears here; type here to give it input.\x1b[22m\r\n");
loadLanguages();
