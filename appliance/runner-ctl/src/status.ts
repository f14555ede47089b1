// status: one view of the appliance for someone who does not know Kubernetes.
import { X509Certificate } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statfsSync } from "node:fs";
import { join } from "node:path";
import type { Ctx } from "./context.ts";
import { run } from "./exec.ts";
import { releaseStatus } from "./helm.ts";
import { INTEGRATION_LABEL, Kube, nodePressure, nodeReady, workloadReady } from "./kube.ts";
import { daysLeft, installedLicense } from "./license.ts";

export interface IntegrationStatus {
  name: string;
  ready: number;
  desired: number;
  state: "running" | "starting" | "stopped" | "failing";
  exchanges: number | null;
  failed: number | null;
}

export interface Status {
  overall: "ok" | "degraded" | "down";
  problems: string[];
  nodes: Array<{ name: string; ready: boolean; pressure: string[]; version: string }>;
  service: { name: string; state: string };
  release: { status: string; revision: number; chart: string; appVersion: string } | null;
  integrations: IntegrationStatus[];
  cloudLink: { state: string; detail?: string };
  license: { valid: boolean; expires?: string; daysLeft?: number; customer?: string; error?: string } | null;
  certificates: { expires: string; daysLeft: number; file: string } | null;
  disk: { path: string; sizeBytes: number; freeBytes: number; usedPercent: number } | null;
  bundleVersion: string;
}

export async function serviceState(ctx: Ctx): Promise<string> {
  const { init, service } = ctx.settings;
  if (init === "systemd") {
    const r = await run("systemctl", ["is-active", service], { env: ctx.env, timeoutMs: 10_000 });
    return r.code === 127 ? "unknown" : r.stdout.trim() || (r.code === 0 ? "active" : "inactive");
  }
  if (init === "openrc") {
    const r = await run("rc-service", [service, "status"], { env: ctx.env, timeoutMs: 10_000 });
    return r.code === 0 ? "active" : r.code === 127 ? "unknown" : "inactive";
  }
  return "unknown";
}

export function diskUsage(path: string): Status["disk"] {
  let p = path;
  while (!existsSync(p) && p !== "/" && p.includes("/")) p = p.slice(0, p.lastIndexOf("/")) || "/";
  try {
    const s = statfsSync(p);
    const size = s.blocks * s.bsize;
    const free = s.bavail * s.bsize;
    return {
      path,
      sizeBytes: size,
      freeBytes: free,
      usedPercent: size ? Math.round(((size - s.bfree * s.bsize) / size) * 100) : 0,
    };
  } catch {
    return null;
  }
}

/** The soonest-expiring K3s certificate (they last a year and renew only on a restart in the last 90 days). */
export function certificateExpiry(ctx: Ctx): Status["certificates"] {
  const dirs = [join(ctx.paths.k3sData, "server", "tls"), join(ctx.paths.k3sData, "agent")];
  let soonest: Status["certificates"] = null;
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      if (!f.endsWith(".crt")) continue;
      try {
        const cert = new X509Certificate(readFileSync(join(dir, f)));
        if (cert.ca) continue;
        const exp = new Date(cert.validTo);
        const days = Math.floor((exp.getTime() - Date.now()) / 86_400_000);
        if (!soonest || days < soonest.daysLeft) soonest = { expires: exp.toISOString(), daysLeft: days, file: f };
      } catch {
        // not a certificate
      }
    }
  }
  return soonest;
}

async function fetchJson(url: string, timeoutMs = 3000): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return await res.json();
}

/** Finds a Service of the release by component label; its ClusterIP is reachable from the hub itself. */
async function serviceUrl(kube: Kube, component: string, port: number): Promise<string | undefined> {
  const list = await kube.core.listNamespacedService({
    namespace: kube.namespace,
    labelSelector: `app.kubernetes.io/component=${component}`,
  });
  const ip = list.items[0]?.spec?.clusterIP;
  return ip && ip !== "None" ? `http://${ip}:${port}` : undefined;
}

async function camelCounters(url: string, metric: string): Promise<Map<string, number>> {
  const q = encodeURIComponent(`sum by (integration) (${metric})`);
  const body = (await fetchJson(`${url}/api/v1/query?query=${q}`)) as {
    data?: { result?: Array<{ metric?: Record<string, string>; value?: [number, string] }> };
  };
  const out = new Map<string, number>();
  for (const r of body.data?.result ?? []) {
    const name = r.metric?.integration;
    if (name) out.set(name, Math.round(Number(r.value?.[1] ?? 0)));
  }
  return out;
}

export async function collectStatus(ctx: Ctx): Promise<Status> {
  const problems: string[] = [];
  const s: Status = {
    overall: "ok",
    problems,
    nodes: [],
    service: { name: ctx.settings.service, state: await serviceState(ctx) },
    release: null,
    integrations: [],
    cloudLink: { state: "unknown" },
    license: null,
    certificates: certificateExpiry(ctx),
    disk: diskUsage(ctx.paths.storageDir),
    bundleVersion: ctx.settings.bundleVersion,
  };
  if (s.service.state !== "active" && s.service.state !== "unknown") {
    problems.push(`the ${s.service.name} service is ${s.service.state}`);
  }
  let kube: Kube | undefined;
  try {
    kube = new Kube(ctx);
    for (const n of await kube.nodes()) {
      const ready = nodeReady(n);
      const pressure = nodePressure(n);
      const name = n.metadata?.name ?? "?";
      s.nodes.push({ name, ready, pressure, version: n.status?.nodeInfo?.kubeletVersion ?? "" });
      if (!ready) problems.push(`machine ${name} is not ready`);
      for (const p of pressure) problems.push(`machine ${name} reports ${p}`);
    }
  } catch (e) {
    problems.push(`cannot reach the cluster: ${(e as Error).message}`);
    kube = undefined;
  }
  try {
    const r = await releaseStatus(ctx);
    if (r) s.release = { status: r.status, revision: r.revision, chart: r.chart, appVersion: r.appVersion };
    if (!r) problems.push("the runner is not installed");
    else if (r.status !== "deployed") problems.push(`the runner release is ${r.status}`);
  } catch (e) {
    problems.push((e as Error).message);
  }
  if (kube) {
    try {
      const deployments = await kube.deployments(INTEGRATION_LABEL);
      let exchanges = new Map<string, number>();
      let failed = new Map<string, number>();
      try {
        const url = ctx.metricsUrl ?? (await serviceUrl(kube, "victoriametrics", 8428));
        if (url) {
          exchanges = await camelCounters(url, "camel_exchanges_total");
          failed = await camelCounters(url, "camel_exchanges_failed_total");
        }
      } catch {
        // metrics are optional in status: counts show as "-"
      }
      for (const d of deployments) {
        const name = d.metadata?.labels?.[INTEGRATION_LABEL] ?? d.metadata?.name ?? "?";
        const { ready, desired } = workloadReady(d);
        const pods = await kube.integrationPods(name);
        const crashing = pods.some((p) =>
          (p.status?.containerStatuses ?? []).some((c) =>
            ["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull"].includes(c.state?.waiting?.reason ?? ""),
          ),
        );
        const state = desired === 0 ? "stopped" : crashing ? "failing" : ready >= desired ? "running" : "starting";
        s.integrations.push({
          name,
          ready,
          desired,
          state,
          exchanges: exchanges.get(name) ?? null,
          failed: failed.get(name) ?? null,
        });
        if (state === "failing") problems.push(`integration ${name} is failing to start`);
      }
      s.integrations.sort((a, b) => a.name.localeCompare(b.name));
    } catch (e) {
      problems.push(`cannot list the integrations: ${(e as Error).message}`);
    }
    try {
      const url = ctx.agentUrl ?? (await serviceUrl(kube, "agent", 8080));
      if (url) {
        // /linkz answers 503 with a JSON body while the tunnel is down: read the body either way
        const res = await fetch(`${url}/linkz`, { signal: AbortSignal.timeout(3000) });
        const link = (await res.json().catch(() => ({ state: res.ok ? "connected" : "disconnected" }))) as Record<
          string,
          unknown
        >;
        const connected = link.connected === true || link.state === "connected";
        s.cloudLink = { state: connected ? "connected" : String(link.state ?? "disconnected") };
        if (typeof link.detail === "string") s.cloudLink.detail = link.detail;
        if (!connected) problems.push("not connected to the vendor's cloud");
      }
    } catch {
      s.cloudLink = { state: "unknown", detail: "the agent did not answer" };
    }
  }
  if (ctx.settings.role === "hub") {
    const lic = await installedLicense(ctx);
    if (lic?.claims) {
      const days = daysLeft(lic.claims);
      s.license = {
        valid: true,
        expires: new Date(lic.claims.exp * 1000).toISOString(),
        daysLeft: days,
        customer: lic.claims.customer.name,
      };
      if (days < 30) problems.push(`the license expires in ${days} days`);
    } else if (lic) {
      s.license = { valid: false, error: lic.error };
      problems.push(`the license does not verify: ${lic.error}`);
    }
  }
  if (s.certificates && s.certificates.daysLeft < 30) {
    problems.push(`cluster certificates expire in ${s.certificates.daysLeft} days: restart K3s to renew them`);
  }
  if (s.disk && s.disk.usedPercent >= 85) problems.push(`the disk is ${s.disk.usedPercent}% full`);
  const down = s.nodes.length === 0 || s.nodes.every((n) => !n.ready) || !s.release;
  s.overall = down ? "down" : problems.length ? "degraded" : "ok";
  return s;
}

function gib(n: number): string {
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function renderStatus(s: Status): string {
  const lines: string[] = [];
  lines.push(`Appliance: ${s.overall.toUpperCase()}   (bundle ${s.bundleVersion})`);
  for (const p of s.problems) lines.push(`  ! ${p}`);
  lines.push("");
  const rows: string[][] = [["ITEM", "STATE", "DETAIL"]];
  for (const n of s.nodes) {
    rows.push([
      `machine ${n.name}`,
      n.ready ? "ready" : "NOT READY",
      [n.version, ...n.pressure].filter(Boolean).join(" "),
    ]);
  }
  rows.push([`service ${s.service.name}`, s.service.state, ""]);
  rows.push([
    "runner release",
    s.release?.status ?? "not installed",
    s.release ? `${s.release.chart}, revision ${s.release.revision}` : "",
  ]);
  rows.push(["cloud link", s.cloudLink.state, s.cloudLink.detail ?? ""]);
  if (s.license) {
    rows.push([
      "license",
      s.license.valid ? "valid" : "INVALID",
      s.license.valid
        ? `${s.license.customer}, until ${s.license.expires?.slice(0, 10)} (${s.license.daysLeft} days)`
        : (s.license.error ?? ""),
    ]);
  }
  if (s.certificates) {
    rows.push([
      "certificates",
      s.certificates.daysLeft < 30 ? "EXPIRING" : "valid",
      `until ${s.certificates.expires.slice(0, 10)} (${s.certificates.daysLeft} days)`,
    ]);
  }
  if (s.disk) {
    rows.push([
      "disk",
      s.disk.usedPercent >= 85 ? "FULL" : "ok",
      `${gib(s.disk.freeBytes)} free of ${gib(s.disk.sizeBytes)} (${s.disk.usedPercent}% used)`,
    ]);
  }
  lines.push(table(rows));
  lines.push("");
  if (s.integrations.length === 0) {
    lines.push("No integrations are installed.");
  } else {
    const irows: string[][] = [["INTEGRATION", "STATE", "READY", "EXCHANGES", "FAILED"]];
    for (const i of s.integrations) {
      irows.push([
        i.name,
        i.state,
        `${i.ready}/${i.desired}`,
        i.exchanges === null ? "-" : String(i.exchanges),
        i.failed === null ? "-" : String(i.failed),
      ]);
    }
    lines.push(table(irows));
  }
  return `${lines.join("\n")}\n`;
}
