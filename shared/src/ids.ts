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

// An id is made by one String.fromCharCode, so it is a flat string: built with += and a template literal it was a
// chain of one-character cons strings that a long-lived id (a held session's) kept alive, ~340 bytes each (bench S1
// heap snapshot).
const codes = [...alphabet].map((c) => c.charCodeAt(0));

function encodeTime(ms: number): number[] {
  const out: number[] = new Array(10);
  let t = ms;
  for (let i = 9; i >= 0; i--) {
    out[i] = codes[t % 32]!;
    t = Math.floor(t / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): number[] {
  const out: number[] = [];
  // 80 bits -> 16 base32 characters, 5 bits each.
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push(codes[(acc >> bits) & 31]!);
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

const prefixCodes = Object.fromEntries(
  Object.entries(idPrefixes).map(([k, p]) => [k, [...p].map((c) => c.charCodeAt(0))]),
) as Record<IdKind, number[]>;

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
  return String.fromCharCode(...prefixCodes[kind], 0x5f, ...encodeTime(time), ...encodeRandom(random));
}

export function isId(kind: IdKind, value: string): boolean {
  return new RegExp(`^${idPrefixes[kind]}_[0-9A-HJKMNP-TV-Z]{26}$`).test(value);
}
