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

/** The release as `helm list` sees it, or undefined when it is not installed. */
export async function releaseStatus(ctx: Ctx): Promise<ReleaseStatus | undefined> {
  const res = await helm(ctx, ["list", "--all", "--output", "json", "--filter", `^${ctx.settings.release}$`], 60_000);
  if (res.code !== 0) throw new CliError(`helm list failed: ${res.stderr.trim()}`);
  const list = JSON.parse(res.stdout || "[]") as Array<Record<string, string>>;
  const r = list.find((x) => x.name === ctx.settings.release);
  if (!r) return undefined;
  const chart = r.chart ?? "";
  return {
    name: r.name ?? "",
    status: r.status ?? "unknown",
    revision: Number(r.revision ?? 0),
    chart,
    appVersion: r.app_version ?? "",
    updated: r.updated ?? "",
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
