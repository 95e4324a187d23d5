// The pad page's composition root, at /p/<id>#key=<key>: one shared Yjs document edited by everyone on the pad
// (y-websocket to /ws/pads/<id>, y-codemirror.next in the editor), the pad's runs shown live in every terminal
// (the events socket hands each page a key, the page joins the run on /ws), and the owner's tools. What each
// role may do is pad-roles.js; the document's layout is pad-doc.js; the pieces drawn are pad-tabs.js,
// pad-owner.js, playback-view.js and run-view.js; language help is pad-lsp.js, over its own socket.

import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";

import { adoptTokenFromAddress, describeRefusal, openSocket, openSocketWithQuery, refusalCode, socketCredentials } from "./access.js";
import { createEditor } from "./editor.js";
import { EmbedCommand, EmbedError, EmbedEvent, isEmbedPath, padPathOf } from "./embed-api.js";
import { startEmbed } from "./embed.js";
import { groupLanguages, optionLabel } from "./language-list.js";
import { indentFor, loadSupport } from "./languages.js";
import { fileOfUri, HelpState, mayAsk } from "./lsp-wire.js";
import { createNotices } from "./notices.js";
import { describeFailure, padCalls } from "./pad-api.js";
import * as padDoc from "./pad-doc.js";
import { describePadClose, PadAction, PadEvents, PadEventType } from "./pad-events.js";
import { eventsUrl, lspUrl, parsePadAddress, socketOrigin, yjsSocket } from "./pad-link.js";
import { createLanguageHelp } from "./pad-lsp.js";
import { createLanguageHelpView } from "./pad-lsp-view.js";
import { createPadOwner } from "./pad-owner.js";
import { createPinnedNotes } from "./pad-pinned-notes.js";
import { startRecording } from "./pad-recording.js";
import { createReportView } from "./pad-report.js";
import { awarenessUser, cleanName, colourFor, PALETTE, presenceList } from "./pad-people.js";
import { capabilities, roleHint, roleLabel } from "./pad-roles.js";
import { createQuestionPanel } from "./pad-question-panel.js";
import { PadRunState } from "./pad-run.js";
import { createPadTabs } from "./pad-tabs.js";
import { createPlaybackView } from "./playback-view.js";
import { joinMessage } from "./protocol.js";
import { createRunView } from "./run-view.js";
import { RunSession } from "./session.js";
import { createSharePanel } from "./share-panel.js";
import * as store from "./store.js";
import { createTerminal } from "./terminal.js";

const $ = (id) => document.getElementById(id);
const IS_MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
const PAGE = Object.freeze({ origin: location.origin, host: location.host });
const WS_ORIGIN = socketOrigin(location.protocol, location.host);
const TITLE_DELAY_MS = 400;
const darkScheme = matchMedia("(prefers-color-scheme: dark)");

// /embed/p/<id>: the same pad with minimal chrome, for another site's iframe (embed.css, docs/embed.md).
const EMBEDDED = isEmbedPath(location.pathname);

document.body.dataset.mode = "pad";
if (EMBEDDED) document.body.dataset.embed = "true";
for (const element of document.querySelectorAll(".pad-only")) element.hidden = false;
for (const element of document.querySelectorAll(".home-only")) element.hidden = true;

const pad = parsePadAddress(padPathOf(location.pathname), location.hash);
const calls = pad && !pad.error ? padCalls(pad.id, pad.key) : null;

let role = "view"; // until the server says
let ended = false;
let lost = false; // the server closed this page's sockets for good (a replaced key, a refusal)
let can = capabilities(role, { ended });
let person = { name: "", colour: PALETTE[0] };
let languages = [];
let doc = null;
let provider = null;
let currentFile = ""; // the file shown
let boundText = null; // its Y.Text, bound to the editor
let boundReadOnly = null;
let boundLanguage = "";
let session = null; // the /ws session on the pad's run shown, if any
let runState = null;
let owner = null;
let playbackView = null;
let titleTimer = 0;
let embeddedLanguage = ""; // the language the embedder was last told
let help = null; // language help (pad-lsp.js), once the document is there
const pressed = new Set(); // the runs this page's person started: their terminal takes this page's size

const editor = createEditor($("editor"), {
  dark: darkScheme.matches,
  onChange: () => {},
  onInsert: (chars) => recording?.inserted(chars),
});
let recording = null; // an editor's page reports pastes and focus (pad-recording.js)
let pinnedNotes = null; // the owner's pinned notes (pad-pinned-notes.js)
let reportView = null;
const terminal = createTerminal($("terminal"), {
  dark: darkScheme.matches,
  onData: (data) => runView.type(data),
  onResize: ({ cols, rows }) => session?.resize(cols, rows),
});
const notices = createNotices(
  {
    notice: $("notice"),
    text: $("notice-text"),
    close: $("notice-close"),
    tokenForm: $("token-form"),
    tokenInput: $("token-input"),
  },
  () => location.reload(),
);
const runView = createRunView({
  elements: {
    status: $("status"),
    verdict: $("verdict"),
    details: $("details"),
    presence: $("presence"),
    stop: $("stop"),
    share: $("share"),
  },
  terminal,
  notices,
  sharePanel: createSharePanel({ button: $("share"), panel: $("share-panel"), copyKeys: IS_MAC ? "⌘C" : "Ctrl+C" }),
  current: () => ({ session, run: runState }),
});
const tabs = createPadTabs({
  container: $("pad-tabs"),
  actions: {
    select: (name) => showFile(name),
    add: (name) => padDoc.addFile(doc, name),
    rename: (from, to) => padDoc.renameFile(doc, from, to),
    remove: (name) => padDoc.deleteFile(doc, name),
    entry: (name) => padDoc.setEntry(doc, name),
  },
  refuse: (text) => notices.show({ text, kind: "error" }),
});

const helpView = createLanguageHelpView({
  indicator: $("pad-help"),
  list: $("pad-diagnostics"),
  pick: (file, line, character) => {
    showFile(file);
    if (currentFile !== file) return;
    const text = editor.view.state.doc;
    const at = text.line(Math.min(Math.max(line, 1), text.lines));
    editor.view.dispatch({ selection: { anchor: at.from + Math.min(character, at.length) }, scrollIntoView: true });
    editor.focus();
  },
});

const questionPanel = calls
  ? createQuestionPanel({
      root: $("pad-question"),
      calls,
      getDoc: () => doc,
      getRole: () => role,
      canEdit: () => can.edit,
      runTests: () => events?.send({ type: PadAction.RUN_TESTS }) ?? false,
      notify: (text) => notices.show({ text, kind: "error" }),
      onLanguageStarter: (question) => {
        const language = padDoc.readPad(doc).language;
        const starter = question?.starters?.find((s) => s.language === language);
        if (!starter) return;
        doc.transact(() => {
          for (const name of [...padDoc.filesOf(doc).keys()]) padDoc.filesOf(doc).delete(name);
          padDoc.addFile(doc, starter.file, starter.content);
          padDoc.setEntry(doc, starter.file);
        });
      },
    })
  : null;

darkScheme.addEventListener("change", (event) => {
  editor.setDark(event.matches);
  terminal.setDark(event.matches);
  playbackView?.setDark(event.matches);
});

// --- the document

const languageEntry = (id) => languages.find((l) => l.id === id) ?? { id, name: id, file: "" };

/** Show file `name` (or the pad's entry, or its first file) in the editor, bound to its Y.Text. */
function showFile(name) {
  const state = padDoc.readPad(doc);
  const names = state.files.map((f) => f.name);
  const chosen = names.includes(name) ? name : names.includes(state.entry) ? state.entry : names[0];
  if (!chosen) {
    currentFile = "";
    boundText = null;
    editor.showReadOnly("", "    ");
    renderTabs();
    return;
  }
  const ytext = padDoc.filesOf(doc).get(chosen);
  const readOnly = !can.edit;
  const language = languageEntry(state.language);
  if (ytext !== boundText || readOnly !== boundReadOnly || state.language !== boundLanguage || chosen !== currentFile) {
    const keepFocus = editor.view.hasFocus;
    currentFile = chosen;
    boundText = ytext;
    boundReadOnly = readOnly;
    boundLanguage = state.language;
    editor.openShared(ytext, provider.awareness, { indentText: indentFor(language), readOnly, help: helpFor(chosen) });
    help?.shown(editor.view, chosen);
    loadSupport({ ...language, file: chosen }).then((support) => {
      if (boundText === ytext) editor.setLanguageSupport(support);
    });
    if (keepFocus) editor.focus();
  }
  renderTabs();
}

// --- language help

/** The editor's language-help extensions for file `name`: a viewer's (hover) wherever this page cannot type. */
function helpFor(name) {
  if (!help || !doc) return [];
  return help.extension(name, padDoc.readPad(doc).language, can.edit ? role : "view");
}

function languageName(id) {
  const entry = languageEntry(id || (doc ? padDoc.readPad(doc).language : ""));
  return entry.name || entry.id;
}

/** A URI as a path a person reads: `file:///usr/include/stdio.h` -> `/usr/include/stdio.h`. */
function describeUri(uri) {
  try {
    const url = new URL(uri);
    return url.protocol === "file:" ? decodeURIComponent(url.pathname) : uri;
  } catch {
    return String(uri);
  }
}

function renderDiagnostics() {
  if (help && doc) helpView.showDiagnostics(help.diagnostics(), padDoc.readPad(doc).files.map((f) => f.name));
}

function connectHelp() {
  const { protocols } = socketCredentials();
  help = createLanguageHelp({
    url: lspUrl(WS_ORIGIN, pad.id, pad.key, person.name),
    createSocket: (url) => (protocols.length ? new WebSocket(url, protocols) : openSocketWithQuery(url)),
    getText: (uri) => {
      const name = fileOfUri(uri);
      const text = name === null ? null : padDoc.filesOf(doc).get(name);
      return text ? text.toString() : null;
    },
    display: (uri) => {
      const name = fileOfUri(uri);
      if (name === null || !padDoc.filesOf(doc).has(name)) {
        // A system header or a library's source: the pad has no tab for it, so say where it is.
        notices.show({ text: `That is defined outside the pad's files, in ${describeUri(uri)}.`, kind: "info" });
        return null;
      }
      showFile(name);
      editor.focus();
      return currentFile === name ? editor.view : null;
    },
    onState: (state) => {
      helpView.showState(state, languageName(state.language));
      if (state.state === HelpState.OFF) owner?.helpState(false);
      else if (mayAsk(state.state)) owner?.helpState(true);
      // An editor already in the editor when help comes on starts the language server now.
      if (state.state === HelpState.IDLE && editor.view.hasFocus && can.edit) help?.warmUp(editor.view);
    },
    onDiagnostics: renderDiagnostics,
    onReconfigure: () => {
      editor.setHelp(helpFor(currentFile));
      help.shown(editor.view, currentFile);
    },
  });
  help.start();
}

// Someone who may type comes to the editor: their language server starts now, so it is ready when they type.
$("editor").addEventListener("focusin", () => {
  if (can.edit) help?.warmUp(editor.view);
});

function renderTabs() {
  const state = padDoc.readPad(doc);
  tabs.render({
    files: state.files.map((f) => f.name),
    entry: state.entry,
    current: currentFile,
    editable: can.edit,
  });
}

function metaChanged() {
  const state = padDoc.readPad(doc);
  const title = state.title || "Untitled pad";
  if (document.activeElement !== $("pad-title")) $("pad-title").value = title;
  document.title = `${title} · padbox`;
  if (languages.some((l) => l.id === state.language)) $("language").value = state.language;
  if (embed && state.language !== embeddedLanguage) {
    embeddedLanguage = state.language;
    embed.emit(EmbedEvent.LANGUAGE_CHANGED, { language: state.language });
  }
  showFile(currentFile);
}

function filesChanged(events) {
  // The map's own event (not a file's text) says which names came and went: a rename is followed.
  const own = events.find((event) => event.target === padDoc.filesOf(doc));
  if (own) currentFile = padDoc.followRename(currentFile, own.changes.keys);
  showFile(currentFile);
}

$("pad-title").addEventListener("input", () => {
  clearTimeout(titleTimer);
  titleTimer = setTimeout(() => can.edit && padDoc.setTitle(doc, $("pad-title").value), TITLE_DELAY_MS);
});
$("pad-title").addEventListener("change", () => can.edit && padDoc.setTitle(doc, $("pad-title").value));
$("pad-title").addEventListener("keydown", (event) => {
  if (event.key === "Enter") editor.focus();
});

$("language").addEventListener("change", () => {
  if (!can.edit || !doc) return;
  const from = languageEntry(padDoc.readPad(doc).language);
  const to = languageEntry($("language").value);
  padDoc.switchLanguage(doc, from, to);
});

// --- who may do what

function applyCapabilities() {
  can = capabilities(role, { ended: ended || lost });
  document.body.dataset.padRole = role;
  document.body.dataset.padEnded = String(ended);
  $("pad-role").textContent = ended ? `${roleLabel(role)} · ended` : roleLabel(role);
  $("pad-role").title = roleHint(role, { ended });
  $("pad-title").readOnly = !can.edit;
  $("language").disabled = !can.edit || languages.length === 0;
  $("run").disabled = !can.run;
  $("run").title = can.run ? "Run the pad for everyone (Ctrl+Enter)" : roleHint(role, { ended });
  $("read-only").hidden = can.edit;
  $("read-only").textContent = ended ? "ended: read-only" : "read-only";
  terminal.setInputEnabled(can.drive && !ended);
  runView.setBusy(Boolean(session && session.running));
  if (can.notes && !EMBEDDED) {
    owner ??= createOwner();
    owner.show({ ended });
  }
  if (doc) showFile(currentFile);
}

function createOwner() {
  const view = createPlaybackView({
    elements: {
      slider: $("playback-slider"),
      markers: $("playback-markers"),
      label: $("playback-label"),
      file: $("playback-file"),
      refresh: $("playback-refresh"),
      editor: $("playback-editor"),
      output: $("playback-output"),
      moments: $("playback-moments"),
      terminal: $("playback-terminal"),
      typed: $("playback-typed"),
      previous: $("playback-previous"),
      play: $("playback-play"),
      next: $("playback-next"),
      speed: $("playback-speed"),
      clock: $("playback-clock"),
    },
    loadHistory: calls.history,
    loadTestRuns: calls.testRuns,
    dark: darkScheme.matches,
  });
  playbackView = view;
  reportView = createReportView({
    elements: { body: $("pad-report-body"), refresh: $("pad-report-refresh"), print: $("pad-report-print") },
    loadReport: calls.report,
  });
  pinnedNotes = createPinnedNotes({
    elements: { form: $("pad-pin-form"), input: $("pad-pin-text"), list: $("pad-pinned") },
    send: (action) => events?.send(action) ?? false,
    notices,
  });
  return createPadOwner({
    elements: {
      linksButton: $("pad-links-button"),
      links: $("pad-links"),
      notesButton: $("pad-notes-button"),
      notes: $("pad-notes"),
      notesText: $("pad-notes-text"),
      notesState: $("pad-notes-state"),
      exportButton: $("pad-export"),
      end: $("pad-end"),
      playbackButton: $("pad-playback-button"),
      playback: $("pad-playback"),
      reportButton: $("pad-report-button"),
      report: $("pad-report"),
      helpSwitch: $("pad-help-switch"),
      helpEnabled: $("pad-help-enabled"),
    },
    calls,
    pad,
    notices,
    onPlayback: (open) => {
      if (open) view.load();
    },
    onReport: () => reportView.load(),
    name: () => person.name,
  });
}

// --- presence

function renderPeople() {
  const people = presenceList(provider.awareness.getStates(), doc.clientID);
  $("pad-people").replaceChildren(
    ...people.map((p) => {
      const item = document.createElement("li");
      item.dataset.testid = "pad-person";
      item.dataset.role = p.role;
      item.style.setProperty("--person", p.colour);
      item.textContent = p.self ? `${p.name} (you)` : p.name;
      item.title = `${p.name}: ${roleLabel(p.role)}`;
      return item;
    }),
  );
}

// --- runs

function handlersFor(run) {
  return {
    phase(phase, info) {
      runView.show(run.phase(phase, info));
    },
    output(stream, stage, data) {
      runView.output(stream, stage, data);
    },
    exit(message) {
      runView.show(run.exit(message));
    },
    error(message) {
      runView.show(run.error(message, session));
    },
    snapshot(message, options) {
      runView.show(run.snapshot(message, options));
      runView.setBusy(true);
      sendSize();
    },
    presence(counts) {
      runView.show({ presence: counts });
    },
    refused(message) {
      runView.show(run.refused(message));
    },
    end(info) {
      runView.setBusy(false);
      terminal.showCursor(false);
      runView.show(run.end(info, session));
    },
  };
}

/** Show the pad's run `run` ({run_id, key, by}) in the terminal: join it on /ws in this page's run role. */
function joinRun(run) {
  if (session && session.runId === run.run_id && session.active) return;
  if (session && session.active) session.abandon();
  runState = new PadRunState(run, {
    page: PAGE,
    role: can.runRole,
    language: () => {
      const language = languageEntry(padDoc.readPad(doc).language);
      return language.name || language.id;
    },
  });
  const state = runState;
  runView.show(state.connect());
  session = new RunSession({
    url: `${WS_ORIGIN}/ws`,
    request: joinMessage(run.run_id, run.key, can.runRole),
    createSocket: openSocket,
    handlers: handlersFor(state),
  });
  runView.setBusy(false);
  session.start();
  // xterm draws no cursor until its first focus; only a page that may answer takes the keyboard there.
  if (can.drive && document.activeElement === document.body) terminal.focus();
}

/** The run's terminal takes the size of the page that pressed Run (once it has joined), not everyone's. */
function sendSize() {
  if (!session || !pressed.has(session.runId)) return;
  session.sendsSize = true;
  terminal.fit();
  const { cols, rows } = terminal.size();
  session.resize(cols, rows);
}

/** Run the pad for everyone; null when started, else why not (the embed API passes it on). */
async function runPad() {
  if (!can.run) return { code: EmbedError.FORBIDDEN, message: roleHint(role, { ended }) };
  runView.showStatus("starting…", "starting");
  const answer = await calls.run({ name: person.name });
  if (!answer.ok) {
    runView.showStatus("not started", "error");
    notices.show({ text: `The pad did not run: ${describeFailure(answer)}` });
    return { code: EmbedError.REFUSED, message: describeFailure(answer) };
  }
  // The events socket announces the run to every page, this one included: it joins from there.
  pressed.add(answer.body.run_id);
  if (session && session.started) sendSize();
  terminal.focus();
  return null;
}

/** Stop the pad's run; null when stopping, else why not. */
function stopRun() {
  if (!can.drive) return { code: EmbedError.FORBIDDEN, message: roleHint(role, { ended }) };
  if (!session || !session.active) return { code: EmbedError.NOT_RUNNING, message: "no run is going" };
  runView.show(runState.stop(session.started));
  session.stop();
  return null;
}

/** Switch the pad's language (its files follow, as with the picker); null when done, else why not. */
function setLanguage(id) {
  if (!can.edit || !doc) return { code: EmbedError.FORBIDDEN, message: roleHint(role, { ended }) };
  if (!languages.some((l) => l.id === id)) {
    return { code: EmbedError.UNKNOWN_LANGUAGE, message: `no language has the id ${JSON.stringify(id.slice(0, 40))}` };
  }
  padDoc.switchLanguage(doc, languageEntry(padDoc.readPad(doc).language), languageEntry(id));
  return null;
}

$("run").addEventListener("click", runPad);
$("stop").addEventListener("click", stopRun);

const embed = EMBEDDED
  ? startEmbed({
      commands: {
        [EmbedCommand.RUN]: () => runPad(),
        [EmbedCommand.STOP]: () => stopRun(),
        [EmbedCommand.SET_LANGUAGE]: (command) => setLanguage(command.language),
      },
    })
  : null;

addEventListener(
  "keydown",
  (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey) {
      event.preventDefault();
      event.stopPropagation();
      runPad();
    }
  },
  true,
);
addEventListener("resize", () => terminal.fit());

// --- connecting

function showSync(state, text) {
  $("pad-sync").dataset.state = state;
  $("pad-sync").textContent = text;
}

function stopped(text) {
  notices.show({ text, kind: "error" });
  showSync("closed", "disconnected");
  runView.showStatus("disconnected", "error");
  provider?.disconnect();
  events?.stop();
  help?.stop();
  // Nothing typed now would reach anyone: say so by making the editor read-only.
  lost = true;
  applyCapabilities();
}

let events = null;

function connectEvents() {
  const { protocols } = socketCredentials();
  events = new PadEvents({
    url: eventsUrl(WS_ORIGIN, pad.id, pad.key, person.name),
    createSocket: (url) => (protocols.length ? new WebSocket(url, protocols) : openSocketWithQuery(url)),
    handlers: {
      pad(message) {
        role = message.role;
        ended = Boolean(message.ended);
        applyCapabilities();
        // The candidate's page (an edit link) reports pastes and focus, and says so once.
        if (role === "edit" && !recording && !ended) {
          recording = startRecording({
            send: (action) => events?.send(action) ?? false,
            threshold: Number(message.paste_chars) || 0,
            padId: pad.id,
            notices,
          });
        }
        questionPanel?.refresh();
        if (message.run) joinRun(message.run);
        if (embed && !embeddedLanguage) embeddedLanguage = message.language; // `ready` tells it
        embed?.ready({ role, language: message.language, ended, can_run: can.run });
      },
      run(message) {
        joinRun(message);
        embed?.emit(EmbedEvent.RUN_STARTED, { run_id: message.run_id, by: message.by });
      },
      runFinished(message) {
        const { run_id, verdict = null, exit_code = null } = message;
        embed?.emit(EmbedEvent.RUN_FINISHED, { run_id, verdict, exit_code });
      },
      ended() {
        embed?.emit(EmbedEvent.PAD_ENDED, {});
        ended = true;
        recording?.stop(); // nothing more is recorded once the pad has ended
        recording = null;
        applyCapabilities();
        notices.show({ text: "The owner ended this pad: it is read-only now.", kind: "info" });
      },
      refused(message) {
        notices.show({ text: message.message ?? "The server refused that.", kind: "error" });
      },
      closed(close) {
        if (close.final) stopped(close.text);
      },
      other(message) {
        if (message.type === PadEventType.MARK) {
          pinnedNotes?.recorded(message.mark);
          return;
        }
        questionPanel?.event(message);
        if (message.type === "test_run_finished") {
          const { run_id, passed, total, summary } = message;
          embed?.emit(EmbedEvent.TESTS_FINISHED, { run_id, passed, total, summary });
        }
      },
    },
  });
  events.start();
}

function connectDocument() {
  doc = new Y.Doc();
  const { serverUrl, room, params } = yjsSocket(WS_ORIGIN, pad.id, pad.key, person.name);
  const credentials = socketCredentials();
  provider = new WebsocketProvider(serverUrl, room, doc, {
    params: { ...params, ...credentials.params },
    protocols: credentials.protocols,
    // Everything goes through the server, which enforces the roles: no tab-to-tab shortcut.
    disableBc: true,
  });
  provider.awareness.setLocalStateField("user", awarenessUser({ ...person, role }));
  provider.awareness.on("change", renderPeople);
  provider.on("status", ({ status }) => {
    if (status === "connected") showSync("connected", provider.synced ? "live" : "syncing…");
    else if (status === "connecting") showSync("connecting", "connecting…");
    else showSync("disconnected", "reconnecting…");
  });
  provider.on("sync", (synced) => {
    if (synced) showSync("connected", "live");
    showFile(currentFile);
  });
  provider.on("closed", ({ code, reason }) => stopped(describePadClose(code, reason).text));
  padDoc.filesOf(doc).observeDeep(filesChanged);
  padDoc.filesOf(doc).observe(renderDiagnostics); // a file that came or went joins or leaves the list
  padDoc.metaOf(doc).observe(metaChanged);
  padDoc.metaOf(doc).observe(() => questionPanel?.languageChanged(padDoc.readPad(doc).language));
  questionPanel?.attachDoc(doc);
  renderPeople();
}

async function loadLanguages() {
  try {
    const response = await fetch("/api/v1/languages", { cache: "no-store" });
    const list = response.ok ? await response.json() : [];
    languages = Array.isArray(list) ? list.filter((l) => l && typeof l.id === "string") : [];
  } catch {
    languages = [];
  }
  $("language").replaceChildren(
    ...groupLanguages(languages).map(({ group, languages: members }) => {
      const optgroup = document.createElement("optgroup");
      optgroup.label = group;
      optgroup.append(
        ...members.map((l) => {
          const option = document.createElement("option");
          option.value = l.id;
          option.textContent = optionLabel(l);
          return option;
        }),
      );
      return optgroup;
    }),
  );
}

/** In an iframe nobody is asked: the name in the fragment (`#key=..&name=..`), else the remembered one, else Guest. */
function embedPerson() {
  const given = cleanName(new URLSearchParams(location.hash.replace(/^#/, "")).get("name") || "");
  const name = given || store.loadPadPerson().name || "Guest";
  return { name, colour: colourFor(name) };
}

/** The person's name and colour on pads: asked once, then remembered. */
function askName() {
  const stored = store.loadPadPerson();
  if (stored.name) return Promise.resolve({ name: stored.name, colour: stored.colour || colourFor(stored.name) });
  const dialog = $("pad-name-dialog");
  const input = $("pad-name-input");
  let colour = "";
  const swatches = PALETTE.map((value) => {
    const swatch = document.createElement("button");
    swatch.type = "button";
    swatch.className = "swatch";
    swatch.style.background = value;
    swatch.setAttribute("role", "radio");
    swatch.setAttribute("aria-label", value);
    swatch.addEventListener("click", () => {
      colour = value;
      for (const s of swatches) s.setAttribute("aria-checked", String(s === swatch));
    });
    return swatch;
  });
  $("pad-colours").replaceChildren(...swatches);
  return new Promise((resolve) => {
    $("pad-name-form").addEventListener("submit", (event) => {
      const name = cleanName(input.value);
      if (!name) {
        event.preventDefault();
        return;
      }
      const chosen = { name, colour: colour || colourFor(name) };
      store.savePadPerson(chosen);
      resolve(chosen);
    });
    dialog.addEventListener("cancel", (event) => event.preventDefault()); // a name is needed to join
    dialog.showModal();
    input.focus();
  });
}

async function start() {
  runView.setBusy(false);
  runView.reset({ cursor: false, intro: "The pad's runs appear here, for everyone on it." });
  if (IS_MAC) $("run-hint").textContent = "⌘+Enter runs";
  applyCapabilities();
  if (!pad || pad.error) {
    notices.show({ text: pad ? pad.error : "This is no pad's address." });
    runView.showStatus("no pad", "error");
    showSync("closed", "no pad");
    return;
  }
  adoptTokenFromAddress();
  runView.showStatus("opening the pad…", "connecting");
  const [info] = await Promise.all([calls.info(), loadLanguages()]);
  if (!info.ok) {
    const refusal = describeRefusal(refusalCode(info.status, info.body), location.origin);
    if (refusal) notices.show({ text: refusal.text, askToken: refusal.askToken });
    else notices.show({ text: describeFailure(info) });
    runView.showStatus(info.status === 404 ? "no such pad" : "refused", "error");
    showSync("closed", "not connected");
    return;
  }
  role = info.body.role;
  ended = Boolean(info.body.ended);
  person = EMBEDDED ? embedPerson() : await askName();
  connectDocument();
  connectHelp();
  applyCapabilities();
  connectEvents();
  questionPanel?.load();
  runView.showStatus("ready", "");
}

// For people poking at the pad from the console, and for the browser tests.
window.padbox = {
  terminalText: () => terminal.text(),
  getCode: () => editor.getCode(),
  cursor: () => {
    const { state } = editor.view;
    const line = state.doc.lineAt(state.selection.main.head);
    return { line: line.number, column: state.selection.main.head - line.from };
  },
  running: () => Boolean(session && session.running),
  pad: () => ({
    role,
    ended,
    file: currentFile,
    files: doc ? padDoc.readPad(doc).files.map((f) => f.name) : [],
    language: doc ? padDoc.readPad(doc).language : "",
    synced: Boolean(provider && provider.synced),
    people: provider ? presenceList(provider.awareness.getStates(), doc.clientID).map((p) => p.name) : [],
    run: session ? { id: session.runId, role: session.role, canType: session.canType } : null,
  }),
  playback: () => playbackView?.state() ?? null,
  report: () => reportView?.state() ?? null,
  tests: () => questionPanel?.state() ?? null,
  languageHelp: () => (help ? { ...help.state(), diagnostics: Object.fromEntries(help.diagnostics()) } : null),
};

start();
