// The home page's composition root (main.js picks it for any address but a pad's): builds the editor, the terminal and the views, and wires runs over /ws to them.
// Besides the person's own runs it shows shared runs opened from a link (#join=… drives, #watch=… watches;
// share.js). What a run's events mean is run-state.js; what is drawn is run-view.js, joined-view.js, notices.js
// and own-code.js.

import { adoptTokenFromAddress, openSocket } from "./access.js";
import { createEditor } from "./editor.js";
import { createJoinedView } from "./joined-view.js";
import { createNotices } from "./notices.js";
import { createOwnCode } from "./own-code.js";
import { createPad, describeFailure } from "./pad-api.js";
import { keyOfLink } from "./pad-link.js";
import { joinMessage, Role, runMessage } from "./protocol.js";
import {
  AddressAction,
  addressAction,
  JoinedRun,
  NOT_LOADED,
  OWN_LINK,
  OwnRun,
  runBlocked,
  SHOWING_JOINED,
} from "./run-state.js";
import { createRunView } from "./run-view.js";
import { RunSession } from "./session.js";
import { parseShareHash } from "./share.js";
import { createSharePanel } from "./share-panel.js";
import * as store from "./store.js";
import { createTerminal } from "./terminal.js";

/** Build the home page: your own code, its runs, shared runs opened from a link, New pad. */
export function startHome() {
  const $ = (id) => document.getElementById(id);

  const IS_MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
  const INTRO = "Press Run (Ctrl+Enter) to run the program. Its output appears here; type here to give it input.";
  const PAGE = Object.freeze({ origin: location.origin, host: location.host });

  const wsUrl = () => (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
  const darkScheme = matchMedia("(prefers-color-scheme: dark)");

  let session = null; // the latest session, own or joined, finished or not
  let runState = null; // what that session's events mean: an OwnRun, or the JoinedRun below
  let joined = null; // the shared run shown instead of the person's own code, across its sessions

  const editor = createEditor($("editor"), { dark: darkScheme.matches, onChange: () => ownCode.scheduleSave() });
  const terminal = createTerminal($("terminal"), {
    dark: darkScheme.matches,
    onData: (data) => runView.type(data),
    onResize: ({ cols, rows }) => session?.resize(cols, rows),
  });
  const sharePanel = createSharePanel({
    button: $("share"),
    panel: $("share-panel"),
    copyKeys: IS_MAC ? "⌘C" : "Ctrl+C",
  });
  const notices = createNotices(
    {
      notice: $("notice"),
      text: $("notice-text"),
      close: $("notice-close"),
      tokenForm: $("token-form"),
      tokenInput: $("token-input"),
    },
    tokenSaved,
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
    sharePanel,
    current: () => ({ session, run: runState }),
  });
  const joinedView = createJoinedView({
    elements: {
      banner: $("share-banner"),
      title: $("share-title"),
      detail: $("share-detail"),
      rejoin: $("rejoin"),
      leave: $("leave"),
      fileName: $("file-name"),
      readOnly: $("read-only"),
      picker: $("language"),
      tty: $("tty"),
    },
    editor,
    terminal,
  });
  const ownCode = createOwnCode({
    elements: {
      picker: $("language"),
      search: $("language-search"),
      fileName: $("file-name"),
      readOnly: $("read-only"),
      run: $("run"),
      tty: $("tty"),
    },
    editor,
    notices,
    showStatus: runView.showStatus,
    onListed: () => {
      if (joined) joinedView.relabel(joined);
    },
  });

  darkScheme.addEventListener("change", (event) => {
    editor.setDark(event.matches);
    terminal.setDark(event.matches);
  });

  /** A session's handlers: `run` (run-state.js) makes sense of each event, the run view draws it, then `redraw`. */
  function handlersFor(run, redraw) {
    const show = (report) => {
      runView.show(report);
      redraw();
    };
    return {
      phase(phase, info) {
        show(run.phase(phase, info));
        runView.refreshShare();
      },
      output(stream, stage, data) {
        runView.output(stream, stage, data);
      },
      exit(message) {
        show(run.exit(message));
        runView.refreshShare();
      },
      error(message) {
        show(run.error(message, session));
      },
      snapshot(message, options) {
        show(run.snapshot(message, options));
        runView.setBusy(true);
        runView.refreshShare();
      },
      presence(counts) {
        show(run.presence(counts));
      },
      refused(message) {
        show(run.refused(message));
      },
      end(info) {
        runView.setBusy(false);
        terminal.showCursor(false); // nothing reads what is typed now
        show(run.end(info, session));
        runView.refreshShare();
      },
    };
  }

  /** Start `request` as the latest session, its events read by `run`. */
  function startSession(run, request, redraw) {
    if (session && session.active) session.abandon();
    runState = run;
    session = new RunSession({ url: wsUrl(), request, createSocket: openSocket, handlers: handlersFor(run, redraw) });
  }

  // --- your own runs

  function runOwn() {
    const blocked = runBlocked({ joined: joined !== null, ready: ownCode.current() !== null });
    if (blocked) {
      runView.show(blocked);
      if (blocked.reload) ownCode.load();
      return;
    }
    ownCode.flushSave();
    const language = ownCode.current();
    const name = language.name || language.id;
    const run = new OwnRun({ page: PAGE, name, version: language.version, tty: ownCode.tty() });
    runView.reset({ cursor: true });
    terminal.fit();
    const { cols, rows } = terminal.size();
    const request = runMessage({
      language: language.id,
      fileName: language.file || "main",
      content: editor.getCode(),
      tty: run.tty,
      cols,
      rows,
    });
    startSession(run, request, () => {});
    runView.setBusy(true);
    runView.refreshShare();
    session.start();
    terminal.focus();
  }

  function stop() {
    if (!session || !session.active) return;
    runView.show(runState.stop(session.started));
    session.stop();
  }

  $("run").addEventListener("click", runOwn);

  // --- a new pad, from the code shown

  /** Make a pad holding the current language and code, then go to it as its owner. */
  async function newPad() {
    const language = ownCode.current();
    if (!language || joined) {
      notices.show({ text: joined ? SHOWING_JOINED : NOT_LOADED, kind: "info" });
      return;
    }
    ownCode.flushSave();
    $("new-pad").disabled = true;
    const answer = await createPad({
      language: language.id,
      title: `${language.name || language.id} pad`,
      files: [{ name: language.file || "main", content: editor.getCode() }],
    });
    $("new-pad").disabled = false;
    if (!answer.ok) {
      notices.show({ text: `No pad was made: ${describeFailure(answer)}` });
      return;
    }
    // The owner's page shows all three links: only this browser ever sees the edit and view keys unasked.
    for (const [role, link] of Object.entries(answer.body.links)) {
      const key = keyOfLink(link);
      if (key) store.savePadKey(answer.body.id, role, key);
    }
    location.assign(answer.body.links.owner);
  }

  $("new-pad").addEventListener("click", newPad);
  $("stop").addEventListener("click", stop);

  // --- shared runs opened from a link

  /** Show `run` (a JoinedRun) in place of the person's own code, which stays stored. */
  function enterJoined(run) {
    ownCode.setAside(true);
    if (session && session.active) session.abandon();
    session = null;
    runState = null;
    sharePanel.close();
    joined = run;
    joinedView.enter(joined);
  }

  function connectJoined() {
    const run = joined;
    runView.show(run.connect());
    joinedView.render(run);
    startSession(run, joinMessage(run.id, run.key, run.role), () => joinedView.render(run));
    runView.setBusy(false); // Stop waits for the snapshot: before it there is nothing to stop
    runView.refreshShare();
    session.start();
    // xterm draws no cursor until its first focus; a viewer, too, should see where the program waits.
    terminal.focus();
  }

  /** A share link too damaged to try: say so where the run would have been. */
  function showDamagedLink(link) {
    enterJoined(new JoinedRun({ id: "", key: "", role: Role.VIEWER }, { page: PAGE, languages: ownCode.languages }));
    runView.show(joined.damaged(link.error));
    joinedView.render(joined);
  }

  /** Back to the person's own code, as they left it. */
  function leaveJoined() {
    if (!joined) return;
    if (session && session.active) session.abandon();
    session = null;
    runState = null;
    joined = null;
    if (parseShareHash(location.hash)) history.replaceState(history.state, "", location.pathname + location.search);
    sharePanel.close();
    joinedView.leave();
    runView.reset({ cursor: false, intro: INTRO });
    runView.setBusy(false);
    runView.refreshShare();
    ownCode.setAside(false);
  }

  /** A token was typed: load what it was missing for. */
  function tokenSaved() {
    if (!ownCode.current()) ownCode.load();
    if (joined && joined.retriesWithToken()) connectJoined();
  }

  $("leave").addEventListener("click", leaveJoined);
  $("rejoin").addEventListener("click", () => {
    if (joined && joined.mayRejoin(Boolean(session && session.active))) connectJoined();
  });

  /** Follow the address: a share link pasted into an open pad joins it; going back to no link leaves. */
  function followAddress() {
    const link = parseShareHash(location.hash);
    const ownShare = session && !session.joined ? session.share : null;
    switch (addressAction(link, { ownShare, joined })) {
      case AddressAction.LEAVE:
        leaveJoined();
        break;
      case AddressAction.OWN_RUN:
        history.replaceState(history.state, "", location.pathname + location.search);
        notices.show({ text: OWN_LINK, kind: "info" });
        break;
      case AddressAction.DAMAGED:
        showDamagedLink(link);
        break;
      case AddressAction.JOIN:
        enterJoined(new JoinedRun(link, { page: PAGE, languages: ownCode.languages }));
        connectJoined();
        break;
      default:
        break; // the run shown already
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
        runOwn();
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
    language: () => ownCode.current()?.id ?? null,
    running: () => Boolean(session && session.running),
    shared: () => (joined ? { role: joined.role, state: joined.state } : null),
  };

  if (IS_MAC) $("run-hint").textContent = "⌘+Enter runs";
  adoptTokenFromAddress();
  runView.setBusy(false);
  runView.reset({ cursor: false, intro: INTRO });
  followAddress();
  ownCode.load();
}
