// webRouter(): serves the fleet web UI (index.html for the client-side routes, the UI's ES modules and the
// vendored preact/htm/uPlot modules under /ui/) from memory, with a strict Content-Security-Policy. No build step.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, relative, sep } from "node:path";
import { gzipSync } from "node:zlib";
import type { Context } from "hono";
import type { AppEnv } from "../lib/context.ts";
import { createRouter } from "../lib/create-router.ts";

const ASSETS_DIR = join(import.meta.dirname, "assets");

/** Browser path under /ui/vendor/ → file inside an installed npm package. Only these are served. */
const VENDOR_FILES: Record<string, { pkg: string; file: string }> = {
  "preact.mjs": { pkg: "preact", file: "dist/preact.mjs" },
  "hooks.mjs": { pkg: "preact", file: "hooks/dist/hooks.mjs" },
  "htm.mjs": { pkg: "htm", file: "dist/htm.mjs" },
  "uplot.mjs": { pkg: "uplot", file: "dist/uPlot.esm.js" },
  "uplot.css": { pkg: "uplot", file: "dist/uPlot.min.css" },
};

/** Client-side routes answered with index.html (the UI routes itself with the history API). */
export const UI_ROUTES = [
  "/",
  "/signin",
  "/fleet",
  "/appliances/:id",
  "/rollouts",
  "/rollouts/*",
  "/releases",
  "/customers",
  "/licenses",
];

const IMPORT_MAP = JSON.stringify({
  imports: {
    preact: "/ui/vendor/preact.mjs",
    "preact/hooks": "/ui/vendor/hooks.mjs",
    htm: "/ui/vendor/htm.mjs",
    uplot: "/ui/vendor/uplot.mjs",
  },
});

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
};

interface Asset {
  body: Uint8Array;
  gzip?: Uint8Array;
  etag: string;
  type: string;
}

function makeAsset(body: Uint8Array, type: string): Asset {
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
  const compressible = type.startsWith("text/") || type.includes("json") || type.includes("svg");
  return { body, etag, type, gzip: compressible && body.length > 1024 ? gzipSync(body, { level: 9 }) : undefined };
}

/** Finds `node_modules/<pkg>/<file>` walking up from this module, as Node's resolver would. */
function findPackageFile(pkg: string, file: string): string {
  let dir = import.meta.dirname;
  for (;;) {
    const candidate = join(dir, "node_modules", pkg, file);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`web UI: ${pkg}/${file} is not installed; run npm install`);
    dir = parent;
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full) : [full];
  });
}

type Loaded = { files: Map<string, Asset>; index: Asset; csp: string };
let loaded: Loaded | undefined;

/** Reads and compresses the assets once per process (every createApp() shares them). */
function loadAssets(): Loaded {
  loaded ??= readAssets();
  return loaded;
}

function readAssets(): Loaded {
  const files = new Map<string, Asset>();
  for (const full of listFiles(ASSETS_DIR)) {
    const rel = relative(ASSETS_DIR, full).split(sep).join("/");
    if (rel === "index.html") continue;
    files.set(`/ui/${rel}`, makeAsset(readFileSync(full), CONTENT_TYPES[extname(full)] ?? "application/octet-stream"));
  }
  for (const [name, { pkg, file }] of Object.entries(VENDOR_FILES)) {
    const full = findPackageFile(pkg, file);
    files.set(`/ui/vendor/${name}`, makeAsset(readFileSync(full), CONTENT_TYPES[extname(name)] ?? "text/plain"));
  }
  // The import map is the only inline script; it is allowed by its hash, everything else must come from 'self'.
  const importMapHash = createHash("sha256").update(IMPORT_MAP).digest("base64");
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${importMapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  // Preload every module so the browser fetches the whole graph at once instead of level by level.
  const preloads = [...files.keys()]
    .filter((p) => p.endsWith(".js") || p.endsWith(".mjs"))
    .sort()
    .map((p) => `<link rel="modulepreload" href="${p}">`)
    .join("\n");
  const html = readFileSync(join(ASSETS_DIR, "index.html"), "utf8")
    .replace("<!--IMPORTMAP-->", `<script type="importmap">${IMPORT_MAP}</script>`)
    .replace("<!--PRELOAD-->", preloads);
  return { files, index: makeAsset(new TextEncoder().encode(html), CONTENT_TYPES[".html"]!), csp };
}

function send(c: Context<AppEnv>, asset: Asset, cacheControl: string, extraHeaders: Record<string, string> = {}) {
  const headers: Record<string, string> = {
    "content-type": asset.type,
    "cache-control": cacheControl,
    etag: asset.etag,
    vary: "accept-encoding",
    "x-content-type-options": "nosniff",
    ...extraHeaders,
  };
  if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304, headers);
  if (asset.gzip && /\bgzip\b/.test(c.req.header("accept-encoding") ?? "")) {
    return c.body(asset.gzip as Uint8Array<ArrayBuffer>, 200, { ...headers, "content-encoding": "gzip" });
  }
  return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, headers);
}

/** The fleet UI: mount with `app.route("/", webRouter())` after the API routes. */
export function webRouter() {
  const { files, index, csp } = loadAssets();
  const router = createRouter();
  const pageHeaders = {
    "content-security-policy": csp,
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
  };

  router.get("/ui/*", (c) => {
    const asset = files.get(c.req.path);
    if (!asset)
      return c.json({ error: { code: "NOT_FOUND", message: "no such UI asset", requestId: c.get("requestId") } }, 404);
    // ETag revalidation: cheap on a LAN, and never a stale UI after a deploy.
    return send(c, asset, "no-cache");
  });
  for (const path of UI_ROUTES) {
    router.get(path, (c) => send(c, index, "no-cache", pageHeaders));
  }
  return router;
}
