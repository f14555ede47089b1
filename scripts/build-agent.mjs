#!/usr/bin/env node
// Bundles the agent with esbuild into an ESM entry plus on-demand chunks in `chunks/` beside it (what the container
// image runs; copy the whole output directory): node scripts/build-agent.mjs
//   [--entry agent/src/main.ts] [--outfile dist/agent/agent.mjs] [--metafile]
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const { values } = parseArgs({
  options: {
    entry: { type: "string", default: "agent/src/main.ts" },
    outfile: { type: "string", default: "dist/agent/agent.mjs" },
    metafile: { type: "boolean", default: false },
  },
});

const outfile = resolve(values.outfile);
mkdirSync(dirname(outfile), { recursive: true });
// Code splitting: what the agent imports only on demand (@kubernetes/client-node for exec-plugin kubeconfigs, about
// 2.9 MB of the bundle) goes to a chunk file beside the entry that an idle agent never loads or parses.
const result = await build({
  entryPoints: { [basename(outfile).replace(/\.mjs$/, "")]: resolve(values.entry) },
  outdir: dirname(outfile),
  outExtension: { ".js": ".mjs" },
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  platform: "node",
  target: "node22",
  format: "esm",
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  metafile: values.metafile,
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
  // pino's worker transports are not used (JSON to stdout only).
  external: ["pino-pretty"],
  logLevel: "warning",
});
if (values.metafile && result.metafile) writeFileSync(`${outfile}.meta.json`, JSON.stringify(result.metafile));
console.log(`agent bundle: ${outfile}`);
