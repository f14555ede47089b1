// An in-memory ClusterPort: a simulated cluster with facts, telemetry that moves over time, an apply that succeeds
// or fails as configured, and a few commands. For tests and benchmarks that run many agents in one process.
import type {
  ApplyProgress,
  ApplyResult,
  ClusterFacts,
  ClusterPort,
  CommandContext,
  DesiredState,
} from "./cluster-port.ts";
import { deliverBundle } from "./support/bundle.ts";

export interface SimClusterOptions {
  facts?: Partial<ClusterFacts>;
  /** how long apply takes (ms) */
  applyDelayMs?: number;
  /** generations whose apply fails */
  failGenerations?: number[];
  /** release ids whose apply fails */
  failReleases?: string[];
  /** with failures: report "rolled-back" instead of "failed" */
  rollBackOnFailure?: boolean;
  /** any other rule: return an error message to fail the apply */
  failWhen?: (desired: DesiredState) => string | undefined;
  /** the support bundle's upload to the cloud (the agent's cloudFetch, with its JWT) */
  cloudFetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** extra or replacement command handlers */
  commands?: Record<string, (args: Record<string, unknown>, ctx: CommandContext) => Promise<unknown>>;
  /** deterministic telemetry */
  seed?: number;
  now?: () => number;
}

export interface SimExecution {
  type: string;
  args: Record<string, unknown>;
  at: number;
  outcome?: "succeeded" | "failed";
}

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error("aborted"));
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Error("aborted"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** The one pod of a simulated release (support actions name it). */
export const SIM_POD = "camel-runner-0";

export class SimCluster implements ClusterPort {
  readonly options: SimClusterOptions;
  /** every command run, in order (tests assert exactly-once with it) */
  readonly executions: SimExecution[] = [];
  /** every apply, in order */
  readonly applies: Array<{ generation: number; releaseId?: string; outcome: ApplyResult["outcome"] }> = [];
  release: DesiredState["release"] = null;
  revision = 0;
  private rng: number;
  private readonly now: () => number;
  private readonly startedAt: number;
  private exchanges = 0;
  private failed = 0;

  constructor(options: SimClusterOptions = {}) {
    this.options = options;
    this.rng = options.seed ?? 0x9e3779b9;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  private random(): number {
    // xorshift32: cheap and deterministic per seed
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng / 0x1_0000_0000;
  }

  async facts(): Promise<ClusterFacts> {
    return {
      kubernetesVersion: "v1.31.4+k3s1",
      distribution: "k3s",
      nodeCount: 1,
      namespace: "camel-ops",
      mode: "appliance",
      ...this.options.facts,
    };
  }

  async telemetry(): Promise<Record<string, unknown>> {
    this.exchanges += Math.floor(this.random() * 100);
    if (this.random() < 0.1) this.failed += 1;
    return {
      camel: {
        exchangesTotal: this.exchanges,
        exchangesFailedTotal: this.failed,
        exchangesInflight: Math.floor(this.random() * 10),
        routesRunning: this.release ? 3 : 0,
      },
      node: { cpuCores: 4, memoryUsedBytes: 2_000_000_000 + Math.floor(this.random() * 1e8) },
      uptimeSeconds: Math.floor((this.now() - this.startedAt) / 1000),
      release: { revision: this.revision },
    };
  }

  async apply(
    desired: DesiredState,
    onProgress: (p: ApplyProgress) => void,
    signal: AbortSignal,
  ): Promise<ApplyResult> {
    onProgress({ phase: "upgrading" });
    if (this.options.applyDelayMs) await abortable(this.options.applyDelayMs, signal);
    const o = this.options;
    const reason =
      (o.failGenerations?.includes(desired.generation) && `generation ${desired.generation} is set to fail`) ||
      (desired.release &&
        o.failReleases?.includes(desired.release.id) &&
        `release ${desired.release.id} is set to fail`) ||
      o.failWhen?.(desired);
    if (reason) {
      const outcome = o.rollBackOnFailure ? "rolled-back" : "failed";
      this.applies.push({ generation: desired.generation, releaseId: desired.release?.id, outcome });
      return {
        generation: desired.generation,
        outcome,
        chartVersion: desired.release?.chartVersion,
        evidence: {
          helmError: `simulated: ${reason}`,
          failingResources: [{ kind: "Deployment", name: "camel-runner", reason: "ProgressDeadlineExceeded" }],
        },
        message: reason,
      };
    }
    this.release = desired.release;
    this.revision++;
    this.applies.push({ generation: desired.generation, releaseId: desired.release?.id, outcome: "healthy" });
    return {
      generation: desired.generation,
      outcome: "healthy",
      revision: this.revision,
      chartVersion: desired.release?.chartVersion,
      message: "simulated upgrade healthy",
    };
  }

  async runCommand(type: string, args: Record<string, unknown>, ctx: CommandContext): Promise<unknown> {
    const exec: SimExecution = { type, args, at: this.now() };
    this.executions.push(exec);
    try {
      const custom = this.options.commands?.[type];
      const result = custom ? await custom(args, ctx) : await this.builtin(type, args, ctx);
      exec.outcome = "succeeded";
      return result;
    } catch (err) {
      exec.outcome = "failed";
      throw err;
    }
  }

  /** A small bundle, uploaded like the real agent's (gzip JSON, its sha256 in a header) when the cloud gave a URL. */
  private async bundle(args: Record<string, unknown>, ctx: CommandContext): Promise<unknown> {
    const content = {
      kind: "camel-ops-support-bundle",
      createdAt: new Date(this.now()).toISOString(),
      namespace: this.options.facts?.namespace ?? "camel-ops",
      release: "camel",
      workloads: await this.builtin("support.workloads", {}, ctx),
      logs: { [SIM_POD]: ((await this.logs({ pod: SIM_POD, tailLines: 20 }, ctx)) as { lines: string }).lines },
    };
    const cloudFetch = this.options.cloudFetch;
    // without the agent's cloudFetch the bundle rides in the result, as the real agent's does without an upload URL
    const uploadUrl = cloudFetch && typeof args.uploadUrl === "string" ? args.uploadUrl : undefined;
    return deliverBundle(content, {
      uploadUrl,
      fetch: (url, init) => (cloudFetch ?? fetch)(String(url), init ?? {}),
      signal: ctx.signal,
    });
  }

  /** A Camel runtime's log: the tail, or with `follow` a line every 100 ms through the stream until stopped. */
  private async logs(args: Record<string, unknown>, ctx: CommandContext): Promise<unknown> {
    const pod = String(args.pod ?? "");
    if (pod !== SIM_POD) throw new Error(`Kubernetes API get pods: HTTP 404: pods "${pod}" not found`);
    const line = (i: number) => `${new Date(this.now()).toISOString()} INFO route${i % 3} exchange ${i} completed\n`;
    if (args.follow !== true) {
      const n = Math.min(Number(args.tailLines ?? 20), 1000);
      return { pod, container: "camel", lines: Array.from({ length: n }, (_, i) => line(i)).join("") };
    }
    if (!ctx.emit) throw new Error("support.logs with follow needs a stream");
    const until = Date.now() + Number(args.maxSeconds ?? 300) * 1000;
    let lines = 0;
    let ended = "time limit";
    try {
      while (Date.now() < until) {
        await ctx.emit(line(lines));
        lines++;
        await abortable(100, ctx.signal);
      }
    } catch {
      ended = typeof ctx.signal.reason === "string" ? ctx.signal.reason : "cancelled";
    }
    return { pod, container: "camel", followed: true, ended, lines };
  }

  private async builtin(type: string, args: Record<string, unknown>, ctx: CommandContext): Promise<unknown> {
    switch (type) {
      case "echo":
        if (typeof args.delayMs === "number") await abortable(args.delayMs, ctx.signal);
        return { echo: args };
      case "sleep":
        await abortable(Number(args.ms ?? 0), ctx.signal);
        return { slept: Number(args.ms ?? 0) };
      case "fail":
        throw new Error(String(args.message ?? "simulated failure"));
      case "collect-logs": {
        const lines = Math.min(Number(args.lines ?? 20), 1000);
        return {
          workload: args.workload ?? "camel-runner",
          lines: Array.from(
            { length: lines },
            (_, i) => `${new Date(this.now()).toISOString()} INFO route${i % 3} exchange ${i}`,
          ),
        };
      }
      case "helm-status":
        return {
          release: this.release?.id ?? null,
          revision: this.revision,
          status: this.release ? "deployed" : "none",
        };
      case "list-workloads":
        return { workloads: [{ kind: "Deployment", name: "camel-runner", ready: this.release ? "1/1" : "0/0" }] };
      // the allow-listed support actions, with the shapes the real agent answers (agent/src/support/handlers.ts)
      case "support.workloads":
        return {
          namespace: this.options.facts?.namespace ?? "camel-ops",
          deployments: [{ name: "camel-runner", desired: 1, ready: this.release ? 1 : 0 }],
          statefulSets: [],
          pods: this.release ? [{ name: SIM_POD, phase: "Running", ready: true, restarts: 0 }] : [],
        };
      case "support.events":
        return { namespace: this.options.facts?.namespace ?? "camel-ops", events: [] };
      case "support.helm-status":
        return { release: "camel", found: !!this.release, revision: this.revision, status: "deployed" };
      case "support.helm-history":
        return { release: "camel", history: [] };
      case "support.helm-values":
        return { release: "camel", values: {} };
      case "support.logs":
        return this.logs(args, ctx);
      case "support.bundle":
        return this.bundle(args, ctx);
      default:
        throw new Error(`unknown command ${type}`);
    }
  }
}

export function createSimCluster(options?: SimClusterOptions): SimCluster {
  return new SimCluster(options);
}
