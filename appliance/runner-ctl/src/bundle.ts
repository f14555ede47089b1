// The signed appliance bundle: a tar.gz with VERSION, ARCH, bin/k3s, bin/helm, [bin/node],
// runner-ctl.mjs, images/*, charts/runner/, jwks.json, SHA256SUMS and SHA256SUMS.sig (Ed25519 over
// SHA256SUMS by the vendor's release key). Same rules as install.sh's verify_bundle.
import { createHash, createPublicKey, verify } from "node:crypto";
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { Ctx } from "./context.ts";
import { CliError } from "./context.ts";
import { run } from "./exec.ts";

/** The vendor's release key; the same one install.sh embeds. */
export const RELEASE_PUBKEY = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEA/+8vXOxTpMXW5xjpnXCubIarKG1TK/a7pRaHwj1JapY=
-----END PUBLIC KEY-----
`;

export interface Bundle {
  dir: string;
  version: string;
  arch: string;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => h.update(d))
      .on("end", () => resolve(h.digest("hex")))
      .on("error", reject);
  });
}

export function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, base));
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out.sort();
}

export async function extractAndVerifyBundle(ctx: Ctx, file: string): Promise<Bundle> {
  if (!existsSync(file)) throw new CliError(`no bundle at ${file}`);
  const dir = mkdtempSync(join(ctx.env.TMPDIR ?? tmpdir(), "runner-bundle-"));
  const res = await run("tar", ["-xzf", file, "-C", dir], { env: ctx.env });
  if (res.code !== 0) throw new CliError(`${file} is not a readable bundle: ${res.stderr.trim()}`);
  await verifyBundleDir(ctx, dir);
  const version = readFileSync(join(dir, "VERSION"), "utf8").trim();
  const arch = existsSync(join(dir, "ARCH")) ? readFileSync(join(dir, "ARCH"), "utf8").trim() : "unknown";
  return { dir, version, arch };
}

export async function verifyBundleDir(ctx: Ctx, dir: string): Promise<void> {
  const sums = join(dir, "SHA256SUMS");
  const sig = join(dir, "SHA256SUMS.sig");
  if (!existsSync(sums) || !existsSync(sig)) {
    throw new CliError("the bundle has no SHA256SUMS or SHA256SUMS.sig; it is not an official bundle");
  }
  const pem = ctx.env.RUNNER_RELEASE_PUBKEY_FILE
    ? readFileSync(ctx.env.RUNNER_RELEASE_PUBKEY_FILE, "utf8")
    : RELEASE_PUBKEY;
  const ok = verify(null, readFileSync(sums), createPublicKey(pem), readFileSync(sig));
  if (!ok) throw new CliError("the bundle's signature is not valid: it was not signed by the vendor's release key");
  const listed = new Map<string, string>();
  for (const line of readFileSync(sums, "utf8").split("\n")) {
    const m = /^([0-9a-f]{64}) [ *]?(.+)$/.exec(line.trim());
    if (m?.[1] && m[2]) listed.set(m[2], m[1]);
  }
  const present = listFiles(dir).filter((f) => f !== "SHA256SUMS" && f !== "SHA256SUMS.sig");
  const missing = [...listed.keys()].filter((f) => !present.includes(f));
  const extra = present.filter((f) => !listed.has(f));
  if (missing.length || extra.length) {
    throw new CliError(
      `the bundle's files do not match SHA256SUMS (missing: ${missing.join(", ") || "none"}; extra: ${extra.join(", ") || "none"})`,
    );
  }
  for (const [f, sum] of listed) {
    if ((await sha256File(join(dir, f))) !== sum) throw new CliError(`checksum mismatch for ${f} in the bundle`);
  }
  for (const need of ["VERSION", "runner-ctl.mjs", "jwks.json"]) {
    if (!existsSync(join(dir, need))) throw new CliError(`the bundle lacks ${need}`);
  }
  if (!existsSync(join(dir, "charts", "runner")) || !statSync(join(dir, "charts", "runner")).isDirectory()) {
    throw new CliError("the bundle lacks charts/runner");
  }
}
