// Which CodeMirror language support highlights which server language. Each support is a separate
// chunk loaded on first use, so the pad starts without parsers for languages nobody picked.

import { StreamLanguage } from "@codemirror/language";

const legacy = (load, name) => () => load().then((mode) => StreamLanguage.define(mode[name]));

const python = () => import("@codemirror/lang-python").then((m) => m.python());
const javascript = () => import("@codemirror/lang-javascript").then((m) => m.javascript());
const typescript = () => import("@codemirror/lang-javascript").then((m) => m.javascript({ typescript: true }));
const cpp = () => import("@codemirror/lang-cpp").then((m) => m.cpp());
const java = () => import("@codemirror/lang-java").then((m) => m.java());
const go = () => import("@codemirror/lang-go").then((m) => m.go());
const rust = () => import("@codemirror/lang-rust").then((m) => m.rust());
const php = () => import("@codemirror/lang-php").then((m) => m.php());
const shell = legacy(() => import("@codemirror/legacy-modes/mode/shell"), "shell");
const ruby = legacy(() => import("@codemirror/legacy-modes/mode/ruby"), "ruby");
const lua = legacy(() => import("@codemirror/legacy-modes/mode/lua"), "lua");
const perl = legacy(() => import("@codemirror/legacy-modes/mode/perl"), "perl");
const haskell = legacy(() => import("@codemirror/legacy-modes/mode/haskell"), "haskell");
const csharp = legacy(() => import("@codemirror/legacy-modes/mode/clike"), "csharp");
const kotlin = legacy(() => import("@codemirror/legacy-modes/mode/clike"), "kotlin");
const scala = legacy(() => import("@codemirror/legacy-modes/mode/clike"), "scala");
const dart = legacy(() => import("@codemirror/legacy-modes/mode/clike"), "dart");
const objectiveC = legacy(() => import("@codemirror/legacy-modes/mode/clike"), "objectiveC");
const swift = legacy(() => import("@codemirror/legacy-modes/mode/swift"), "swift");
const r = legacy(() => import("@codemirror/legacy-modes/mode/r"), "r");
const ocaml = legacy(() => import("@codemirror/legacy-modes/mode/mllike"), "oCaml");
const fsharp = legacy(() => import("@codemirror/legacy-modes/mode/mllike"), "fSharp");
const erlang = legacy(() => import("@codemirror/legacy-modes/mode/erlang"), "erlang");
const julia = legacy(() => import("@codemirror/legacy-modes/mode/julia"), "julia");
const crystal = legacy(() => import("@codemirror/legacy-modes/mode/crystal"), "crystal");
const clojure = legacy(() => import("@codemirror/legacy-modes/mode/clojure"), "clojure");
const commonLisp = legacy(() => import("@codemirror/legacy-modes/mode/commonlisp"), "commonLisp");
const scheme = legacy(() => import("@codemirror/legacy-modes/mode/scheme"), "scheme");
const pascal = legacy(() => import("@codemirror/legacy-modes/mode/pascal"), "pascal");
const fortran = legacy(() => import("@codemirror/legacy-modes/mode/fortran"), "fortran");
const d = legacy(() => import("@codemirror/legacy-modes/mode/d"), "d");
const groovy = legacy(() => import("@codemirror/legacy-modes/mode/groovy"), "groovy");
const octave = legacy(() => import("@codemirror/legacy-modes/mode/octave"), "octave");
const tcl = legacy(() => import("@codemirror/legacy-modes/mode/tcl"), "tcl");
const sql = legacy(() => import("@codemirror/legacy-modes/mode/sql"), "sqlite");
const powershell = legacy(() => import("@codemirror/legacy-modes/mode/powershell"), "powerShell");
const cobol = legacy(() => import("@codemirror/legacy-modes/mode/cobol"), "cobol");
const brainfuck = legacy(() => import("@codemirror/legacy-modes/mode/brainfuck"), "brainfuck");
const coffeescript = legacy(() => import("@codemirror/legacy-modes/mode/coffeescript"), "coffeeScript");
const elm = legacy(() => import("@codemirror/legacy-modes/mode/elm"), "elm");
const vb = legacy(() => import("@codemirror/legacy-modes/mode/vb"), "vb");

/** Language ids and aliases as servers commonly name them. */
const BY_NAME = {
  python, python3: python, py: python,
  javascript, js: javascript, node: javascript, nodejs: javascript,
  typescript, ts: typescript, deno: typescript,
  c: cpp, gcc: cpp, clang: cpp, cpp, "c++": cpp, cxx: cpp, "g++": cpp,
  java,
  go, golang: go,
  rust, rs: rust,
  php,
  bash: shell, sh: shell, shell, zsh: shell, dash: shell,
  ruby, rb: ruby,
  lua, luajit: lua,
  perl, pl: perl,
  haskell, hs: haskell, ghc: haskell,
  csharp, "c#": csharp, cs: csharp, mono: csharp, dotnet: csharp,
  kotlin, kt: kotlin,
  scala,
  dart,
  "objective-c": objectiveC, objc: objectiveC,
  swift,
  r, rscript: r,
  ocaml, ml: ocaml,
  fsharp, "f#": fsharp,
  erlang, erl: erlang,
  julia, jl: julia,
  crystal, cr: crystal,
  clojure, clj: clojure,
  lisp: commonLisp, commonlisp: commonLisp, sbcl: commonLisp,
  scheme, racket: scheme, guile: scheme,
  pascal, fpc: pascal, freepascal: pascal,
  fortran, gfortran: fortran,
  d, dlang: d,
  groovy,
  octave, matlab: octave,
  tcl,
  sql, sqlite: sql, sqlite3: sql,
  powershell, pwsh: powershell,
  cobol,
  brainfuck, bf: brainfuck,
  coffeescript, coffee: coffeescript,
  elm,
  vb, vbnet: vb,
};

/** Fallback by the extension of the language's default file name. */
const BY_EXTENSION = {
  py: python, js: javascript, mjs: javascript, cjs: javascript, ts: typescript,
  c: cpp, h: cpp, cc: cpp, cpp: cpp, cxx: cpp, hpp: cpp,
  java, go, rs: rust, php, sh: shell, bash: shell, rb: ruby, lua, pl: perl, hs: haskell,
  cs: csharp, kt: kotlin, scala, dart, m: objectiveC, swift, r: r, R: r, ml: ocaml, fs: fsharp,
  erl: erlang, jl: julia, cr: crystal, clj: clojure, lisp: commonLisp, scm: scheme, rkt: scheme,
  pas: pascal, f90: fortran, f95: fortran, f: fortran, d, groovy, tcl, sql, ps1: powershell,
  cob: cobol, bf: brainfuck, coffee: coffeescript, elm, vb,
};

const own = (table, key) => (Object.prototype.hasOwnProperty.call(table, key) ? table[key] : null);

/** The loader for a server language ({id, aliases, file}), or null when the pad has no highlighting for it. */
export function supportLoader(language) {
  const names = [language.id, ...(Array.isArray(language.aliases) ? language.aliases : [])];
  for (const name of names) {
    if (typeof name !== "string") continue;
    const loader = own(BY_NAME, name.toLowerCase());
    if (loader) return loader;
  }
  const file = typeof language.file === "string" ? language.file : "";
  const dot = file.lastIndexOf(".");
  return dot > 0 ? own(BY_EXTENSION, file.slice(dot + 1)) ?? own(BY_EXTENSION, file.slice(dot + 1).toLowerCase()) : null;
}

/** The CodeMirror extension that highlights `language`: [] (plain text) when unknown or when loading fails. */
export async function loadSupport(language) {
  const loader = supportLoader(language);
  if (!loader) return [];
  try {
    return await loader();
  } catch (err) {
    console.warn(`padbox: no highlighting for ${language.id}:`, err);
    return [];
  }
}

/** The indentation a language's own style guide asks for. */
export function indentFor(language) {
  const names = [language.id, ...(Array.isArray(language.aliases) ? language.aliases : [])].map((n) => String(n).toLowerCase());
  if (names.some((n) => n === "go" || n === "golang")) return "\t";
  if (names.some((n) => ["ruby", "rb", "javascript", "js", "node", "typescript", "ts", "bash", "sh", "lua", "elm"].includes(n)))
    return "  ";
  return "    ";
}
