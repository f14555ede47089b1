// AES-256-GCM encryption of secrets at rest (signing keys), bound to a label (the kid) as associated data
// so that a ciphertext moved to another row does not decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const VERSION = "v1";

export function seal(key: Buffer, plaintext: string, label: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(label, "utf8"));
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [VERSION, iv.toString("base64url"), ct.toString("base64url"), cipher.getAuthTag().toString("base64url")].join(
    ".",
  );
}

export function open(key: Buffer, sealed: string, label: string): string {
  const [version, iv, ct, tag] = sealed.split(".");
  if (version !== VERSION || !iv || !ct || !tag) throw new Error("unsupported sealed secret format");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
  decipher.setAAD(Buffer.from(label, "utf8"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
}

/** Decodes KEY_ENCRYPTION_KEY (base64 or base64url of 32 bytes). */
export function decodeKeyEncryptionKey(text: string): Buffer {
  const buf = Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (buf.length !== 32) throw new Error(`KEY_ENCRYPTION_KEY must decode to 32 bytes, got ${buf.length}`);
  return buf;
}
