// The agent's durable state: enrollment, executed command ids (never run twice), event seq reservation, desired
// state. A file in STATE_DIR, or memory for tests; the interface allows a ConfigMap later.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { DesiredStateWire } from "../../shared/src/protocol/frames.ts";

export interface ExecutedCommand {
  seq: number;
  status: "running" | "succeeded" | "failed" | "expired";
  result?: unknown;
  error?: string;
  /** the cloud stored the result; the record may be pruned */
  acked?: boolean;
}

export interface AgentState {
  enrollment?: { applianceId: string; tunnelUrl: string; audience: string; cloudUrl: string };
  /** highest command seq received and recorded */
  lastCommandSeq: number;
  /** commands with seq <= floor were pruned after the cloud stored their results; never run them */
  executedFloor: number;
  executed: Record<string, ExecutedCommand>;
  /** event seqs up to this value may have been used; a restarted agent continues above it */
  eventSeqReserved: number;
  desired?: DesiredStateWire;
  observedGeneration: number;
}

export const emptyState = (): AgentState => ({
  lastCommandSeq: 0,
  executedFloor: 0,
  executed: {},
  eventSeqReserved: 0,
  observedGeneration: 0,
});

export interface StateStore {
  load(): Promise<AgentState>;
  save(state: AgentState): Promise<void>;
}

export class MemoryStateStore implements StateStore {
  private json: string | undefined;
  /** how many saves happened (tests) */
  saves = 0;
  constructor(initial?: AgentState) {
    if (initial) this.json = JSON.stringify(initial);
  }
  async load() {
    return this.json ? (JSON.parse(this.json) as AgentState) : emptyState();
  }
  async save(state: AgentState) {
    this.saves++;
    this.json = JSON.stringify(state);
  }
}

/** One JSON file, replaced atomically (write + rename) so a crash never leaves half a state. */
export class FileStateStore implements StateStore {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
  async load() {
    try {
      return { ...emptyState(), ...(JSON.parse(await readFile(this.path, "utf8")) as Partial<AgentState>) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return emptyState();
      throw err;
    }
  }
  async save(state: AgentState) {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(state), { mode: 0o600 });
    await rename(tmp, this.path);
  }
}
