// Fetches the release's chart archive and verifies it against the digest in the desired state; an unverified
// chart never reaches helm.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export type ChartFetch = (url: string, init: { signal: AbortSignal }) => Promise<Response>;

export class ChartDigestError extends Error {
  readonly expected: string;
  readonly actual: string;
  constructor(expected: string, actual: string) {
    super(`chart digest mismatch: expected sha256:${expected}, got sha256:${actual}; the chart is refused`);
    this.name = "ChartDigestError";
    this.expected = expected;
    this.actual = actual;
  }
}

/** Accepts `sha256:<hex>` or bare hex; anything else is not a digest we can verify. */
export function normaliseDigest(d: string): string {
  const hex = d.startsWith("sha256:") ? d.slice(7) : d;
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`not a sha256 digest: ${JSON.stringify(d)}`);
  return hex.toLowerCase();
}

export const sha256Hex = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

export function verifyChart(bytes: Uint8Array, expectedDigest: string): void {
  const expected = normaliseDigest(expectedDigest);
  const actual = sha256Hex(bytes);
  if (actual !== expected) throw new ChartDigestError(expected, actual);
}

const MAX_CHART_BYTES = 20 * 1024 * 1024;

/**
 * Returns the path of a verified chart archive in `cacheDir`, named by its digest. A cached archive is verified
 * again before use, so a corrupted cache cannot slip through.
 */
export async function fetchVerifiedChart(opts: {
  url: string;
  digest: string;
  cacheDir: string;
  fetch: ChartFetch;
  signal: AbortSignal;
}): Promise<string> {
  const expected = normaliseDigest(opts.digest);
  await mkdir(opts.cacheDir, { recursive: true });
  const path = join(opts.cacheDir, `${expected}.tgz`);
  const cached = await readFile(path).catch(() => null);
  if (cached && sha256Hex(cached) === expected) return path;

  let bytes: Uint8Array;
  if (opts.url.startsWith("file://")) {
    bytes = await readFile(new URL(opts.url));
  } else {
    const res = await opts.fetch(opts.url, { signal: opts.signal });
    if (!res.ok) throw new Error(`chart download failed: HTTP ${res.status} from ${redactUrl(opts.url)}`);
    const len = Number(res.headers.get("content-length") ?? "0");
    if (len > MAX_CHART_BYTES) throw new Error(`chart archive too large (${len} bytes)`);
    bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength > MAX_CHART_BYTES) throw new Error(`chart archive too large (${bytes.byteLength} bytes)`);
  }
  verifyChart(bytes, expected);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, bytes, { mode: 0o600 });
  await rename(tmp, path);
  return path;
}

function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    url.search = "";
    url.username = "";
    url.password = "";
    return url.toString();
  } catch {
    return "<invalid url>";
  }
}
