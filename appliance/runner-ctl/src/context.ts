// Where runner-ctl finds things: the appliance's paths (under RUNNER_ROOT in tests), its settings file
// (/etc/camel-runner/runner.conf, written by install.sh) and the environment's overrides.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export interface Paths {
  root: string;
  confDir: string;
  secretsDir: string;
  stateDir: string;
  libDir: string;
  binDir: string;
  k3sEtc: string;
  k3sData: string;
  runnerConf: string;
  storageDir: string;
  backupsDir: string;
  kubeconfig: string;
}

export interface Settings {
  role: "hub" | "worker";
  nodeName: string;
  namespace: string;
  release: string;
  chartDir: string;
  helm: string;
  bundleVersion: string;
  httpsProxy: string;
  noProxy: string;
  caFile: string;
  /** "systemd" | "openrc" | "none": how the K3s service is driven. */
  init: string;
  service: string;
}

export interface Ctx {
  env: NodeJS.ProcessEnv;
  io: Io;
  paths: Paths;
  settings: Settings;
  /** Overrides for tests and unusual hosts: a metrics query URL and the agent's status URL. */
  metricsUrl?: string;
  agentUrl?: string;
}

/** Parses the KEY=value lines of runner.conf (comments and blank lines ignored; the last value wins). */
export function parseConf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m?.[1]) out.set(m[1], m[2] ?? "");
  }
  return out;
}

export function makeCtx(env: NodeJS.ProcessEnv, io: Io): Ctx {
  const root = (env.RUNNER_ROOT ?? "").replace(/\/$/, "");
  const r = (p: string) => root + p;
  const confDir = r("/etc/camel-runner");
  const runnerConf = join(confDir, "runner.conf");
  const conf = existsSync(runnerConf) ? parseConf(readFileSync(runnerConf, "utf8")) : new Map<string, string>();
  const c = (k: string, d: string) => {
    const v = conf.get(k);
    return v === undefined || v === "" ? d : v;
  };
  const stateDir = r("/var/lib/camel-runner");
  const paths: Paths = {
    root,
    confDir,
    secretsDir: join(confDir, "secrets"),
    stateDir,
    libDir: r("/usr/local/lib/camel-runner"),
    binDir: r("/usr/local/bin"),
    k3sEtc: r("/etc/rancher/k3s"),
    k3sData: r("/var/lib/rancher/k3s"),
    runnerConf,
    storageDir: env.RUNNER_STORAGE_DIR ?? r(c("STORAGE_DIR", "/var/lib/rancher/k3s/storage")),
    backupsDir: env.RUNNER_BACKUP_DIR ?? join(stateDir, "backups"),
    kubeconfig: env.RUNNER_KUBECONFIG ?? r(c("KUBECONFIG", "/etc/rancher/k3s/k3s.yaml")),
  };
  const role = c("ROLE", "hub") === "worker" ? "worker" : "hub";
  const init = existsSync(r("/sbin/openrc-run")) ? "openrc" : existsSync(r("/run/systemd/system")) ? "systemd" : "none";
  const settings: Settings = {
    role,
    nodeName: c("NODE_NAME", role === "hub" ? "hub" : ""),
    namespace: env.RUNNER_NAMESPACE ?? c("NAMESPACE", "camel-runner"),
    release: env.RUNNER_RELEASE ?? c("RELEASE", "runner"),
    chartDir: env.RUNNER_CHART ?? r(c("CHART", "/usr/local/lib/camel-runner/charts/runner")),
    helm: env.RUNNER_HELM ?? r(c("HELM", "/usr/local/bin/helm")),
    bundleVersion: c("BUNDLE_VERSION", "unknown"),
    httpsProxy: c("HTTPS_PROXY", ""),
    noProxy: c("NO_PROXY", ""),
    caFile: conf.get("CA_FILE") ? r(conf.get("CA_FILE") as string) : "",
    init,
    service: role === "hub" ? "k3s" : "k3s-agent",
  };
  return { env, io, paths, settings, metricsUrl: env.RUNNER_METRICS_URL, agentUrl: env.RUNNER_AGENT_URL };
}

/** An error whose message is meant for the administrator; exit code 1 unless said otherwise. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = "UsageError";
  }
}
