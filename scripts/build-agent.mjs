#!/usr/bin/env node
// Bundles the agent into one ESM file with esbuild (what the container image runs): node scripts/build-agent.mjs
//   [--entry agent/src/main.ts] [--outfile dist/agent/agent.mjs] [--metafile]
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
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
const result = await build({
  entryPoints: [resolve(values.entry)],
  outfile,
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
