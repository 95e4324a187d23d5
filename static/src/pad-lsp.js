// Language help in the pad's editor, on @codemirror/lsp-client: the library does completion, hover cards and
// signature help, and jumps to definitions; this module gives it a transport (pad-lsp-connection.js), a workspace
// that opens another file's tab for a definition there, the extensions each role gets (a viewer: hover only), the
// diagnostics (the server's one set for everyone, kept per file, as underlines in the shown file and as a list),
// and document highlights (the library has none). The pad's server, not this page, feeds the language server.

import {
  hoverTooltips,
  jumpToDefinition,
  jumpToDefinitionKeymap,
  LSPClient,
  LSPPlugin,
  serverCompletion,
  signatureHelp,
  Workspace,
} from "@codemirror/lsp-client";
import { autocompletion } from "@codemirror/autocomplete";
import { setDiagnostics } from "@codemirror/lint";
import { StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView, keymap, ViewPlugin } from "@codemirror/view";
import DOMPurify from "dompurify";

import { fileUri, HelpState, mayAsk, severityName } from "./lsp-wire.js";
import { ANSWER_WITHIN_MS, PadLspConnection } from "./pad-lsp-connection.js";

// The connection gives a question its empty answer after ANSWER_WITHIN_MS; the library's own timeout (which
// would show an error) is only a backstop behind it.
const REQUEST_TIMEOUT_MS = ANSWER_WITHIN_MS + 5000;
const HIGHLIGHT_DELAY_MS = 250;

/** The files shown in the editor (one at a time), with the versions the library counts for them. */
class PadWorkspace extends Workspace {
  constructor(client, display) {
    super(client);
    this.files = [];
    this.versions = new Map();
    this.display = display;
  }

  nextVersion(uri) {
    const version = (this.versions.get(uri) ?? -1) + 1;
    this.versions.set(uri, version);
    return version;
  }

  syncFiles() {
    const updates = [];
    for (const file of this.files) {
      const plugin = LSPPlugin.get(file.view);
      if (!plugin || plugin.unsyncedChanges.empty) continue;
      updates.push({ changes: plugin.unsyncedChanges, file, prevDoc: file.doc });
      file.doc = file.view.state.doc;
      file.version = this.nextVersion(file.uri);
      plugin.clear();
    }
    return updates;
  }

  openFile(uri, languageId, view) {
    this.files = this.files.filter((f) => f.uri !== uri);
    const file = { uri, languageId, version: this.nextVersion(uri), doc: view.state.doc, view, getView: () => view };
    this.files.push(file);
    this.client.didOpen(file);
  }

  closeFile(uri, view) {
    const before = this.files.length;
    this.files = this.files.filter((f) => !(f.uri === uri && f.view === view));
    if (this.files.length !== before) this.client.didClose(uri);
  }

  /** A definition in another of the pad's files: its tab is opened, and the editor showing it returned. */
  displayFile(uri) {
    return Promise.resolve(this.display(uri));
  }
}

// --- document highlight: every use of the symbol at the cursor, marked while the cursor stays there

const setHighlights = StateEffect.define();
const highlightMark = Decoration.mark({ class: "cm-lsp-highlight" });
const highlightField = StateField.define({
  create: () => Decoration.none,
  update(marks, tr) {
    let next = marks.map(tr.changes);
    for (const effect of tr.effects) if (effect.is(setHighlights)) next = effect.value;
    return next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

function lspRange(doc, range) {
  const at = (p) => {
    if (!p || p.line < 0 || p.line >= doc.lines) return null;
    const line = doc.line(p.line + 1);
    return p.character < 0 || p.character > line.length ? null : line.from + p.character;
  };
  const from = at(range?.start);
  const to = at(range?.end);
  return from === null || to === null || to <= from ? null : { from, to };
}

const highlightPlugin = ViewPlugin.fromClass(
  class {
    constructor(view) {
      this.view = view;
      this.timer = 0;
      this.asked = 0;
      this.gone = false;
    }

    update(update) {
      if (!update.selectionSet && !update.docChanged) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.ask(), HIGHLIGHT_DELAY_MS);
    }

    ask() {
      const { view } = this;
      const plugin = LSPPlugin.get(view);
      const state = view.state;
      const head = state.selection.main.head;
      const asked = ++this.asked;
      const clear = () => {
        if (state.field(highlightField).size) view.dispatch({ effects: setHighlights.of(Decoration.none) });
      };
      if (!plugin || !state.selection.main.empty || !state.wordAt(head)) return clear();
      if (plugin.client.hasCapability("documentHighlightProvider") === false) return undefined;
      plugin.client
        .request("textDocument/documentHighlight", { textDocument: { uri: plugin.uri }, position: plugin.toPosition(head) })
        .then(
          (result) => {
            // An answer about a text that has changed since, or a cursor that moved, is dropped, never misplaced.
            if (this.gone || asked !== this.asked || view.state.doc !== state.doc) return;
            const ranges = (Array.isArray(result) ? result : [])
              .map((h) => lspRange(state.doc, h?.range))
              .filter(Boolean)
              .sort((a, b) => a.from - b.from || a.to - b.to);
            view.dispatch({ effects: setHighlights.of(Decoration.set(ranges.map((r) => highlightMark.range(r.from, r.to)))) });
          },
          () => {},
        );
      return undefined;
    }

    destroy() {
      this.gone = true;
      clearTimeout(this.timer);
    }
  },
);

const highlightTheme = EditorView.baseTheme({
  ".cm-lsp-highlight": { backgroundColor: "#ffd34d44", borderRadius: "2px" },
});

/** Ctrl+click (Cmd+click on a Mac) goes to the definition of what was clicked, as in most editors. */
const definitionClick = EditorView.domEventHandlers({
  mousedown(event, view) {
    if (event.button !== 0 || !(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return false;
    const pos = view.posAtCoords({ x: event.clientX, y: event.clientY });
    if (pos === null) return false;
    event.preventDefault();
    view.dispatch({ selection: { anchor: pos } });
    jumpToDefinition(view);
    return true;
  },
});

// What each role's editor carries besides the plugin for its file: made once, so changing the file or the state
// reconfigures nothing else.
//
// Completion is in every set, with help or without, for every role: @codemirror/autocomplete's plugin (6.20) leaves
// its timers and in-flight questions running when it is destroyed, and they then read a state that no longer has
// its field ("Field is not present in this state": seen when a pad's home died while someone typed and help went
// from ready to restarting). Kept in every set, the plugin lives on; with no language server's plugin in the editor
// its source answers nothing, and a read-only editor never asks.
const COMPLETION = [
  serverCompletion({ override: true }), // the language server's items only, not the highlighter's word list
  // Ask 50 ms after typing stops instead of CodeMirror's 100: the list filters itself as typing goes on (a new
  // question goes only at a word's start or a trigger character), so the shorter pause costs few requests.
  autocompletion({ activateOnTypingDelay: 50 }),
];
const VIEWER_EXTENSIONS = [COMPLETION, hoverTooltips()];
const EDITOR_EXTENSIONS = [
  COMPLETION,
  hoverTooltips(),
  signatureHelp(),
  keymap.of(jumpToDefinitionKeymap),
  definitionClick,
  highlightField,
  highlightPlugin,
  highlightTheme,
];

// --- diagnostics in the shown file

function toEditorDiagnostics(doc, diagnostics) {
  const at = (p) => {
    const lineNumber = Math.min(Math.max((Number(p?.line) || 0) + 1, 1), doc.lines);
    const line = doc.line(lineNumber);
    return line.from + Math.min(Math.max(Number(p?.character) || 0, 0), line.length);
  };
  return diagnostics.map((d) => {
    const from = at(d?.range?.start);
    return {
      from,
      to: Math.max(from, at(d?.range?.end)),
      severity: severityName(d.severity),
      message: String(d.message ?? ""),
      source: typeof d.source === "string" ? d.source : undefined,
    };
  });
}

/**
 * @param {object} options
 * @param {string} options.url  /ws/pads/<id>/lsp?key=..&name=..
 * @param {(url: string) => WebSocket} options.createSocket
 * @param {(uri: string) => string | null} options.getText  a file's text in this page now
 * @param {(uri: string) => EditorView | null} options.display  open the file a URI names; the editor, or null
 * @param {(help: object) => void} options.onState  the state changed ({state, language, message})
 * @param {(byUri: Map) => void} options.onDiagnostics  the diagnostics changed (every file's, by URI)
 * @param {() => void} options.onReconfigure  the extensions the editor needs changed: ask `extension` again
 */
export function createLanguageHelp({ url, createSocket, getText, display, onState, onDiagnostics, onReconfigure }) {
  const diagnostics = new Map(); // uri -> the diagnostics last published for it
  let shown = { view: null, uri: "" };
  let asking = false; // the state lets the page ask questions (so the editor carries the library's extensions)

  const client = new LSPClient({
    rootUri: "file:///work",
    timeout: REQUEST_TIMEOUT_MS,
    // Hover cards, completion details and signatures are Markdown rendered to HTML, and their text can come
    // from a docstring anyone on the pad wrote: it is sanitised before it reaches another person's page.
    sanitizeHTML: (html) => DOMPurify.sanitize(html),
    workspace: (c) => new PadWorkspace(c, display),
    notificationHandlers: {
      "textDocument/publishDiagnostics": (_client, params) => {
        if (params && typeof params.uri === "string" && Array.isArray(params.diagnostics)) {
          if (params.diagnostics.length) diagnostics.set(params.uri, params.diagnostics);
          else diagnostics.delete(params.uri);
          diagnosticsChanged(params.uri);
        }
        return true;
      },
    },
  });

  function diagnosticsChanged(uri) {
    if (uri === null || uri === shown.uri) applyDiagnostics();
    onDiagnostics(diagnostics);
  }

  function applyDiagnostics() {
    const { view, uri } = shown;
    if (!view) return;
    view.dispatch(setDiagnostics(view.state, toEditorDiagnostics(view.state.doc, diagnostics.get(uri) ?? [])));
  }

  const connection = new PadLspConnection({
    url,
    createSocket,
    getText,
    handlers: {
      state(help) {
        const now = mayAsk(help.state);
        if (help.state === HelpState.OFF || help.state === HelpState.UNSUPPORTED) {
          // The server clears these itself; a page that missed the message must not keep stale marks.
          diagnostics.clear();
          diagnosticsChanged(null);
        }
        if (now !== asking) {
          asking = now;
          onReconfigure();
        }
        onState(help);
      },
      open() {
        // A new socket is a new session: initialise again; the server sends the current diagnostics after.
        diagnostics.clear();
        diagnosticsChanged(null);
        client.disconnect();
        client.connect(connection);
        // A socket that drops before `initialize` is answered rejects this; the next socket initialises again,
        // and questions meanwhile are answered empty by the connection, so nothing waits on it.
        client.initializing.catch(() => {});
      },
    },
  });

  return {
    /** Open the socket; the client initialises over every socket it opens. */
    start() {
      connection.start();
    },

    stop() {
      connection.stop();
      client.disconnect();
    },

    state: () => connection.help,

    /**
     * The editor extensions for file `name` of language `languageId` for `role`: only the (then silent) completion
     * while the state asks nothing (off, unavailable, unsupported), hover for a viewer, everything for edit and
     * owner.
     */
    extension(name, languageId, role) {
      if (!asking || !name) return COMPLETION;
      const base = client.plugin(fileUri(name), languageId || undefined);
      return [base, role === "view" ? VIEWER_EXTENSIONS : EDITOR_EXTENSIONS];
    },

    /** The editor now shows file `name`: its diagnostics become underlines there. */
    shown(view, name) {
      shown = { view, uri: name ? fileUri(name) : "" };
      applyDiagnostics();
    },

    /**
     * Ask something small of the server, so that an editor's language server starts when the person shows
     * up to type rather than on their first completion (which then finds it ready).
     */
    warmUp(view) {
      const plugin = view && LSPPlugin.get(view);
      if (!plugin || connection.help.state !== HelpState.IDLE) return;
      plugin.client
        .request("textDocument/hover", { textDocument: { uri: plugin.uri }, position: plugin.toPosition(view.state.selection.main.head) })
        .catch(() => {});
    },

    diagnostics: () => diagnostics,
  };
}
