// license verify | license show: offline verification with the shared verifier.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { JSONWebKeySet } from "jose";
import { type LicenseClaims, LicenseVerifyError, verifyLicenseToken } from "../../../shared/src/license.ts";
import type { Ctx } from "./context.ts";
import { CliError, UsageError } from "./context.ts";

export function readJwks(path: string): JSONWebKeySet {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as JSONWebKeySet;
  } catch (e) {
    throw new CliError(`cannot read the license keys ${path}: ${(e as Error).message}`);
  }
}

export function licenseSummary(c: LicenseClaims): string {
  return `${c.customer.name}, license ${c.sub}, expires ${new Date(c.exp * 1000).toISOString().slice(0, 10)}`;
}

export function daysLeft(c: LicenseClaims, now = Date.now()): number {
  return Math.floor((c.exp * 1000 - now) / 86_400_000);
}

/** The installed license, verified; `error` says why it does not verify. */
export async function installedLicense(
  ctx: Ctx,
): Promise<{ claims?: LicenseClaims; error?: string; reason?: string } | undefined> {
  const tokenFile = join(ctx.paths.secretsDir, "license.jwt");
  if (!existsSync(tokenFile)) return undefined;
  const jwksFile = ctx.env.RUNNER_JWKS ?? join(ctx.paths.libDir, "jwks.json");
  try {
    const claims = await verifyLicenseToken(readFileSync(tokenFile, "utf8").trim(), readJwks(jwksFile));
    return { claims };
  } catch (e) {
    if (e instanceof LicenseVerifyError) return { error: e.message, reason: e.reason };
    return { error: (e as Error).message };
  }
}

export async function licenseVerify(
  ctx: Ctx,
  o: { token?: string; tokenFile?: string; jwks?: string; json: boolean },
): Promise<number> {
  const token = o.token ?? (o.tokenFile ? readFileSync(o.tokenFile, "utf8").trim() : undefined);
  if (!token) throw new UsageError("license verify needs --token <token> or --token-file <file>");
  const jwksFile = o.jwks ?? join(ctx.paths.libDir, "jwks.json");
  try {
    const claims = await verifyLicenseToken(token, readJwks(jwksFile));
    if (o.json) ctx.io.out(`${JSON.stringify({ valid: true, summary: licenseSummary(claims), claims })}\n`);
    else ctx.io.out(`License valid: ${licenseSummary(claims)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof LicenseVerifyError) {
      if (o.json) ctx.io.out(`${JSON.stringify({ valid: false, reason: e.reason, message: e.message })}\n`);
      ctx.io.err(`${e.reason}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

export async function licenseShow(ctx: Ctx, json: boolean): Promise<number> {
  const lic = await installedLicense(ctx);
  if (!lic) throw new CliError("no license is installed on this machine (is this the hub?)");
  if (!lic.claims) {
    if (json) ctx.io.out(`${JSON.stringify({ valid: false, reason: lic.reason, message: lic.error })}\n`);
    ctx.io.err(`The installed license does not verify: ${lic.error}\n`);
    return 1;
  }
  const c = lic.claims;
  if (json) {
    ctx.io.out(`${JSON.stringify({ valid: true, daysLeft: daysLeft(c), claims: c })}\n`);
    return 0;
  }
  const e = c.entitlements;
  ctx.io.out(
    [
      `Customer:        ${c.customer.name} (${c.customer.id})`,
      `License:         ${c.sub}`,
      `Valid until:     ${new Date(c.exp * 1000).toISOString().slice(0, 10)} (${daysLeft(c)} days left)`,
      `Update channel:  ${e.updateChannel}`,
      `Worker machines: up to ${e.maxWorkerNodes}`,
      `Features:        ${e.features.length ? e.features.join(", ") : "standard"}`,
      "",
    ].join("\n"),
  );
  return 0;
}
