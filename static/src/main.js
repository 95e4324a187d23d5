// The web pad: wires the editor, the terminal, the language picker and the status line to runs over /ws.
// Besides the person's own runs it shows shared runs opened from a link (#join=… drives, #watch=… watches;
// share.js): the run's code read-only in place of theirs, its live terminal, and who else is on it.

import "@xterm/xterm/css/xterm.css";
import "./style.css";

import { adoptTokenFromAddress, apiHeaders, describeRefusal, openSocket, refusalCode } from "./access.js";
import { createEditor } from "./editor.js";
import { indentFor, loadSupport } from "./languages.js";
import { LineEditor } from "./line-editor.js";
import { ErrorCode, joinMessage, Role, runMessage, ServerType, Stage, Verdict } from "./protocol.js";
import { EndReason, Phase, RunSession } from "./session.js";
import { driverless, parseShareHash, presenceLabel, shareLinks } from "./share.js";
import { createSharePanel } from "./share-panel.js";
import { exitDetails, formatBytes, formatDuration, phaseLabel, VERDICT_HINTS } from "./status.js";
import * as store from "./store.js";
import { createTerminal } from "./terminal.js";

const $ = (id) => document.getElementById(id);
const ui = {
  language: $("language"),
  run: $("run"),
  stop: $("stop"),
  share: $("share"),
  presence: $("presence"),
  tty: $("tty"),
  fileName: $("file-name"),
  readOnly: $("read-only"),
  banner: $("share-banner"),
  bannerTitle: $("share-title"),
  bannerDetail: $("share-detail"),
  rejoin: $("rejoin"),
  leave: $("leave"),
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
const OWN_TITLE = document.title;
const IS_MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
const INTRO = "\x1b[2mPress Run (Ctrl+Enter) to run the program. Its output appears here; type here to give it input.\x1b[22m\r\n";

const wsUrl = () => (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";

const darkScheme = matchMedia("(prefers-color-scheme: dark)");

/** Where a shared run this page joined stands, as the banner tells it. */
const SharedState = Object.freeze({
  JOINING: "joining",
  LIVE: "live",
  ENDED: "ended",
  MISSING: "missing", // the link is damaged, or the server knows no live run by its id and key
  REFUSED: "refused", // the server would not let this page join (too many on the run, a token needed)
  DROPPED: "dropped",
});

let languages = []; // as the server listed them
let current = null; // the language of the person's own code
let session = null; // the latest run, own or joined, finished or not
let runTty = true; // the mode the latest run was started in
let shared = null; // the shared run shown instead of the person's own code: {id, key, role, state, ...}
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
const sharePanel = createSharePanel({
  button: ui.share,
  panel: $("share-panel"),
  copyKeys: IS_MAC ? "⌘C" : "Ctrl+C",
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
  if (shared && shared.state === SharedState.REFUSED) connectShared();
});

// --- languages

async function loadLanguages() {
  clearTimeout(languagesTimer);
  let list;
  try {
    const response = await fetch(LANGUAGES_URL, { cache: "no-store", headers: apiHeaders() });
    const refusal = describeRefusal(refusalCode(response.status, await bodyOf(response)), location.origin);
    if (refusal) {
      if (refusal.askToken) askForToken(refusal.text);
      else showNotice(refusal.text);
      if (!shared) ui.status.textContent = refusal.status;
      return;
    }
    if (!response.ok) throw new Error(`the server answered ${response.status} ${response.statusText}`.trim());
    list = await response.json();
    if (!Array.isArray(list)) throw new Error("the server's language list is not a list");
  } catch (err) {
    const reason = err instanceof TypeError ? "no answer" : err.message;
    // A shared run being joined reports an unreachable server itself.
    if (!shared) {
      showNotice(`Cannot reach the padbox server at ${location.host} (${reason}). Retrying…`);
      ui.status.textContent = "offline";
    }
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
  ui.language.disabled = languages.length === 0 || shared !== null;
  if (languages.length === 0) {
    showNotice("The server offers no languages.");
    return;
  }
  const remembered = store.loadLanguageId();
  const first =
    languages.find((l) => l.id === remembered) ?? languages.find((l) => l.id === "python") ?? languages[0];
  if (shared) {
    selectLanguage(first.id);
    if (shared.files) showSharedFile(shared.fileIndex); // now with the language's name and highlighting
    renderBanner();
    return;
  }
  clearNotice();
  ui.status.textContent = "ready";
  selectLanguage(first.id);
}

/** A refusal's JSON body, or null when it has none. */
async function bodyOf(response) {
  if (response.ok) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function selectLanguage(id) {
  const language = languages.find((l) => l.id === id);
  if (!language) return;
  flushSave();
  current = language;
  store.saveLanguageId(id);
  if (shared) return; // the shared run's code stays until Leave, which opens this language
  openOwnCode();
}

/** The person's own code for the current language, editable. */
function openOwnCode() {
  const language = current;
  ui.language.value = language.id;
  ui.fileName.textContent = language.file || "";
  ui.readOnly.hidden = true;
  const stored = store.loadCode(language.id);
  const code = stored !== null && stored.trim() !== "" ? stored : language.template || "";
  editor.open(language.id, code, indentFor(language));
  loadSupport(language).then((support) => {
    if (current === language && editor.shownLanguage() === language.id) editor.setLanguageSupport(support);
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
  // Only the person's own document: a shared run's code, shown read-only, is never theirs to keep.
  if (current && editor.shownLanguage() === current.id) {
    store.saveCode(current.id, editor.getCode(), current.template || "");
  }
}

addEventListener("pagehide", flushSave);

// --- the status line and the terminal, for any run

ui.tty.checked = store.loadTty();
ui.tty.addEventListener("change", () => store.saveTty(ui.tty.checked));

function terminalInput(data) {
  if (!session || !session.canType) return; // a viewer's typing, or nothing running
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
  ui.stop.disabled = !busy || (session !== null && session.role === Role.VIEWER);
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
  [ErrorCode.UNAUTHORIZED]: "The server needs an API token",
  [ErrorCode.FORBIDDEN_ORIGIN]: "The server refused this page's origin",
  [ErrorCode.UNKNOWN_LANGUAGE]: "The server does not know this language",
  [ErrorCode.LIMIT_EXCEEDED]: "The run asks for more than the server allows",
  [ErrorCode.BUSY]: "The server is busy",
  [ErrorCode.INTERNAL]: "The server failed",
};

const NO_DRIVER = "No driver is left on this run: the server stops it in a few seconds unless a driver rejoins.";
const NO_SUCH_RUN =
  "This share link does not lead to a live run: the run has ended, or the link is wrong or cut short. " +
  "Ask for a new link.";

/**
 * What a session reports, drawn on the page. `what` names the program for the status line ({name, version});
 * the same drawing serves the person's own runs and the shared runs they join.
 */
function sessionHandlers(what) {
  let compileMs = null;
  return {
    phase(phase, info) {
      if (info.version) what.version = info.version;
      const text = phase === Phase.STARTING ? `starting ${[what.name, what.version].filter(Boolean).join(" ")}…` : null;
      showStatus(text || phaseLabel(phase, info), phase);
      refreshShare();
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
      refreshShare();
    },
    error(message) {
      if (shared && session.rejoining) {
        showNotice("This page fell behind the run's output and could not catch up: the run has ended.");
        showStatus("disconnected", "error");
        return;
      }
      if (shared && !session.started && message.code === ErrorCode.BAD_REQUEST) {
        shared.state = SharedState.MISSING;
        showNotice(NO_SUCH_RUN);
        showStatus("no such run", "error");
        terminal.write("\x1b[31mNo live run at this link.\x1b[39m\r\n");
        renderBanner();
        return;
      }
      const prefix = ERROR_PREFIX[message.code] || "The server reported an error";
      const refusal = describeRefusal(message.code, location.origin);
      let text = message.message ? `${prefix}: ${message.message}` : prefix;
      if (Number.isInteger(message.retry_after_s)) text += ` (try again in ${message.retry_after_s} s)`;
      if (refusal?.askToken) askForToken(refusal.text);
      else showNotice(refusal ? refusal.text : text);
      showStatus(refusal ? refusal.status : "error", "error");
      terminal.ensureNewLine();
      terminal.write(`\x1b[31m${prefix}.\x1b[39m\r\n`);
    },
    snapshot(message, { rejoin }) {
      compileMs = null;
      if (message.version) what.version = message.version;
      if (shared) {
        showSharedRun(message);
        what.name = sharedLanguage().name || message.language;
      }
      runTty = message.tty === true;
      showVerdict("");
      showDetails([]);
      lineEditor.reset();
      terminal.reset();
      terminal.showCursor(true);
      if (message.omitted_bytes > 0) {
        terminal.write(`\x1b[2m[${formatBytes(message.omitted_bytes)} of earlier output is no longer kept]\x1b[22m\r\n`);
      }
      if (rejoin) {
        showNotice("This page fell behind the run's output and caught up from the server: the terminal was redrawn.", "info");
      }
      setBusy(true);
      refreshShare();
    },
    presence(counts) {
      showPresence(counts);
    },
    refused(message) {
      showNotice(`The server refused input from this page: ${message.message}`);
    },
    end({ reason, detail }) {
      setBusy(false);
      terminal.showCursor(false); // nothing reads what is typed now
      showPresence(null);
      refreshShare();
      const again = shared ? "Press Rejoin to try again." : "Press Run to try again.";
      if (reason === EndReason.UNREACHABLE) {
        showNotice(`Cannot reach the padbox server at ${location.host}: is it running? ${again}`);
        showStatus("not connected", "error");
      } else if (reason === EndReason.DROPPED) {
        showNotice(`The connection to the server dropped before the run finished: ${detail}. ${again}`);
        showStatus("disconnected", "error");
        terminal.ensureNewLine();
        terminal.write("\x1b[31m[connection lost]\x1b[39m\r\n");
      } else if (reason === EndReason.CANCELLED) {
        showStatus("cancelled", "finished");
      }
      if (shared) {
        shared.state = sharedStateAfter(reason);
        renderBanner();
      }
    },
  };
}

// --- your own runs

function run() {
  if (shared) {
    showNotice("This page shows a shared run. Leave it to run your own code.", "info");
    return;
  }
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
  showPresence(null);
  runTty = ui.tty.checked;
  lineEditor.reset();
  terminal.reset();
  terminal.showCursor(true);
  terminal.fit();
  const { cols, rows } = terminal.size();
  const language = current;

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
    handlers: sessionHandlers({ name: language.name || language.id, version: language.version || "" }),
  });
  session = thisRun;
  setBusy(true);
  refreshShare();
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

// --- sharing the live run, and who is on it

/** The links to the live run this page shows, or null when there is none to share. */
function currentLinks() {
  const share = session ? session.share : null;
  if (!share) return null;
  const links = shareLinks(location.origin + location.pathname, share.id, share.key);
  // A viewer passes on what it was given.
  return session.role === Role.VIEWER ? { [Role.VIEWER]: links[Role.VIEWER] } : links;
}

function refreshShare() {
  const links = currentLinks();
  ui.share.disabled = links === null;
  sharePanel.update(links);
}

ui.share.addEventListener("click", () => {
  const links = currentLinks();
  if (links) sharePanel.toggle(links);
});

/** Who is on the run ({drivers, viewers}, you included), or null to hide it (the run ended). */
function showPresence(counts) {
  const warn = Boolean(counts && driverless(counts));
  ui.presence.hidden = counts === null;
  ui.presence.textContent = counts ? presenceLabel(counts) : "";
  ui.presence.dataset.warn = String(warn);
  if (warn && shared) showNotice(NO_DRIVER, "info");
  else if (!ui.notice.hidden && ui.noticeText.textContent === NO_DRIVER) clearNotice(); // a driver came back, or it ended
}

// --- shared runs opened from a link

/** How a joined run stands once its session ended for `reason`. */
function sharedStateAfter(reason) {
  if (shared.state === SharedState.MISSING) return SharedState.MISSING;
  if (reason === EndReason.UNREACHABLE || reason === EndReason.DROPPED) return SharedState.DROPPED;
  if (reason === EndReason.ERROR && !session.started) return SharedState.REFUSED;
  return SharedState.ENDED;
}

/** Show the shared run at `link` ({id, key, role}) in place of the person's own code, which stays stored. */
function joinShared(link) {
  enterShared(link);
  connectShared();
}

/** A share link too damaged to try: say so where the run would have been. */
function showDamagedLink(link) {
  enterShared({ id: "", key: "", role: Role.VIEWER });
  shared.state = SharedState.MISSING;
  renderBanner();
  showNotice(link.error);
  showStatus("no such run", "error");
  terminal.reset();
  terminal.write("\x1b[31mThis share link is damaged.\x1b[39m\r\n");
}

function enterShared(link) {
  flushSave();
  if (session && session.active) session.abandon();
  session = null;
  sharePanel.close();
  shared = { id: link.id, key: link.key, role: link.role, state: SharedState.JOINING, files: null, fileIndex: 0 };
  document.body.dataset.shared = link.role;
  ui.run.disabled = true;
  ui.language.disabled = true;
  ui.tty.disabled = true;
  ui.fileName.textContent = "";
  ui.readOnly.hidden = true; // until there is code to show
  editor.showReadOnly("", "    ");
  terminal.setInputEnabled(link.role === Role.DRIVER);
}

function connectShared() {
  shared.state = SharedState.JOINING;
  renderBanner();
  clearNotice();
  showVerdict("");
  showDetails([]);
  showPresence(null);
  terminal.reset();
  terminal.showCursor(false);
  terminal.write("\x1b[2mJoining the shared run…\x1b[22m\r\n");
  const thisRun = new RunSession({
    url: wsUrl(),
    request: joinMessage(shared.id, shared.key, shared.role),
    createSocket: openSocket,
    handlers: sessionHandlers({ name: "", version: "" }),
  });
  session = thisRun;
  setBusy(false); // Stop waits for the snapshot: before it there is nothing to stop
  refreshShare();
  thisRun.start();
  // xterm draws no cursor until its first focus; a viewer, too, should see where the program waits.
  terminal.focus();
}

/** The language a shared run is in: the server's entry when listed, else what the snapshot says. */
function sharedLanguage() {
  const id = shared.language;
  return languages.find((l) => l.id === id) ?? { id: id || "", name: id || "", file: shared.files?.[0]?.name };
}

function showSharedRun(snapshot) {
  shared.state = SharedState.LIVE;
  shared.language = typeof snapshot.language === "string" ? snapshot.language : "";
  shared.version = typeof snapshot.version === "string" ? snapshot.version : "";
  shared.files = (Array.isArray(snapshot.files) ? snapshot.files : []).filter(
    (f) => f && typeof f.name === "string" && typeof f.content === "string",
  );
  if (shared.fileIndex >= shared.files.length) shared.fileIndex = 0;
  showSharedFile(shared.fileIndex);
  ui.tty.checked = snapshot.tty === true;
  renderBanner();
}

/** One of the shared run's files, read-only; several files get a tab each. */
function showSharedFile(index) {
  shared.fileIndex = index;
  const files = shared.files;
  const file = files[index] ?? { name: "", content: "" };
  const language = sharedLanguage();
  if (languages.some((l) => l.id === language.id)) ui.language.value = language.id;
  editor.showReadOnly(file.content, indentFor(language));
  ui.readOnly.hidden = false;
  const showing = shared;
  loadSupport({ ...language, file: file.name }).then((support) => {
    if (shared === showing && shared.fileIndex === index && editor.shownLanguage() === null) {
      editor.setLanguageSupport(support);
    }
  });
  if (files.length <= 1) {
    ui.fileName.textContent = file.name;
    return;
  }
  ui.fileName.replaceChildren(
    ...files.map((f, i) => {
      const tab = document.createElement("button");
      tab.type = "button";
      tab.className = "file-tab";
      tab.textContent = f.name;
      tab.setAttribute("aria-pressed", String(i === index));
      tab.addEventListener("click", () => showSharedFile(i));
      return tab;
    }),
  );
}

function renderBanner() {
  ui.banner.hidden = shared === null;
  if (!shared) return;
  const driving = shared.role === Role.DRIVER;
  const language = [sharedLanguage().name, shared.version].filter(Boolean).join(" ");
  const [title, detail] = {
    [SharedState.JOINING]: ["Joining a shared run…", ""],
    [SharedState.LIVE]: driving
      ? ["Driving a shared run", `${language}: what you type in the terminal goes to the program; the code is read-only.`]
      : ["Watching a shared run", `${language}: you see its code and terminal live, and cannot type into it.`],
    [SharedState.ENDED]: ["The shared run has ended", "Its output stays here until you go back to your own code."],
    [SharedState.MISSING]: ["No live run at this link", "It has ended, or the link is wrong or cut short."],
    [SharedState.REFUSED]: ["Could not join the shared run", "The message above says why."],
    [SharedState.DROPPED]: ["Disconnected from the shared run", "The run may still be going: rejoin to see it again."],
  }[shared.state];
  ui.banner.dataset.state = shared.state;
  ui.banner.dataset.role = shared.role;
  ui.bannerTitle.textContent = title;
  ui.bannerDetail.textContent = detail;
  ui.rejoin.hidden = shared.state !== SharedState.DROPPED && shared.state !== SharedState.REFUSED;
  const live = shared.state === SharedState.JOINING || shared.state === SharedState.LIVE;
  ui.leave.textContent = live ? "Leave" : "Back to my code";
  ui.leave.title = live ? "Back to your own code; the run goes on for the others" : "Back to your own code";
  document.title = `${title} · ${OWN_TITLE}`;
}

/** Back to the person's own code, as they left it. */
function leaveShared() {
  if (!shared) return;
  if (session && session.active) session.abandon();
  session = null;
  shared = null;
  if (parseShareHash(location.hash)) history.replaceState(history.state, "", location.pathname + location.search);
  delete document.body.dataset.shared;
  document.title = OWN_TITLE;
  sharePanel.close();
  renderBanner();
  ui.run.disabled = false;
  ui.tty.disabled = false;
  ui.tty.checked = store.loadTty();
  ui.language.disabled = languages.length === 0;
  terminal.setInputEnabled(true);
  clearNotice();
  showVerdict("");
  showDetails([]);
  showPresence(null);
  setBusy(false);
  refreshShare();
  terminal.reset();
  terminal.showCursor(false);
  terminal.write(INTRO);
  if (current) {
    openOwnCode();
    showStatus("ready", "");
  } else {
    ui.readOnly.hidden = true;
    ui.fileName.textContent = "";
    editor.showReadOnly("", "    "); // nothing of the person's to show until the languages load
    showStatus("loading…", "");
  }
}

ui.leave.addEventListener("click", leaveShared);
ui.rejoin.addEventListener("click", () => {
  if (shared && shared.id && !(session && session.active)) connectShared();
});

/** Follow the address: a share link pasted into an open pad joins it; going back to no link leaves. */
function followAddress() {
  const link = parseShareHash(location.hash);
  const own = session && !session.joined ? session.share : null;
  if (link === null) {
    leaveShared();
  } else if (own && link.id === own.id) {
    // Joining would replace, and so interrupt, the very run it leads to.
    history.replaceState(history.state, "", location.pathname + location.search);
    showNotice("That link leads to your own run, shown here already: send it to someone, or open it in another window.", "info");
  } else if (link.error) {
    showDamagedLink(link);
  } else if (!shared || shared.id !== link.id || shared.key !== link.key || shared.role !== link.role) {
    joinShared(link);
  }
}

addEventListener("hashchange", followAddress);

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
  shared: () => (shared ? { role: shared.role, state: shared.state } : null),
};

if (IS_MAC) $("run-hint").textContent = "⌘+Enter runs";
adoptTokenFromAddress();
setBusy(false);
terminal.showCursor(false);
terminal.write(INTRO);
followAddress();
loadLanguages();
