// The code editor: CodeMirror 6 with line numbers, bracket matching, Tab indenting and per-language highlighting.
// Each language keeps its own editor state while the page lives, so switching back keeps undo history too.
// A shared run's code is shown read-only beside those states, never in place of them. On a pad, the editor shows
// one of the pad's Y.Texts instead (`openShared`): y-codemirror.next keeps it and everyone's cursors in step, and
// language help (pad-lsp.js) lives in a compartment of its own, changed without touching the document.

import { closeBrackets, closeBracketsKeymap, closeCompletion } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  bracketMatching,
  defaultHighlightStyle,
  foldGutter,
  foldKeymap,
  indentOnInput,
  indentUnit,
  syntaxHighlighting,
} from "@codemirror/language";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { Compartment, EditorState } from "@codemirror/state";
import { oneDark } from "@codemirror/theme-one-dark";
import {
  drawSelection,
  dropCursor,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
} from "@codemirror/view";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";
import * as Y from "yjs";

const layout = EditorView.theme({
  "&": { height: "100%", fontSize: "14px" },
  ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "1.5" },
  "&.cm-focused": { outline: "none" },
});

const light = [
  EditorView.theme({
    "&": { backgroundColor: "var(--panel)", color: "var(--fg)" },
    ".cm-gutters": { backgroundColor: "var(--panel)", color: "var(--muted)", borderRight: "1px solid var(--border)" },
    ".cm-activeLine": { backgroundColor: "var(--active-line)" },
    ".cm-activeLineGutter": { backgroundColor: "var(--active-line)" },
    ".cm-content": { caretColor: "var(--fg)" },
  }),
  syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
];

const dark = oneDark;

/**
 * Make the editor inside `parent`.
 * @param {HTMLElement} parent
 * @param {{dark: boolean, onChange: (code: string) => void, onInsert?: (chars: number) => void}} options
 *   `onInsert`: on a pad, the characters one local input (typing, a paste, a drop) inserted
 */
/** The characters each local input transaction of `update` inserted (remote edits carry no user event). */
function reportInserts(update, onInsert) {
  for (const tr of update.transactions) {
    if (!tr.docChanged || !tr.isUserEvent("input")) continue;
    let chars = 0;
    tr.changes.iterChanges((fromA, toA, fromB, toB, inserted) => {
      chars += inserted.length;
    });
    if (chars) onInsert(chars);
  }
}

export function createEditor(parent, { dark: startDark, onChange, onInsert = null }) {
  const theme = new Compartment();
  const language = new Compartment();
  const indent = new Compartment();
  const help = new Compartment();
  const states = new Map(); // language id -> EditorState while another language is shown
  let isDark = startDark;
  let currentId = null;

  const undoManagers = new WeakMap(); // Y.Text -> its Y.UndoManager, so undo survives switching tabs

  // `collab`: {ytext, awareness} of a pad; its undo is Yjs's (only one's own edits), not CodeMirror's history.
  const extensions = (indentText, { readOnly = false, collab = null, helpExtension = [] } = {}) => [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    collab ? [] : history(),
    foldGutter(),
    drawSelection(),
    dropCursor(),
    EditorState.allowMultipleSelections.of(true),
    indentOnInput(),
    bracketMatching(),
    closeBrackets(),
    rectangularSelection(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    keymap.of([
      indentWithTab,
      ...closeBracketsKeymap,
      ...defaultKeymap,
      ...searchKeymap,
      ...(collab ? yUndoManagerKeymap : historyKeymap),
      ...foldKeymap,
    ]),
    collab ? yCollab(collab.ytext, collab.awareness, { undoManager: readOnly ? false : undoFor(collab.ytext) }) : [],
    collab && onInsert && !readOnly ? EditorView.updateListener.of((update) => reportInserts(update, onInsert)) : [],
    indent.of([indentUnit.of(indentText), EditorState.tabSize.of(indentText === "\t" ? 4 : indentText.length)]),
    language.of([]),
    help.of(helpExtension),
    theme.of(isDark ? dark : light),
    layout,
    EditorView.contentAttributes.of({ "aria-label": "Code editor", "data-testid": "editor-content" }),
    readOnly
      ? [
          // Still selectable and searchable, so the code can be read and copied; typing changes nothing.
          EditorState.readOnly.of(true),
          EditorView.contentAttributes.of({ "aria-readonly": "true" }),
          EditorView.editorAttributes.of({ class: "cm-read-only" }),
          // On a pad, not even a caret: a viewer's page is for watching, and offers no place to type.
          collab ? EditorView.editable.of(false) : [],
        ]
      : collab
        ? []
        : EditorView.updateListener.of((update) => {
            if (update.docChanged) onChange(update.state.doc.toString());
          }),
  ];

  function undoFor(ytext) {
    let manager = undoManagers.get(ytext);
    if (!manager) {
      manager = new Y.UndoManager(ytext);
      undoManagers.set(ytext, manager);
    }
    return manager;
  }

  const view = new EditorView({ parent, state: EditorState.create({ doc: "", extensions: extensions("    ") }) });

  return {
    view,

    /** Show a language's document: the one kept from earlier in this page, else a new one holding `code`. */
    open(languageId, code, indentText) {
      if (currentId !== null) states.set(currentId, view.state);
      currentId = languageId;
      const kept = states.get(languageId);
      settleCompletion(view);
      view.setState(kept ?? EditorState.create({ doc: code, extensions: extensions(indentText) }));
      // The colour scheme may have changed while this state was put away.
      view.dispatch({ effects: theme.reconfigure(isDark ? dark : light) });
      return kept === undefined;
    },

    /** Show `code` read-only (someone else's run), putting the shown language's document aside for `open`. */
    showReadOnly(code, indentText) {
      if (currentId !== null) states.set(currentId, view.state);
      currentId = null;
      settleCompletion(view);
      view.setState(EditorState.create({ doc: code, extensions: extensions(indentText, { readOnly: true }) }));
    },

    /**
     * Show a pad's file: `ytext` edited together with everyone on the pad, their cursors labelled from
     * `awareness`. Read-only for a viewer and on an ended pad (edits made anyway would be refused by the server).
     * `help`: the language-help extensions for this file (pad-lsp.js), or none.
     */
    openShared(ytext, awareness, { indentText = "    ", readOnly = false, help: helpExtension = [] } = {}) {
      if (currentId !== null) states.set(currentId, view.state);
      currentId = null;
      const collab = { ytext, awareness };
      settleCompletion(view);
      view.setState(
        EditorState.create({ doc: ytext.toString(), extensions: extensions(indentText, { readOnly, collab, helpExtension }) }),
      );
    },

    /** Replace the shown document's language-help extensions (the help's state or the person's role changed). */
    setHelp(helpExtension) {
      settleCompletion(view);
      view.dispatch({ effects: help.reconfigure(helpExtension) });
    },

    /** The id of the language whose own document is shown; null while a read-only document is. */
    shownLanguage() {
      return currentId;
    },

    /** Highlight the shown document with `support` (a CodeMirror language extension, or [] for plain text). */
    setLanguageSupport(support) {
      view.dispatch({ effects: language.reconfigure(support) });
    },

    setDark(value) {
      isDark = value;
      view.dispatch({ effects: theme.reconfigure(isDark ? dark : light) });
    },

    getCode() {
      return view.state.doc.toString();
    },

    setCode(code) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } });
    },

    focus() {
      view.focus();
    },
  };
}

/**
 * Close any completion before the extensions change under it. @codemirror/autocomplete's plugin (6.20) keeps the
 * timer of a completion about to start when it is destroyed, and the timer then reads a state without its field
 * ("Field is not present in this state"), as when a pad's language help goes from ready to restarting while someone
 * types. Closing first clears that timer through the plugin's own update.
 */
function settleCompletion(view) {
  closeCompletion(view);
}
