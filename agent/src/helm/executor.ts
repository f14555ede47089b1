// The Helm executor: verified chart, one writer (Lease), pending recovery, explicit upgrade, health gate, and
// rollback by itself with evidence when health does not come within the deadline.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { KubeApps, KubeCoord, KubeCore } from "../cluster/kube.ts";
import type { ApplyProgress, ApplyResult, DesiredState } from "../cluster-port.ts";
import { ChartDigestError, type ChartFetch, fetchVerifiedChart } from "./chart-source.ts";
import { type CamelEndpoint, type FailingResource, recentWarnings, waitHealthy } from "./health-gate.ts";
import {
  type HelmEnv,
  type HelmRevision,
  helmHistory,
  type RunOptions,
  rollbackArgs,
  runHelm,
  upgradeArgs,
} from "./helm-cli.ts";
import { HelmLease, LEASE_ANNOTATIONS } from "./helm-lease.ts";
import { lastGoodRevision, recoverPending } from "./pending-recovery.ts";

export interface ExecutorOptions {
  helm: HelmEnv;
  core: KubeCore;
  apps: KubeApps;
  coord: KubeCoord;
  namespace: string;
  release: string;
  leaseName: string;
  /** this replica's identity in the Lease (pod name) */
  identity: string;
  /** writable directory for charts and values files */
  workDir: string;
  fetch: ChartFetch;
  logger: Logger;
  /** helm --timeout and the health-gate deadline, in seconds (one deadline for upgrade + health) */
  timeoutSeconds?: number;
  historyMax?: number;
  /** explicit server-side apply (Helm 4 only); false keeps Helm 3 and Helm 4 on the same client-side apply */
  serverSide?: boolean;
  leaseDurationSeconds?: number;
  camel?: CamelEndpoint;
  healthPollMs?: number;
  now?: () => number;
  /** observes every helm child that changes the release (pid, args) as it starts and exits */
  onHelmSpawn?: (pid: number, args: string[]) => void;
  onHelmExit?: (pid: number) => void;
}

export class HelmExecutor {
  readonly o: ExecutorOptions & { timeoutSeconds: number; historyMax: number; serverSide: boolean };
  readonly lease: HelmLease;
  private running: Promise<ApplyResult> | null = null;

  constructor(o: ExecutorOptions) {
    this.o = {
      ...o,
      timeoutSeconds: o.timeoutSeconds ?? 300,
      historyMax: o.historyMax ?? 10,
      serverSide: o.serverSide ?? false,
    };
    this.lease = new HelmLease({
      coord: o.coord,
      namespace: o.namespace,
      name: o.leaseName,
      identity: o.identity,
      durationSeconds: o.leaseDurationSeconds ?? 30,
      now: o.now,
    });
  }

  /** Single flight inside one process too: a second apply waits for the first. */
  async apply(
    desired: DesiredState,
    onProgress: (p: ApplyProgress) => void,
    signal: AbortSignal,
  ): Promise<ApplyResult> {
    while (this.running) await this.running.catch(() => undefined);
    const p = this.applyOnce(desired, onProgress, signal);
    this.running = p;
    try {
      return await p;
    } finally {
      if (this.running === p) this.running = null;
    }
  }

  private async applyOnce(
    desired: DesiredState,
    onProgress: (p: ApplyProgress) => void,
    signal: AbortSignal,
  ): Promise<ApplyResult> {
    const { generation, release } = desired;
    const log = this.o.logger.child({ generation, release: this.o.release });
    if (!release) return { generation, outcome: "healthy", message: "no release desired; nothing to apply" };
    const started = Date.now();

    const chart = await this.prepareChart(desired, onProgress, signal);
    if (typeof chart !== "string") return chart;
    const chartPath = chart;

    onProgress({ phase: "waiting-lock" });
    try {
      return await this.lease.hold(
        `apply generation ${generation}`,
        signal,
        (ctx) => this.underLease(desired, chartPath, onProgress, ctx, started),
        (holder) => onProgress({ phase: "waiting-lock", message: `held by ${holder}` }),
      );
    } catch (e) {
      log.error({ err: String(e) }, "apply failed");
      return {
        generation,
        outcome: "failed",
        chartVersion: release.chartVersion,
        message: signal.aborted ? `interrupted: ${String(signal.reason ?? e)}` : `apply failed: ${String(e)}`,
        evidence: { helmError: String(e).slice(0, 65_536) },
      };
    }
  }

  /** Fetches and verifies the chart: its local path, or the failure to report (an unverified chart never runs). */
  async prepareChart(
    desired: DesiredState,
    onProgress: (p: ApplyProgress) => void,
    signal: AbortSignal,
  ): Promise<string | ApplyResult> {
    const release = desired.release!;
    onProgress({ phase: "fetching", message: `chart ${release.chartVersion}` });
    try {
      onProgress({ phase: "verifying", message: `sha256:${release.chartDigest}` });
      return await fetchVerifiedChart({
        url: release.chartUrl,
        digest: release.chartDigest,
        cacheDir: join(this.o.workDir, "charts"),
        fetch: this.o.fetch,
        signal,
      });
    } catch (e) {
      const refused = e instanceof ChartDigestError;
      this.o.logger.warn({ err: String(e), refused, generation: desired.generation }, "chart not applied");
      return {
        generation: desired.generation,
        outcome: "failed",
        chartVersion: release.chartVersion,
        message: refused ? `chart refused: ${(e as Error).message}` : `chart fetch failed: ${String(e)}`,
        evidence: { helmError: String((e as Error).message ?? e) },
      };
    }
  }

  private async underLease(
    desired: DesiredState,
    chartPath: string,
    onProgress: (p: ApplyProgress) => void,
    ctx: { signal: AbortSignal; annotate: (a: Record<string, string>) => Promise<void> },
    started: number,
  ): Promise<ApplyResult> {
    const { signal } = ctx;
    const { generation } = desired;
    const release = desired.release!;
    const o = this.o;
    const log = o.logger.child({ generation, release: o.release });
    const deadline = started + o.timeoutSeconds * 1000;
    const run = (args: string[]) => runHelm(o.helm, args, this.runOpts(args, ctx));

    const recovery = await recoverPending({
      helm: o.helm,
      core: o.core,
      release: o.release,
      namespace: o.namespace,
      timeoutSeconds: o.timeoutSeconds,
      historyMax: o.historyMax,
      serverSide: o.serverSide,
      signal,
      onSpawn: (pid) => {
        this.o.onHelmSpawn?.(pid, ["recovery"]);
        this.recordPid(ctx, pid);
      },
      onExit: (pid) => this.o.onHelmExit?.(pid),
    });
    if (recovery.action) log.warn({ recovery }, "recovered a release left pending by an interrupted helm");

    const before = await helmHistory(o.helm, o.release, o.namespace);
    const previous = lastGoodRevision(before, Number.MAX_SAFE_INTEGER);

    const valuesDir = join(o.workDir, "values");
    await mkdir(valuesDir, { recursive: true });
    const valuesFile = join(valuesDir, `values-${generation}.json`);
    // JSON is YAML; full values every time, never --reuse-values.
    await writeFile(valuesFile, JSON.stringify(desired.values), { mode: 0o600 });

    onProgress({
      phase: "upgrading",
      message: `${release.chartVersion} (values ${desired.valuesDigest.slice(0, 12)})`,
    });
    const upArgs = upgradeArgs(o.helm.major, {
      release: o.release,
      namespace: o.namespace,
      chartPath,
      valuesFile,
      timeoutSeconds: Math.max(1, Math.floor((deadline - Date.now()) / 1000)),
      historyMax: o.historyMax,
      serverSide: o.serverSide,
      wait: true,
      labels: { "camel-ops.io/generation": String(generation) },
      description: `camel-ops generation ${generation} release ${release.id} values ${desired.valuesDigest}`,
    });
    const up = await run(upArgs).finally(() => rm(valuesFile, { force: true }));
    if (signal.aborted) {
      return {
        generation,
        outcome: "failed",
        chartVersion: release.chartVersion,
        message: "interrupted; helm was sent SIGTERM and marked the release failed",
        evidence: { helmError: up.stderr.trim().slice(0, 65_536) },
      };
    }

    let helmError: string | undefined;
    let failing: FailingResource[] = [];
    if (up.code !== 0) {
      helmError = up.stderr.trim() || `helm exited ${up.code ?? up.signal}`;
      log.warn({ helmError }, "helm upgrade failed");
    }
    onProgress({ phase: "health-check" });
    const health = await waitHealthy(
      { apps: o.apps, core: o.core, namespace: o.namespace, release: o.release, camel: o.camel },
      helmError ? Date.now() : deadline,
      signal,
      { pollMs: o.healthPollMs },
    );
    const after = await helmHistory(o.helm, o.release, o.namespace);
    const current = after.at(-1);
    if (!helmError && health.healthy && current?.status === "deployed") {
      log.info({ revision: current.revision, ms: Date.now() - started }, "release healthy");
      return {
        generation,
        outcome: "healthy",
        revision: current.revision,
        chartVersion: release.chartVersion,
        message: `revision ${current.revision} healthy (${health.workloads} workloads ready)`,
      };
    }

    failing = [...health.failing, ...(await recentWarnings(o.core, o.namespace, started))].slice(0, 200);
    const evidence = { helmError: helmError?.slice(0, 65_536), failingResources: failing };
    if (!previous) {
      return {
        generation,
        outcome: "failed",
        revision: current?.revision,
        chartVersion: release.chartVersion,
        message: "first install did not become healthy; no previous revision to roll back to",
        evidence,
      };
    }

    onProgress({ phase: "rolling-back", message: `to revision ${previous.revision}` });
    const back = await this.rollbackTo(previous, ctx);
    if (!back.ok) {
      return {
        generation,
        outcome: "failed",
        revision: current?.revision,
        chartVersion: release.chartVersion,
        message: `upgrade failed and the rollback to revision ${previous.revision} failed too: ${back.error}`,
        evidence,
      };
    }
    const final = (await helmHistory(o.helm, o.release, o.namespace)).at(-1);
    return {
      generation,
      outcome: "rolled-back",
      revision: final?.revision,
      chartVersion: previous.chart.replace(/^.*-(\d+\.\d+\.\d+.*)$/, "$1"),
      message: `${helmError ? "helm upgrade failed" : "release not healthy before the deadline"}; rolled back to revision ${previous.revision} (now revision ${final?.revision})`,
      evidence,
    };
  }

  private async rollbackTo(
    previous: HelmRevision,
    ctx: { signal: AbortSignal; annotate: (a: Record<string, string>) => Promise<void> },
  ): Promise<{ ok: boolean; error?: string }> {
    const o = this.o;
    const args = rollbackArgs(o.helm.major, {
      release: o.release,
      namespace: o.namespace,
      revision: previous.revision,
      timeoutSeconds: o.timeoutSeconds,
      historyMax: o.historyMax,
      serverSide: o.serverSide,
      wait: true,
    });
    const r = await runHelm(o.helm, args, this.runOpts(args, ctx));
    if (r.code !== 0) return { ok: false, error: r.stderr.trim() };
    const health = await waitHealthy(
      { apps: o.apps, core: o.core, namespace: o.namespace, release: o.release, camel: o.camel },
      Date.now() + o.timeoutSeconds * 1000,
      ctx.signal,
      { pollMs: o.healthPollMs },
    );
    return health.healthy ? { ok: true } : { ok: false, error: "rolled back but not healthy" };
  }

  private runOpts(
    args: string[],
    ctx: { signal: AbortSignal; annotate: (a: Record<string, string>) => Promise<void> },
  ): RunOptions {
    return {
      signal: ctx.signal,
      onSpawn: (pid) => {
        this.o.onHelmSpawn?.(pid, args);
        this.recordPid(ctx, pid);
      },
      onExit: (pid) => this.o.onHelmExit?.(pid),
    };
  }

  private recordPid(ctx: { annotate: (a: Record<string, string>) => Promise<void> }, pid: number) {
    ctx
      .annotate({ [LEASE_ANNOTATIONS.pid]: String(pid), [LEASE_ANNOTATIONS.startedAt]: new Date().toISOString() })
      .catch((e: unknown) => this.o.logger.warn({ err: String(e) }, "could not record the helm pid in the lease"));
  }
}
