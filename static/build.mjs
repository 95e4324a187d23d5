// Bundles src/ into dist/: index.html, main.js (+ one chunk per language's highlighting), main.css (xterm's CSS inside).
// `node build.mjs` builds once; `node build.mjs --watch` rebuilds on change while developing.

import { copyFile, mkdir, rm } from "node:fs/promises";
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");

await rm("dist", { recursive: true, force: true });
await mkdir("dist", { recursive: true });
await copyFile("src/index.html", "dist/index.html");

const options = {
  entryPoints: ["src/main.js"],
  bundle: true,
  outdir: "dist",
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
