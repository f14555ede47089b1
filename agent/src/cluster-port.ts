// The agent core reaches its cluster only through this interface: a real one (Kubernetes API + helm) or an
// in-memory simulated one, so tests and benchmarks can run thousands of agents in one process.

export interface ClusterFacts {
  kubernetesVersion: string;
  distribution: "k3s" | "kubernetes" | "unknown";
  nodeCount: number;
  namespace: string;
  /** agent-only: the runner chart is not managed by this agent */
  mode: "appliance" | "native" | "agent-only";
}

/** What the cloud wants this appliance to run (one versioned row per appliance in the cloud). */
export interface DesiredState {
  generation: number;
  release: {
    id: string;
    chartVersion: string;
    /** sha256 of the chart archive, hex; the chart is refused when it does not match */
    chartDigest: string;
    /** where the agent downloads the chart archive (cloud URL, authenticated by the agent's JWT) */
    chartUrl: string;
  } | null;
  /** full values for `helm upgrade` (never --reuse-values) and their sha256 digest */
  values: Record<string, unknown>;
  valuesDigest: string;
}

export interface ApplyProgress {
  phase: "fetching" | "verifying" | "waiting-lock" | "upgrading" | "health-check" | "rolling-back";
  message?: string;
}

export interface ApplyResult {
  generation: number;
  outcome: "healthy" | "failed" | "rolled-back";
  revision?: number;
  chartVersion?: string;
  /** Helm error text, failing resources, events: what an operator needs to see why */
  evidence?: { helmError?: string; failingResources?: Array<{ kind: string; name: string; reason: string }> };
  message: string;
}

export interface CommandContext {
  signal: AbortSignal;
  /** sends a chunk of a stream (log follow) subject to flow control; resolves when credit allows */
  emit?(chunk: string): Promise<void>;
}

export interface ClusterPort {
  facts(): Promise<ClusterFacts>;
  /** A full telemetry snapshot (JSON-serialisable); the agent sends diffs between snapshots. */
  telemetry(): Promise<Record<string, unknown>>;
  apply(desired: DesiredState, onProgress: (p: ApplyProgress) => void, signal: AbortSignal): Promise<ApplyResult>;
  /** Runs one allow-listed command (`type` from the shared protocol); returns a JSON-serialisable result. */
  runCommand(type: string, args: Record<string, unknown>, ctx: CommandContext): Promise<unknown>;
}
