// The pad's shared document as the page reads and changes it (the layout is docs/pads.md's):
//   Y.Map `files`: file name -> Y.Text        Y.Map `meta`: language, entry (the file that runs), title
// Every change is one Yjs transaction, so the others see a rename or a language switch whole. No DOM: tested in
// test/pad-doc.test.js against real Y.Docs.

import * as Y from "yjs";

export const FILES = "files";
export const META = "meta";
export const MAX_FILES = 64; // the server refuses a 65th (docs/pads.md)
const MAX_NAME_LENGTH = 255;
const MAX_PART_BYTES = 255;
const encoder = new TextEncoder();

export const filesOf = (doc) => doc.getMap(FILES);
export const metaOf = (doc) => doc.getMap(META);

/** Why `name` cannot be a file name (the server's rule, padbox_agent/names.py), or null when it can. */
export function fileNameProblem(name) {
  if (!name) return "A file needs a name.";
  if (name.includes("\0")) return "A file name cannot hold a NUL character.";
  if (name.startsWith("/")) return "A file name must be relative: no leading /.";
  if (name.length > MAX_NAME_LENGTH) return `A file name is at most ${MAX_NAME_LENGTH} characters.`;
  const parts = name.split("/");
  if (parts.some((part) => part === "" || part === "." || part === "..")) {
    return "A file name cannot hold '.', '..' or empty parts.";
  }
  if (name.includes("\\")) return "A file name cannot hold a backslash.";
  if (parts.some((part) => encoder.encode(part).length > MAX_PART_BYTES)) {
    return `Each part of a file name is at most ${MAX_PART_BYTES} bytes.`;
  }
  return null;
}

/** The document as plain values: {files: [{name, content}] in tab order, language, entry, title}. */
export function readPad(doc) {
  const meta = metaOf(doc);
  const entry = String(meta.get("entry") ?? "");
  const files = [];
  filesOf(doc).forEach((value, name) => files.push({ name, content: String(value ?? "") }));
  return {
    files: tabOrder(files.map((f) => f.name), entry).map((name) => files.find((f) => f.name === name)),
    language: String(meta.get("language") ?? ""),
    entry,
    title: String(meta.get("title") ?? ""),
  };
}

/**
 * File names in the order tabs show them: the file that runs first, then by name. Y.Map's own order is the order
 * its entries reached each client, which may differ between two people: sorting keeps everyone's tabs alike.
 */
export function tabOrder(names, entry) {
  const rest = names.filter((n) => n !== entry).sort((a, b) => a.localeCompare(b));
  return names.includes(entry) ? [entry, ...rest] : rest;
}

/** The file that runs: `meta.entry` when it names a file, else the first tab. */
export function entryOf(doc) {
  const { files, entry } = readPad(doc);
  return files.some((f) => f.name === entry) ? entry : files[0]?.name ?? "";
}

/** Why a new file cannot be called `name` here, or null. */
function newNameProblem(doc, name) {
  const problem = fileNameProblem(name);
  if (problem) return problem;
  if (filesOf(doc).has(name)) return `There is a file named ${name} already.`;
  return null;
}

/** Add an empty (or `content`) file; returns null, or why not. */
export function addFile(doc, name, content = "") {
  const problem = newNameProblem(doc, name);
  if (problem) return problem;
  if (filesOf(doc).size >= MAX_FILES) return `A pad holds at most ${MAX_FILES} files.`;
  doc.transact(() => filesOf(doc).set(name, new Y.Text(content)));
  return null;
}

/** Rename a file (its text moves to a new Y.Text: Yjs cannot move a type); the entry follows. Null, or why not. */
export function renameFile(doc, from, to) {
  if (from === to) return null;
  const files = filesOf(doc);
  const text = files.get(from);
  if (!text) return `There is no file named ${from}.`;
  const problem = newNameProblem(doc, to);
  if (problem) return problem;
  doc.transact(() => {
    const content = text.toString();
    files.delete(from);
    files.set(to, new Y.Text(content));
    if (metaOf(doc).get("entry") === from) metaOf(doc).set("entry", to);
  });
  return null;
}

/** Delete a file; the last one stays (a pad always has something to run). Null, or why not. */
export function deleteFile(doc, name) {
  const files = filesOf(doc);
  if (!files.has(name)) return `There is no file named ${name}.`;
  if (files.size <= 1) return "A pad keeps at least one file.";
  doc.transact(() => {
    files.delete(name);
    if (metaOf(doc).get("entry") === name) metaOf(doc).set("entry", tabOrder([...files.keys()], "")[0]);
  });
  return null;
}

/** Make `name` the file that runs. */
export function setEntry(doc, name) {
  if (!filesOf(doc).has(name)) return `There is no file named ${name}.`;
  doc.transact(() => metaOf(doc).set("entry", name));
  return null;
}

export function setTitle(doc, title) {
  const clean = String(title).split(/\s+/).filter(Boolean).join(" ").slice(0, 200);
  if (clean === (metaOf(doc).get("title") ?? "")) return;
  doc.transact(() => metaOf(doc).set("title", clean));
}

/**
 * Switch the pad to language `to` (a server language: {id, file, template}) from `from` (the same, or null).
 * A pad still holding only the old language's untouched starter file gets the new one's, name and template, as
 * an interviewer switching languages before starting expects; a file someone wrote in keeps its text, and is
 * renamed to the new language's file name when it is the only file (compilers often insist on that name).
 */
export function switchLanguage(doc, from, to) {
  const files = filesOf(doc);
  doc.transact(() => {
    metaOf(doc).set("language", to.id);
    if (files.size !== 1 || !to.file) return;
    const [name] = [...files.keys()];
    const content = files.get(name).toString();
    const untouched = content.trim() === "" || (from && from.template && content === from.template);
    const newContent = untouched ? to.template || "" : content;
    if (name === to.file && !untouched) return;
    files.delete(name);
    files.set(to.file, new Y.Text(newContent));
    metaOf(doc).set("entry", to.file);
  });
}

/**
 * Where a page showing file `shown` goes after a change of the `files` map (a Y.YMapEvent's `changes.keys`):
 * a rename (one file gone, one come, in one transaction) takes it to the new name; otherwise it stays.
 */
export function followRename(shown, changedKeys) {
  const change = changedKeys.get(shown);
  if (!change || change.action !== "delete") return shown;
  const added = [...changedKeys].filter(([, c]) => c.action === "add").map(([name]) => name);
  return added.length === 1 ? added[0] : shown;
}
