// Typed, sortable text ids (`apl_01J…`): 48-bit millisecond time + 80 random bits, Crockford base32.
// Monotonic within a process (as ULID): ids made in the same millisecond increment the random part, so
// cursor pagination and "newest first" lists keep creation order.
import { randomBytes } from "node:crypto";

export const idPrefixes = {
  organisation: "org",
  apiKey: "key",
  customer: "cus",
  license: "lic",
  signingKey: "sk",
  audit: "aud",
  appliance: "apl",
  command: "cmd",
  session: "ses",
  release: "rel",
  channel: "chn",
  rollout: "rol",
  rolloutTarget: "rtg",
  webhook: "whk",
  delivery: "dlv",
  event: "evt",
  bundle: "bdl",
  request: "req",
} as const;

export type IdKind = keyof typeof idPrefixes;

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function encodeTime(ms: number): string {
  let out = "";
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = alphabet[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  let out = "";
  // 80 bits -> 16 base32 characters, 5 bits each.
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

let lastTime = -1;
let lastRandom: Buffer = Buffer.alloc(10);

function increment(bytes: Buffer): Buffer {
  const next = Buffer.from(bytes);
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i]! < 255) {
      next[i]! += 1;
      return next;
    }
    next[i] = 0;
  }
  return randomBytes(10); // overflow after 2^80 ids in one millisecond: cannot happen in practice
}

export function newId(kind: IdKind, now: number = Date.now()): string {
  let time = now;
  let random: Buffer;
  if (time <= lastTime) {
    time = lastTime;
    random = increment(lastRandom);
  } else {
    random = randomBytes(10);
  }
  lastTime = time;
  lastRandom = random;
  return `${idPrefixes[kind]}_${encodeTime(time)}${encodeRandom(random)}`;
}

export function isId(kind: IdKind, value: string): boolean {
  return new RegExp(`^${idPrefixes[kind]}_[0-9A-HJKMNP-TV-Z]{26}$`).test(value);
}
