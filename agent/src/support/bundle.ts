// Delivering a support bundle: gzip JSON with its sha256, PUT to the cloud's upload URL when the command names one,
// else carried in the command result (within the frame limit). Used by the real agent and the simulated cluster.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

/** Largest bundle (gzip bytes) that may ride in a command result instead of an upload. */
const MAX_INLINE_BUNDLE_BYTES = 380_000;

export async function deliverBundle(
  content: Record<string, unknown>,
  to: { uploadUrl?: string; fetch: typeof fetch; signal: AbortSignal },
) {
  const gz = gzipSync(Buffer.from(JSON.stringify(content)));
  const sha256 = createHash("sha256").update(gz).digest("hex");
  const parts = Object.keys(content);
  if (to.uploadUrl) {
    const res = await to.fetch(to.uploadUrl, {
      method: "PUT",
      headers: { "content-type": "application/gzip", "x-content-sha256": sha256 },
      body: new Uint8Array(gz),
      signal: to.signal,
    });
    if (!res.ok) throw new Error(`bundle upload failed: HTTP ${res.status}`);
    return { uploaded: true, bytes: gz.byteLength, sha256, parts };
  }
  if (gz.byteLength > MAX_INLINE_BUNDLE_BYTES) throw new Error(`bundle of ${gz.byteLength} bytes needs an uploadUrl`);
  return { uploaded: false, bytes: gz.byteLength, sha256, parts, gzipBase64: gz.toString("base64") };
}
