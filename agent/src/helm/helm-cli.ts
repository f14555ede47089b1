// The pinned helm binary as a child process: explicit flags for Helm 3 and 4, isolated HOME, SIGTERM forwarding.
import { spawn } from "node:child_process";

export type HelmMajor = 3 | 4;

export interface HelmEnv {
  /** path of the pinned helm binary */
  bin: string;
  major: HelmMajor;
  /** kubeconfig for helm; undefined in a pod (helm then uses the service account) */
  kubeconfig?: string;
  /** a writable directory for HOME / XDG dirs (the root filesystem is read-only in the pod) */
  stateDir: string;
}

export interface HelmRunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class HelmError extends Error {
  readonly result: HelmRunResult;
  readonly args: string[];
  constructor(args: string[], result: HelmRunResult) {
    const why = result.stderr.trim() || result.stdout.trim() || `exit ${result.code ?? result.signal}`;
    super(`helm ${args[0] ?? ""} failed: ${why}`);
    this.name = "HelmError";
    this.args = args;
    this.result = result;
  }
}

/** Reads the binary's major version once (`helm version --template`), so flags can be chosen per version. */
export async function detectHelm(bin: string, stateDir: string, kubeconfig?: string): Promise<HelmEnv> {
  const probe: HelmEnv = { bin, major: 3, stateDir, kubeconfig };
  const r = await runHelm(probe, ["version", "--template", "{{.Version}}"]);
  const m = /^v(\d+)\./.exec(r.stdout.trim());
  if (!m) throw new Error(`cannot read the helm version from ${JSON.stringify(r.stdout)}`);
  const major = Number(m[1]);
  if (major !== 3 && major !== 4) throw new Error(`unsupported helm major version ${major}`);
  return { ...probe, major };
}

export interface UpgradeOptions {
  release: string;
  namespace: string;
  chartPath: string;
  valuesFile: string;
  timeoutSeconds: number;
  historyMax: number;
  /** explicit server-side apply choice; on Helm 3 only `false` is possible */
  serverSide: boolean;
  wait: boolean;
  labels?: Record<string, string>;
  description?: string;
}

/**
 * Every flag that changes behaviour between Helm 3 and Helm 4 is passed explicitly, never inherited:
 * Helm 4 would default to server-side apply on install, `auto` on upgrade, and `--wait=hookOnly`.
 * On Helm 4 we wait with `legacy` so both versions use the same readiness rules; our own health gate follows.
 */
export function upgradeArgs(major: HelmMajor, o: UpgradeOptions): string[] {
  const args = [
    "upgrade",
    o.release,
    o.chartPath,
    "--install",
    "--namespace",
    o.namespace,
    "--values",
    o.valuesFile,
    "--reset-values",
    "--timeout",
    `${o.timeoutSeconds}s`,
    "--history-max",
    String(o.historyMax),
    "--output",
    "json",
  ];
  args.push(...waitArgs(major, o.wait));
  if (major === 4) args.push(`--server-side=${o.serverSide ? "true" : "false"}`);
  else if (o.serverSide) throw new Error("server-side apply needs Helm 4");
  if (o.labels && Object.keys(o.labels).length > 0) {
    args.push(
      "--labels",
      Object.entries(o.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
    );
  }
  if (o.description) args.push("--description", o.description);
  return args;
}

export interface RollbackOptions {
  release: string;
  namespace: string;
  /** 0 = the previous revision */
  revision: number;
  timeoutSeconds: number;
  historyMax: number;
  serverSide: boolean;
  wait: boolean;
}

export function rollbackArgs(major: HelmMajor, o: RollbackOptions): string[] {
  const args = [
    "rollback",
    o.release,
    String(o.revision),
    "--namespace",
    o.namespace,
    "--timeout",
    `${o.timeoutSeconds}s`,
    "--history-max",
    String(o.historyMax),
  ];
  args.push(...waitArgs(major, o.wait));
  if (major === 4) args.push(`--server-side=${o.serverSide ? "true" : "false"}`);
  return args;
}

function waitArgs(major: HelmMajor, wait: boolean): string[] {
  if (major === 3) return wait ? ["--wait"] : [];
  return [`--wait=${wait ? "legacy" : "hookOnly"}`];
}

export function uninstallArgs(major: HelmMajor, release: string, namespace: string, timeoutSeconds: number): string[] {
  const args = ["uninstall", release, "--namespace", namespace, "--timeout", `${timeoutSeconds}s`];
  if (major === 4) args.push("--wait=hookOnly");
  return args;
}

export interface HelmRevision {
  revision: number;
  updated: string;
  status: string;
  chart: string;
  app_version: string;
  description: string;
}

export async function helmHistory(env: HelmEnv, release: string, namespace: string, max = 20): Promise<HelmRevision[]> {
  const args = ["history", release, "--namespace", namespace, "--max", String(max), "--output", "json"];
  const r = await runHelm(env, args);
  if (r.code !== 0) {
    if (/release: not found/i.test(r.stderr)) return [];
    throw new HelmError(args, r);
  }
  const list = JSON.parse(r.stdout || "[]") as HelmRevision[];
  return list.sort((a, b) => a.revision - b.revision);
}

export async function helmStatus(
  env: HelmEnv,
  release: string,
  namespace: string,
): Promise<Record<string, unknown> | null> {
  const args = ["status", release, "--namespace", namespace, "--output", "json"];
  const r = await runHelm(env, args);
  if (r.code !== 0) {
    if (/release: not found/i.test(r.stderr)) return null;
    throw new HelmError(args, r);
  }
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

export async function helmGetValues(
  env: HelmEnv,
  release: string,
  namespace: string,
  all = false,
): Promise<Record<string, unknown> | null> {
  const args = ["get", "values", release, "--namespace", namespace, "--output", "json"];
  if (all) args.push("--all");
  const r = await runHelm(env, args);
  if (r.code !== 0) {
    if (/release: not found/i.test(r.stderr)) return null;
    throw new HelmError(args, r);
  }
  return (JSON.parse(r.stdout || "null") as Record<string, unknown> | null) ?? {};
}

export interface RunOptions {
  signal?: AbortSignal;
  /** called with the child's pid as soon as it runs (recorded in the Lease so a successor can tell it is alive) */
  onSpawn?: (pid: number) => void;
  /** called when that child has exited */
  onExit?: (pid: number) => void;
  /** grace after forwarding SIGTERM before SIGKILL; helm marks the release failed when it gets SIGTERM */
  killGraceMs?: number;
}

/**
 * Runs helm with a private HOME and XDG dirs. An abort forwards SIGTERM to the child (Helm >= 3.7 then marks
 * the release failed instead of leaving it pending) and waits for it to exit.
 */
export function runHelm(env: HelmEnv, args: string[], opts: RunOptions = {}): Promise<HelmRunResult> {
  const full = env.kubeconfig ? [...args, "--kubeconfig", env.kubeconfig] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(env.bin, full, {
      env: helmProcessEnv(env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const cap = 4 * 1024 * 1024;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      if (stdout.length < cap) stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      if (stderr.length < cap) stderr += d;
    });
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), opts.killGraceMs ?? 30_000);
      killTimer.unref();
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.once("spawn", () => {
      if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    });
    child.once("error", (err) => {
      opts.signal?.removeEventListener("abort", onAbort);
      reject(err);
    });
    child.once("close", (code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      if (child.pid !== undefined) opts.onExit?.(child.pid);
      opts.signal?.removeEventListener("abort", onAbort);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function helmProcessEnv(env: HelmEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: env.stateDir,
    XDG_CACHE_HOME: `${env.stateDir}/cache`,
    XDG_CONFIG_HOME: `${env.stateDir}/config`,
    XDG_DATA_HOME: `${env.stateDir}/data`,
    HELM_CACHE_HOME: `${env.stateDir}/cache/helm`,
    HELM_CONFIG_HOME: `${env.stateDir}/config/helm`,
    HELM_DATA_HOME: `${env.stateDir}/data/helm`,
    HELM_DRIVER: "secret",
  };
  // In a pod helm finds the API through the service account and these two variables.
  for (const k of ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "HTTPS_PROXY", "NO_PROXY", "HTTP_PROXY"]) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
