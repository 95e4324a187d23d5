// Bundles src/ into the server package's padbox/web/pad/: index.html, main.js (+ one chunk per language's
// highlighting), main.css (xterm's CSS inside). The bundle goes inside the Python package so that it is package data:
// the server finds it with importlib.resources, and a wheel built after this carries it.
// `node build.mjs` builds once; `node build.mjs --watch` rebuilds on change while developing.

import { copyFile, mkdir, rm } from "node:fs/promises";
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const outdir = "../server/padbox/web/pad";

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
await copyFile("src/index.html", `${outdir}/index.html`);

const options = {
  entryPoints: ["src/main.js"],
  bundle: true,
  outdir,
  format: "esm",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  minify: true,
  sourcemap: "linked",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  legalComments: "linked",
  logLevel: "warning",
};

if (watch) {
  const context = await esbuild.context({ ...options, logLevel: "info" });
  await context.watch();
} else {
  await esbuild.build(options);
}
