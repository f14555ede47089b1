// The encrypted backup archive: "CRBACKUP", a version byte, a JSON header (scrypt parameters, salt,
// IV), then a tar.gz encrypted with AES-256-GCM under a key derived from the passphrase, then the
// 16-byte GCM tag. The header is authenticated too (additional data).

import { spawn } from "node:child_process";
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fstatSync,
  openSync,
  readSync,
  statSync,
  writeSync,
} from "node:fs";
import { pipeline } from "node:stream/promises";
import { CliError } from "./context.ts";

const MAGIC = Buffer.from("CRBACKUP", "ascii");
const VERSION = 1;

interface Header {
  kdf: "scrypt";
  N: number;
  r: number;
  p: number;
  salt: string;
  iv: string;
  cipher: "aes-256-gcm";
  createdAt: string;
}

function deriveKey(passphrase: string, h: Header): Buffer {
  return scryptSync(passphrase, Buffer.from(h.salt, "base64"), 32, {
    N: h.N,
    r: h.r,
    p: h.p,
    maxmem: 256 * 1024 * 1024,
  });
}

function prefix(h: Header): Buffer {
  const json = Buffer.from(JSON.stringify(h), "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  return Buffer.concat([MAGIC, Buffer.from([VERSION]), len, json]);
}

/** tar -czf of a directory, encrypted into `out`. */
export async function writeEncryptedArchive(
  dir: string,
  out: string,
  passphrase: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const h: Header = {
    kdf: "scrypt",
    N: 32768,
    r: 8,
    p: 1,
    salt: randomBytes(16).toString("base64"),
    iv: randomBytes(12).toString("base64"),
    cipher: "aes-256-gcm",
    createdAt: new Date().toISOString(),
  };
  const head = prefix(h);
  const cipher = createCipheriv("aes-256-gcm", deriveKey(passphrase, h), Buffer.from(h.iv, "base64"));
  cipher.setAAD(head);
  const fd = openSync(out, "w", 0o600);
  writeSync(fd, head);
  const tar = spawn("tar", ["-czf", "-", "-C", dir, "."], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  tar.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number>((resolve) => tar.on("close", (c) => resolve(c ?? 1)));
  await pipeline(tar.stdout, cipher, createWriteStream(out, { fd, autoClose: false, start: head.length }));
  const code = await exited;
  if (code !== 0) {
    closeSync(fd);
    throw new CliError(`packing the backup failed: ${stderr.trim()}`);
  }
  // the stream wrote at explicit positions: the tag goes at the end of the file
  writeSync(fd, cipher.getAuthTag(), 0, 16, fstatSync(fd).size);
  closeSync(fd);
}

/** Decrypts and unpacks an archive into `dir`; nothing is unpacked unless the whole archive authenticates. */
export async function readEncryptedArchive(
  file: string,
  dir: string,
  passphrase: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const size = statSync(file).size;
  const fd = openSync(file, "r");
  const fixed = Buffer.alloc(13);
  readSync(fd, fixed, 0, 13, 0);
  if (!fixed.subarray(0, 8).equals(MAGIC)) {
    closeSync(fd);
    throw new CliError(`${file} is not a runner-ctl backup`);
  }
  if (fixed[8] !== VERSION) {
    closeSync(fd);
    throw new CliError(`${file} is a backup of format ${fixed[8]}; this runner-ctl reads format ${VERSION}`);
  }
  const hlen = fixed.readUInt32BE(9);
  const hbuf = Buffer.alloc(hlen);
  readSync(fd, hbuf, 0, hlen, 13);
  const tag = Buffer.alloc(16);
  readSync(fd, tag, 0, 16, size - 16);
  closeSync(fd);
  const h = JSON.parse(hbuf.toString("utf8")) as Header;
  const head = Buffer.concat([fixed, hbuf]);
  const decipher = createDecipheriv("aes-256-gcm", deriveKey(passphrase, h), Buffer.from(h.iv, "base64"));
  decipher.setAAD(head);
  decipher.setAuthTag(tag);
  const plain = `${dir}.tar.gz`;
  try {
    await pipeline(
      createReadStream(file, { start: head.length, end: size - 17 }),
      decipher,
      createWriteStream(plain, { mode: 0o600 }),
    );
  } catch {
    throw new CliError("the backup cannot be decrypted: wrong passphrase, or the file is damaged");
  }
  const tar = spawn("tar", ["-xzf", plain, "-C", dir], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  tar.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number>((resolve) => tar.on("close", (c) => resolve(c ?? 1)));
  if (code !== 0) throw new CliError(`unpacking the backup failed: ${stderr.trim()}`);
}
