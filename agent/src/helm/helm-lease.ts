// One helm writer per release namespace: a coordination.k8s.io Lease taken before helm runs and renewed while
// it runs. The running helm child's pid and start time sit in the Lease, so a successor can tell a live
// operation from a `pending-*` release stranded by a killed process.
import type { V1Lease } from "@kubernetes/client-node";
import type { KubeCoord } from "../cluster/kube.ts";

/** A Lease time: RFC 3339 with microseconds, as the API server expects for MicroTime fields. */
class V1MicroTime extends Date {
  override toISOString(): string {
    return `${super.toISOString().slice(0, -1)}000Z`;
  }
  override toJSON(): string {
    return this.toISOString();
  }
}

export const LEASE_ANNOTATIONS = {
  operation: "camel-ops.io/helm-operation",
  pid: "camel-ops.io/helm-pid",
  startedAt: "camel-ops.io/helm-started-at",
} as const;

export interface LeaseOptions {
  coord: KubeCoord;
  namespace: string;
  name: string;
  identity: string;
  durationSeconds: number;
  now?: () => number;
  /** how often a waiting replica retries */
  retryMs?: number;
}

export class LeaseLostError extends Error {
  constructor(name: string) {
    super(`lost the helm lease ${name}`);
    this.name = "LeaseLostError";
  }
}

export const statusOf = (e: unknown): number | undefined => {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "number" ? code : undefined;
};

const toMs = (t: unknown): number | undefined => {
  if (t === undefined || t === null) return undefined;
  const ms = new Date(t as string | Date).getTime();
  return Number.isNaN(ms) ? undefined : ms;
};

export class HelmLease {
  readonly o: Required<Omit<LeaseOptions, "coord">> & { coord: KubeCoord };
  private held: V1Lease | null = null;

  constructor(o: LeaseOptions) {
    this.o = { ...o, now: o.now ?? Date.now, retryMs: o.retryMs ?? 500 };
  }

  get isHeld(): boolean {
    return this.held !== null;
  }

  /** The current Lease object as the API has it (null when it does not exist). */
  async read(): Promise<V1Lease | null> {
    try {
      return await this.o.coord.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
    } catch (e) {
      if (statusOf(e) === 404) return null;
      throw e;
    }
  }

  /** Whether a Lease names a holder that renewed within its duration. */
  isLive(l: V1Lease | null): boolean {
    if (!l?.spec?.holderIdentity) return false;
    const renewed = toMs(l.spec.renewTime) ?? toMs(l.spec.acquireTime);
    if (renewed === undefined) return false;
    return renewed + (l.spec.leaseDurationSeconds ?? this.o.durationSeconds) * 1000 > this.o.now();
  }

  /** One attempt; the API's optimistic concurrency (resourceVersion) makes two replicas unable to both win. */
  async tryAcquire(operation: string): Promise<boolean> {
    const now = new V1MicroTime(this.o.now());
    const current = await this.read();
    const annotations = {
      [LEASE_ANNOTATIONS.operation]: operation,
      [LEASE_ANNOTATIONS.pid]: "",
      [LEASE_ANNOTATIONS.startedAt]: "",
    };
    try {
      if (!current) {
        this.held = await this.o.coord.createNamespacedLease({
          namespace: this.o.namespace,
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: this.o.name, namespace: this.o.namespace, annotations },
            spec: {
              holderIdentity: this.o.identity,
              leaseDurationSeconds: this.o.durationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      }
      const mine = current.spec?.holderIdentity === this.o.identity;
      if (!mine && this.isLive(current)) return false;
      const body: V1Lease = {
        ...current,
        metadata: { ...current.metadata, annotations: { ...current.metadata?.annotations, ...annotations } },
        spec: {
          ...current.spec,
          holderIdentity: this.o.identity,
          leaseDurationSeconds: this.o.durationSeconds,
          acquireTime: mine ? current.spec?.acquireTime : now,
          renewTime: now,
          leaseTransitions: (current.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1),
        },
      };
      this.held = await this.o.coord.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body });
      return true;
    } catch (e) {
      // 409: another replica created or updated it first
      if (statusOf(e) === 409) return false;
      throw e;
    }
  }

  /** Waits until the Lease is ours, or the signal aborts. */
  async acquire(operation: string, signal: AbortSignal, onWait?: (holder: string) => void): Promise<void> {
    let told = false;
    for (;;) {
      signal.throwIfAborted();
      if (await this.tryAcquire(operation)) return;
      if (!told) {
        const l = await this.read().catch(() => null);
        onWait?.(l?.spec?.holderIdentity ?? "unknown");
        told = true;
      }
      await sleep(this.o.retryMs, signal);
    }
  }

  /** Renews the Lease (and records annotations); throws LeaseLostError if someone else holds it now. */
  async renew(extra: Record<string, string> = {}): Promise<void> {
    const held = this.held;
    if (!held) throw new LeaseLostError(this.o.name);
    const body: V1Lease = {
      ...held,
      metadata: { ...held.metadata, annotations: { ...held.metadata?.annotations, ...extra } },
      spec: { ...held.spec, renewTime: new V1MicroTime(this.o.now()) },
    };
    try {
      this.held = await this.o.coord.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body });
    } catch (e) {
      if (statusOf(e) !== 409) throw e;
      const current = await this.read();
      if (current?.spec?.holderIdentity !== this.o.identity) {
        this.held = null;
        throw new LeaseLostError(this.o.name);
      }
      this.held = current;
      await this.renew(extra);
    }
  }

  /** Gives the Lease up at once (holder cleared), so a waiting replica need not wait for expiry. */
  async release(): Promise<void> {
    const held = this.held;
    this.held = null;
    if (!held) return;
    const current = await this.read().catch(() => null);
    if (!current || current.spec?.holderIdentity !== this.o.identity) return;
    const body: V1Lease = {
      ...current,
      metadata: {
        ...current.metadata,
        annotations: {
          ...current.metadata?.annotations,
          [LEASE_ANNOTATIONS.operation]: "",
          [LEASE_ANNOTATIONS.pid]: "",
          [LEASE_ANNOTATIONS.startedAt]: "",
        },
      },
      spec: { ...current.spec, holderIdentity: undefined, renewTime: undefined, acquireTime: undefined },
    };
    await this.o.coord
      .replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body })
      .catch((e: unknown) => {
        if (statusOf(e) !== 409) throw e;
      });
  }

  /**
   * Runs `fn` while holding the Lease, renewing it every third of its duration. If renewal finds the Lease lost,
   * the signal handed to `fn` aborts (so helm gets SIGTERM) rather than letting two writers overlap.
   */
  async hold<T>(
    operation: string,
    signal: AbortSignal,
    fn: (ctx: { signal: AbortSignal; annotate: (a: Record<string, string>) => Promise<void> }) => Promise<T>,
    onWait?: (holder: string) => void,
  ): Promise<T> {
    await this.acquire(operation, signal, onWait);
    const inner = new AbortController();
    const onOuter = () => inner.abort(signal.reason);
    signal.addEventListener("abort", onOuter, { once: true });
    let renewing: Promise<void> = Promise.resolve();
    const timer = setInterval(
      () => {
        renewing = this.renew().catch((e: unknown) => {
          if (e instanceof LeaseLostError) inner.abort(e);
        });
      },
      Math.max(200, (this.o.durationSeconds * 1000) / 3),
    );
    try {
      return await fn({
        signal: inner.signal,
        annotate: async (a) => {
          await renewing;
          await this.renew(a);
        },
      });
    } finally {
      clearInterval(timer);
      signal.removeEventListener("abort", onOuter);
      await renewing;
      await this.release().catch(() => undefined);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
