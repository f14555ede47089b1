// The helm binary, with every flag explicit (Helm 3 and Helm 4 behave alike).
import type { Ctx } from "./context.ts";
import { CliError } from "./context.ts";
import { run } from "./exec.ts";

export interface ReleaseStatus {
  name: string;
  status: string;
  revision: number;
  chart: string;
  appVersion: string;
  updated: string;
}

function base(ctx: Ctx): string[] {
  return ["--kubeconfig", ctx.paths.kubeconfig, "--namespace", ctx.settings.namespace];
}

export async function helm(ctx: Ctx, args: string[], timeoutMs = 15 * 60_000) {
  return run(ctx.settings.helm, [...args, ...base(ctx)], { env: ctx.env, timeoutMs });
}

/** The release's latest revision (from `helm history`, alike in Helm 3 and 4), or undefined when not installed. */
export async function releaseStatus(ctx: Ctx): Promise<ReleaseStatus | undefined> {
  const res = await helm(ctx, ["history", ctx.settings.release, "--max", "1", "--output", "json"], 60_000);
  if (res.code !== 0) {
    if (/not found/i.test(res.stderr)) return undefined;
    throw new CliError(`helm history failed: ${res.stderr.trim()}`);
  }
  const list = JSON.parse(res.stdout || "[]") as Array<Record<string, string | number>>;
  const r = list[list.length - 1];
  if (!r) return undefined;
  return {
    name: ctx.settings.release,
    status: String(r.status ?? "unknown"),
    revision: Number(r.revision ?? 0),
    chart: String(r.chart ?? ""),
    appVersion: String(r.app_version ?? ""),
    updated: String(r.updated ?? ""),
  };
}

/** The values the release was installed with (user-supplied only). */
export async function releaseValues(ctx: Ctx): Promise<Record<string, unknown>> {
  const res = await helm(ctx, ["get", "values", ctx.settings.release, "--output", "json"], 60_000);
  if (res.code !== 0) throw new CliError(`helm get values failed: ${res.stderr.trim()}`);
  return (JSON.parse(res.stdout || "{}") ?? {}) as Record<string, unknown>;
}

export interface UpgradeOptions {
  chartDir: string;
  valuesFiles: string[];
  setFiles?: string[];
  timeout: string;
}

export async function upgradeInstall(ctx: Ctx, o: UpgradeOptions) {
  const args = ["upgrade", "--install", ctx.settings.release, o.chartDir, "--create-namespace"];
  for (const f of o.valuesFiles) args.push("--values", f);
  for (const s of o.setFiles ?? []) args.push("--set-file", s);
  args.push("--wait", "--timeout", o.timeout, "--history-max", "10");
  return helm(ctx, args);
}

export async function rollback(ctx: Ctx, revision: number, timeout: string) {
  return helm(ctx, ["rollback", ctx.settings.release, String(revision), "--wait", "--timeout", timeout]);
}
