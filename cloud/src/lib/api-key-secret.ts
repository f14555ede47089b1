// Operator API key secrets: `cok_<8-char prefix>_<32 base62>`; only the SHA-256 of the whole string is stored.
import { createHash, randomInt } from "node:crypto";

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const API_KEY_PATTERN = /^cok_([0-9A-Za-z]{8})_([0-9A-Za-z]{32})$/;

function randomBase62(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += base62[randomInt(62)];
  return out;
}

export function generateApiKeySecret(): { secret: string; prefix: string; hash: string } {
  const prefix = `cok_${randomBase62(8)}`;
  const secret = `${prefix}_${randomBase62(32)}`;
  return { secret, prefix, hash: hashApiKeySecret(secret) };
}

export function hashApiKeySecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** The visible prefix of a presented key (for throttling and logs), or null when it is not shaped like a key. */
export function apiKeyPrefixOf(secret: string): string | null {
  const m = API_KEY_PATTERN.exec(secret);
  return m ? `cok_${m[1]}` : null;
}
