// Simulated controllers and kubelet: workloads make pods, pods become Ready after a delay (or fail
// as a fault says), and workload status is written the way rollout status, helm 3's ready checker
// and kstatus read it.

import { createHash, randomBytes } from "node:crypto";
import type { Api } from "./api.ts";
import type { LogStore } from "./logs.ts";
import type { ResourceDef } from "./resources.ts";
import { ApiError, clone, deepEqual, matchLabels, nowIso, type Obj, selectorFromSpec, stableHash } from "./util.ts";

/** A fault injected on a workload or pod; a workload's fault applies to the pods it makes. */
export interface Fault {
  type: "never-ready" | "crash-loop" | "image-pull" | "slow" | "fail";
  /** For "slow": how long until Ready. For "crash-loop": time between restarts (default 1000). */
  delayMs?: number;
  /** Only pods with a container running this image are affected (e.g. a bad release's tag). */
  image?: string;
}

export interface ControllerSwitches {
  deployments: boolean;
  replicaSets: boolean;
  statefulSets: boolean;
  daemonSets: boolean;
  jobs: boolean;
  /** The simulated kubelet: schedules pods on nodes and moves them through their phases. */
  pods: boolean;
  /** Endpoints for services with selectors and LoadBalancer addresses. */
  services: boolean;
  /** Dynamic provisioning: PVCs get a PersistentVolume and become Bound. */
  persistentVolumes: boolean;
  /** Deletes terminating namespaces' content; creates each namespace's default ServiceAccount. */
  namespaces: boolean;
}

export const DEFAULT_SWITCHES: ControllerSwitches = {
  deployments: true,
  replicaSets: true,
  statefulSets: true,
  daemonSets: true,
  jobs: true,
  pods: true,
  services: true,
  persistentVolumes: true,
  namespaces: true,
};

export interface ControllerOptions {
  readyDelayMs: number;
  switches: ControllerSwitches;
  caPem: string;
}

interface PodMemo {
  ip: string;
  containerId: string;
  scheduledAt?: string;
  startedAt?: string;
  finishedAt?: string;
  restarts: number;
  /** When the pod's next transition is due (ms epoch). */
  readyAt?: number;
  timer?: NodeJS.Timeout;
  crashTimer?: NodeJS.Timeout;
  /** Last state events were recorded for, and whether the start events were sent. */
  lastKey?: string;
  announced?: boolean;
}

function isControlledBy(o: Obj, uid: string): boolean {
  return ((o.metadata?.ownerReferences ?? []) as Obj[]).some((r) => r.controller && r.uid === uid);
}

function ownerRef(owner: Obj): Obj {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function podReady(p: Obj): boolean {
  return ((p.status?.conditions ?? []) as Obj[]).some((c) => c.type === "Ready" && c.status === "True");
}

function isFinished(p: Obj): boolean {
  return p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
}

/** Sets a condition, keeping its timestamps when nothing about it changed. */
function setCondition(
  conds: Obj[],
  type: string,
  status: string,
  reason: string,
  message: string,
  withUpdate = false,
): Obj[] {
  const now = nowIso();
  const old = conds.find((c) => c.type === type);
  const next: Obj = { type, status, reason, message };
  if (withUpdate)
    next.lastUpdateTime = old && old.reason === reason && old.message === message ? old.lastUpdateTime : now;
  next.lastTransitionTime = old && old.status === status ? old.lastTransitionTime : now;
  const out = conds.filter((c) => c.type !== type);
  out.push(next);
  return out;
}

function withoutHashLabel(template: Obj): Obj {
  const t = clone(template ?? {});
  if (t.metadata?.labels) {
    delete t.metadata.labels["pod-template-hash"];
    if (!Object.keys(t.metadata.labels).length) delete t.metadata.labels;
  }
  return t;
}

function intOrPercent(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === "number") return v;
  const s = String(v ?? "0");
  if (s.endsWith("%")) {
    const x = (Number(s.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  return Number(s) || 0;
}

export class Controllers {
  private readonly api: Api;
  private readonly logs: LogStore;
  readonly opts: ControllerOptions;
  readonly faults = new Map<string, Fault>();
  /** Unexpected controller errors (bugs), kept instead of crashing the test process. */
  readonly errors: Error[] = [];
  private readonly deadlines = new Set<string>();
  private readonly memos = new Map<string, PodMemo>();
  private readonly eventNames = new Map<string, string>();
  /** Endpoints this controller created, removed again when their Service goes. */
  private readonly managedEndpoints = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private unsubscribe: (() => void) | undefined;
  private scheduled = false;
  private running = false;
  private stopped = false;
  private ipCounter = 1;

  constructor(api: Api, logs: LogStore, opts: ControllerOptions) {
    this.api = api;
    this.logs = logs;
    this.opts = opts;
  }

  start(): void {
    this.unsubscribe = this.api.store.subscribe((e) => {
      if (e.type === "DELETED" && e.key === "/pods") this.forgetPod(e.obj);
      this.kick();
    });
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    for (const m of this.memos.values()) {
      if (m.timer) clearTimeout(m.timer);
      if (m.crashTimer) clearInterval(m.crashTimer);
    }
    this.timers.clear();
  }

  /** Schedules a reconcile pass (coalesced). */
  kick(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.stopped) return;
      this.reconcileAll();
    });
  }

  private later(ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.kick();
    }, ms);
    this.timers.add(t);
  }

  faultKey(kind: string, ns: string | undefined, name: string): string {
    return `${kind.toLowerCase()}/${ns ?? ""}/${name}`;
  }

  /** The fault for a pod: its own, or its controller's (a ReplicaSet's owner Deployment counts too). */
  faultFor(pod: Obj): Fault | undefined {
    const f = this.rawFaultFor(pod);
    if (!f?.image) return f;
    const images = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c: Obj) => c.image);
    return images.includes(f.image) ? f : undefined;
  }

  private rawFaultFor(pod: Obj): Fault | undefined {
    const ns = pod.metadata.namespace as string;
    const own = this.faults.get(this.faultKey("Pod", ns, pod.metadata.name));
    if (own) return own;
    for (const r of (pod.metadata.ownerReferences ?? []) as Obj[]) {
      const f = this.faults.get(this.faultKey(r.kind, ns, r.name));
      if (f) return f;
      if (r.kind === "ReplicaSet") {
        const rs = this.api.tryGet(this.def("ReplicaSet"), ns, r.name);
        for (const rr of (rs?.metadata.ownerReferences ?? []) as Obj[]) {
          const g = this.faults.get(this.faultKey(rr.kind, ns, rr.name));
          if (g) return g;
        }
      }
    }
    return undefined;
  }

  private def(kind: string): ResourceDef {
    return this.api.def(kind);
  }

  private reconcileAll(): void {
    if (this.running) {
      this.kick();
      return;
    }
    this.running = true;
    const sw = this.opts.switches;
    const steps: [boolean, () => void][] = [
      [sw.namespaces, () => this.namespaces()],
      [sw.deployments, () => this.deployments()],
      [sw.replicaSets, () => this.replicaSets()],
      [sw.statefulSets, () => this.statefulSets()],
      [sw.daemonSets, () => this.daemonSets()],
      [sw.jobs, () => this.jobs()],
      [sw.persistentVolumes, () => this.volumes()],
      [sw.pods, () => this.kubelet()],
      [sw.services, () => this.services()],
    ];
    try {
      for (const [on, step] of steps) {
        if (!on) continue;
        try {
          step();
        } catch (e) {
          // A write can race with a client's write (409) or a deletion (404): the next pass retries.
          if (e instanceof ApiError) this.kick();
          else this.errors.push(e instanceof Error ? e : new Error(String(e)));
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** Writes an object's status when it changed. */
  private writeStatus(kind: string, o: Obj, status: Obj): void {
    if (deepEqual(o.status, status)) return;
    const next = clone(o);
    next.status = status;
    delete next.metadata.resourceVersion;
    this.api.update(this.def(kind), o.metadata.namespace, o.metadata.name, next, { subresource: "status" });
  }

  /** Records a core/v1 Event about an object; a repeat of the same event bumps its count. */
  private event(obj: Obj, type: "Normal" | "Warning", reason: string, message: string, component: string): void {
    const ns = (obj.metadata.namespace as string | undefined) ?? "default";
    const evDef = this.def("Event");
    const key = `${obj.metadata.uid}/${reason}/${message}`;
    const now = nowIso();
    try {
      const known = this.eventNames.get(key);
      const cur = known ? this.api.tryGet(evDef, ns, known) : undefined;
      if (cur) {
        cur.count = Number(cur.count ?? 1) + 1;
        cur.lastTimestamp = now;
        delete cur.metadata.resourceVersion;
        this.api.update(evDef, ns, known!, cur);
        return;
      }
      const name = `${obj.metadata.name}.${randomBytes(8).toString("hex")}`;
      this.api.create(evDef, ns, {
        metadata: { name, namespace: ns },
        involvedObject: {
          kind: obj.kind,
          namespace: obj.metadata.namespace,
          name: obj.metadata.name,
          uid: obj.metadata.uid,
          apiVersion: obj.apiVersion,
          resourceVersion: obj.metadata.resourceVersion,
        },
        reason,
        message,
        source: { component, ...(component === "kubelet" && obj.spec?.nodeName ? { host: obj.spec.nodeName } : {}) },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        type,
        eventTime: null,
        reportingComponent: component,
        reportingInstance: component === "kubelet" ? (obj.spec?.nodeName ?? "") : "",
      });
      this.eventNames.set(key, name);
    } catch (e) {
      // Events are best effort, as in Kubernetes (e.g. the namespace is being deleted).
      if (!(e instanceof ApiError)) throw e;
    }
  }

  private pods(ns: string): Obj[] {
    return this.api.list(this.def("Pod"), ns);
  }

  private createPod(
    ns: string,
    owner: Obj,
    template: Obj,
    extra: { name?: string; labels?: Obj; nodeName?: string },
  ): void {
    const t = clone(template ?? {});
    const meta = t.metadata ?? {};
    const pod: Obj = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        ...(extra.name ? { name: extra.name } : { generateName: `${owner.metadata.name}-` }),
        namespace: ns,
        labels: { ...(meta.labels ?? {}), ...(extra.labels ?? {}) },
        ...(meta.annotations ? { annotations: meta.annotations } : {}),
        ownerReferences: [ownerRef(owner)],
      },
      spec: { ...(t.spec ?? {}), ...(extra.nodeName ? { nodeName: extra.nodeName } : {}) },
    };
    const created = this.api.create(this.def("Pod"), ns, pod, { fieldManager: "kube-controller-manager" });
    const component = `${String(owner.kind).toLowerCase()}-controller`;
    const message =
      owner.kind === "StatefulSet"
        ? `create Pod ${created.metadata.name} in StatefulSet ${owner.metadata.name} successful`
        : `Created pod: ${created.metadata.name}`;
    this.event(owner, "Normal", "SuccessfulCreate", message, component);
  }

  private deletePod(p: Obj): void {
    try {
      this.api.delete(this.def("Pod"), p.metadata.namespace, p.metadata.name);
      const owner = ((p.metadata.ownerReferences ?? []) as Obj[]).find((r) => r.controller);
      const o = owner
        ? this.api.tryGet(this.api.def(owner.kind, owner.apiVersion), p.metadata.namespace, owner.name)
        : undefined;
      if (o) {
        this.event(
          o,
          "Normal",
          "SuccessfulDelete",
          `Deleted pod: ${p.metadata.name}`,
          `${String(o.kind).toLowerCase()}-controller`,
        );
      }
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }

  // ---- namespaces ------------------------------------------------------------------------------

  private namespaces(): void {
    this.api.finalizeNamespaces();
    const saDef = this.def("ServiceAccount");
    const cmDef = this.def("ConfigMap");
    for (const n of this.api.list(this.def("Namespace"), undefined)) {
      if (n.metadata.deletionTimestamp) continue;
      const ns = n.metadata.name as string;
      if (!this.api.tryGet(saDef, ns, "default")) {
        this.api.create(saDef, ns, { metadata: { name: "default" } });
      }
      if (!this.api.tryGet(cmDef, ns, "kube-root-ca.crt")) {
        this.api.create(cmDef, ns, { metadata: { name: "kube-root-ca.crt" }, data: { "ca.crt": this.opts.caPem } });
      }
    }
  }

  // ---- deployments -----------------------------------------------------------------------------

  private deployments(): void {
    const rsDef = this.def("ReplicaSet");
    for (const d of this.api.list(this.def("Deployment"), undefined)) {
      if (d.metadata.deletionTimestamp) continue;
      const ns = d.metadata.namespace as string;
      const uid = d.metadata.uid as string;
      const owned = this.api.list(rsDef, ns).filter((rs) => isControlledBy(rs, uid));
      const template = withoutHashLabel(d.spec.template);
      let newRs = owned.find((rs) => deepEqual(withoutHashLabel(rs.spec.template), template));
      const revisions = owned.map((rs) => Number(rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? 0));
      const maxRev = Math.max(0, ...revisions);
      const desired = Number(d.spec.replicas ?? 1);
      const olds = owned.filter((rs) => rs !== newRs);
      const recreate = d.spec.strategy?.type === "Recreate";
      const oldPodsLeft = olds.reduce((a, rs) => a + Number(rs.status?.replicas ?? 0), 0);
      if (!newRs) {
        const hash = stableHash(template);
        const rs: Obj = {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          metadata: {
            name: `${d.metadata.name}-${hash}`,
            namespace: ns,
            labels: { ...(template.metadata?.labels ?? {}), "pod-template-hash": hash },
            annotations: {
              "deployment.kubernetes.io/desired-replicas": String(desired),
              "deployment.kubernetes.io/max-replicas": String(desired + 1),
              "deployment.kubernetes.io/revision": String(maxRev + 1),
            },
            ownerReferences: [ownerRef(d)],
          },
          spec: {
            replicas: recreate && oldPodsLeft > 0 ? 0 : desired,
            minReadySeconds: d.spec.minReadySeconds ?? 0,
            selector: {
              ...clone(d.spec.selector ?? {}),
              matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), "pod-template-hash": hash },
            },
            template: {
              ...template,
              metadata: {
                ...(template.metadata ?? {}),
                labels: { ...(template.metadata?.labels ?? {}), "pod-template-hash": hash },
              },
            },
          },
        };
        newRs = this.api.create(rsDef, ns, rs, { fieldManager: "kube-controller-manager" });
        this.scalingEvent(d, newRs.metadata.name, 0, Number(newRs.spec.replicas));
      } else {
        const rev = Number(newRs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? 0);
        const want = d.spec.paused ? newRs.spec.replicas : recreate && oldPodsLeft > 0 ? 0 : desired;
        if (rev < maxRev || newRs.spec.replicas !== want) {
          const next = clone(newRs);
          next.metadata.annotations = {
            ...(next.metadata.annotations ?? {}),
            "deployment.kubernetes.io/revision": String(rev < maxRev ? maxRev + 1 : rev),
            "deployment.kubernetes.io/desired-replicas": String(desired),
          };
          next.spec.replicas = want;
          delete next.metadata.resourceVersion;
          const from = Number(newRs.spec.replicas ?? 0);
          newRs = this.api.update(rsDef, ns, newRs.metadata.name, next, { fieldManager: "kube-controller-manager" });
          this.scalingEvent(d, newRs.metadata.name, from, Number(want));
        }
      }
      // Old ReplicaSets shrink as new pods become ready (all at once for Recreate).
      const newReady = Number(newRs.status?.readyReplicas ?? 0);
      let oldBudget = recreate ? 0 : Math.max(0, desired - newReady);
      for (const rs of olds.sort((a, b) =>
        String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
      )) {
        if (d.spec.paused) break;
        const cur = Number(rs.spec.replicas ?? 0);
        const want = Math.min(cur, oldBudget);
        oldBudget -= want;
        if (want !== cur) {
          const next = clone(rs);
          next.spec.replicas = want;
          delete next.metadata.resourceVersion;
          this.api.update(rsDef, ns, rs.metadata.name, next, { fieldManager: "kube-controller-manager" });
          this.scalingEvent(d, rs.metadata.name, cur, want);
        }
      }
      // Revision history: drop empty old ReplicaSets beyond revisionHistoryLimit.
      const limit = Number(d.spec.revisionHistoryLimit ?? 10);
      const emptyOld = olds
        .filter((rs) => Number(rs.spec.replicas ?? 0) === 0 && Number(rs.status?.replicas ?? 0) === 0)
        .sort(
          (a, b) =>
            Number(a.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? 0) -
            Number(b.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? 0),
        );
      for (const rs of emptyOld.slice(0, Math.max(0, emptyOld.length - limit))) {
        this.api.delete(rsDef, ns, rs.metadata.name);
      }
      const revision = String(newRs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? "1");
      if (d.metadata.annotations?.["deployment.kubernetes.io/revision"] !== revision) {
        const next = clone(d);
        next.metadata.annotations = {
          ...(next.metadata.annotations ?? {}),
          "deployment.kubernetes.io/revision": revision,
        };
        delete next.metadata.resourceVersion;
        d.metadata = this.api.update(this.def("Deployment"), ns, d.metadata.name, next).metadata;
      }
      this.deploymentStatus(d, newRs, olds);
    }
  }

  private scalingEvent(d: Obj, rs: string, from: number, to: number): void {
    if (from === to) return;
    const verb = to > from ? "up" : "down";
    this.event(
      d,
      "Normal",
      "ScalingReplicaSet",
      `Scaled ${verb} replica set ${rs} from ${from} to ${to}`,
      "deployment-controller",
    );
  }

  private deploymentStatus(d: Obj, newRs: Obj, olds: Obj[]): void {
    const all = [newRs, ...olds];
    const sum = (f: string) => all.reduce((a, rs) => a + Number(rs.status?.[f] ?? 0), 0);
    const desired = Number(d.spec.replicas ?? 1);
    const replicas = sum("replicas");
    const updated = Number(newRs.status?.replicas ?? 0);
    const ready = sum("readyReplicas");
    const available = sum("availableReplicas");
    const maxUnavailable =
      d.spec.strategy?.type === "RollingUpdate"
        ? intOrPercent(d.spec.strategy.rollingUpdate?.maxUnavailable, desired, false)
        : 0;
    let conds = clone((d.status?.conditions ?? []) as Obj[]);
    conds =
      available >= desired - maxUnavailable
        ? setCondition(
            conds,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            true,
          )
        : setCondition(
            conds,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            true,
          );
    const complete =
      updated === desired &&
      replicas === desired &&
      available === desired &&
      Number(newRs.status?.observedGeneration ?? 0) >= Number(newRs.metadata.generation ?? 1);
    const rsName = newRs.metadata.name;
    const prevProg = conds.find((c) => c.type === "Progressing");
    if (complete) {
      conds = setCondition(
        conds,
        "Progressing",
        "True",
        "NewReplicaSetAvailable",
        `ReplicaSet "${rsName}" has successfully progressed.`,
        true,
      );
    } else if (
      prevProg?.reason !== "ProgressDeadlineExceeded" ||
      prevProg.message !== `ReplicaSet "${rsName}" has timed out progressing.`
    ) {
      const since =
        prevProg &&
        prevProg.reason === "ReplicaSetUpdated" &&
        prevProg.message === `ReplicaSet "${rsName}" is progressing.`
          ? Date.parse(prevProg.lastUpdateTime)
          : Date.now();
      const deadlineMs = Number(d.spec.progressDeadlineSeconds ?? 600) * 1000;
      if (Date.now() - since >= deadlineMs) {
        conds = setCondition(
          conds,
          "Progressing",
          "False",
          "ProgressDeadlineExceeded",
          `ReplicaSet "${rsName}" has timed out progressing.`,
          true,
        );
      } else {
        conds = setCondition(
          conds,
          "Progressing",
          "True",
          "ReplicaSetUpdated",
          `ReplicaSet "${rsName}" is progressing.`,
          true,
        );
        const key = `${d.metadata.uid}/${rsName}`;
        if (deadlineMs < 3_600_000 && !this.deadlines.has(key)) {
          this.deadlines.add(key);
          this.later(deadlineMs - (Date.now() - since) + 1100);
        }
      }
    }
    conds.sort((a, b) => (a.type === "Available" ? -1 : b.type === "Available" ? 1 : 0));
    const status: Obj = {
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: available,
      ...(desired - available > 0 ? { unavailableReplicas: desired - available } : {}),
      conditions: conds,
    };
    this.writeStatus("Deployment", d, status);
  }

  // ---- replica sets ----------------------------------------------------------------------------

  private replicaSets(): void {
    for (const rs of this.api.list(this.def("ReplicaSet"), undefined)) {
      if (rs.metadata.deletionTimestamp) continue;
      const ns = rs.metadata.namespace as string;
      const pods = this.pods(ns).filter(
        (p) => isControlledBy(p, rs.metadata.uid) && !p.metadata.deletionTimestamp && !isFinished(p),
      );
      const desired = Number(rs.spec.replicas ?? 1);
      for (let i = pods.length; i < desired; i++) this.createPod(ns, rs, rs.spec.template, {});
      if (pods.length > desired) {
        const order = [...pods].sort(
          (a, b) =>
            Number(podReady(a)) - Number(podReady(b)) ||
            String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
        );
        for (const p of order.slice(0, pods.length - desired)) this.deletePod(p);
      }
      const current = this.pods(ns).filter((p) => isControlledBy(p, rs.metadata.uid) && !isFinished(p));
      const ready = current.filter(podReady).length;
      this.writeStatus("ReplicaSet", rs, {
        replicas: current.length,
        fullyLabeledReplicas: current.length,
        readyReplicas: ready,
        availableReplicas: ready,
        observedGeneration: rs.metadata.generation,
      });
    }
  }

  // ---- stateful sets ---------------------------------------------------------------------------

  private statefulSets(): void {
    const pvcDef = this.def("PersistentVolumeClaim");
    for (const s of this.api.list(this.def("StatefulSet"), undefined)) {
      if (s.metadata.deletionTimestamp) continue;
      const ns = s.metadata.namespace as string;
      const name = s.metadata.name as string;
      const desired = Number(s.spec.replicas ?? 1);
      const updateRevision = `${name}-${stableHash(s.spec.template)}`;
      const parallel = s.spec.podManagementPolicy === "Parallel";
      const onDelete = s.spec.updateStrategy?.type === "OnDelete";
      const partition = Number(s.spec.updateStrategy?.rollingUpdate?.partition ?? 0);
      const owned = () =>
        new Map(
          this.pods(ns)
            .filter((p) => isControlledBy(p, s.metadata.uid))
            .map((p) => [Number(p.metadata.labels?.["apps.kubernetes.io/pod-index"] ?? -1), p] as const),
        );
      let pods = owned();
      for (let i = 0; i < desired; i++) {
        const p = pods.get(i);
        if (!p) {
          for (const t of (s.spec.volumeClaimTemplates ?? []) as Obj[]) {
            const claim = `${t.metadata?.name}-${name}-${i}`;
            if (!this.api.tryGet(pvcDef, ns, claim)) {
              this.api.create(pvcDef, ns, {
                metadata: { name: claim, labels: { ...(s.spec.selector?.matchLabels ?? {}) } },
                spec: clone(t.spec ?? {}),
              });
            }
          }
          const podName = `${name}-${i}`;
          const template = clone(s.spec.template ?? {});
          for (const t of (s.spec.volumeClaimTemplates ?? []) as Obj[]) {
            template.spec ??= {};
            template.spec.volumes = [
              ...((template.spec.volumes ?? []) as Obj[]).filter((v) => v.name !== t.metadata?.name),
              { name: t.metadata?.name, persistentVolumeClaim: { claimName: `${t.metadata?.name}-${name}-${i}` } },
            ];
          }
          template.spec = { ...(template.spec ?? {}), hostname: podName, subdomain: s.spec.serviceName };
          this.createPod(ns, s, template, {
            name: podName,
            labels: {
              "controller-revision-hash": updateRevision,
              "statefulset.kubernetes.io/pod-name": podName,
              "apps.kubernetes.io/pod-index": String(i),
            },
          });
          if (!parallel) break;
          continue;
        }
        if (!parallel && !podReady(p)) break;
      }
      pods = owned();
      const extra = [...pods.entries()].filter(([i]) => i >= desired).sort((a, b) => b[0] - a[0]);
      for (const [, p] of parallel ? extra : extra.slice(0, 1)) this.deletePod(p);
      pods = owned();
      const inRange = [...pods.entries()].filter(([i]) => i < desired).map(([, p]) => p);
      const allReady = inRange.length === desired && inRange.every(podReady);
      if (!onDelete && allReady) {
        const stale = [...pods.entries()]
          .filter(
            ([i, p]) =>
              i >= partition && i < desired && p.metadata.labels?.["controller-revision-hash"] !== updateRevision,
          )
          .sort((a, b) => b[0] - a[0]);
        if (stale[0]) this.deletePod(stale[0][1]);
      }
      pods = owned();
      const list = [...pods.values()].filter((p) => !isFinished(p));
      const ready = list.filter(podReady).length;
      const updated = list.filter((p) => p.metadata.labels?.["controller-revision-hash"] === updateRevision).length;
      let currentRevision = String(s.status?.currentRevision ?? "") || updateRevision;
      if (updated === desired && ready === desired && list.length === desired) currentRevision = updateRevision;
      const current = list.filter((p) => p.metadata.labels?.["controller-revision-hash"] === currentRevision).length;
      this.writeStatus("StatefulSet", s, {
        observedGeneration: s.metadata.generation,
        replicas: list.length,
        readyReplicas: ready,
        currentReplicas: current,
        updatedReplicas: updated,
        availableReplicas: ready,
        currentRevision,
        updateRevision,
        collisionCount: 0,
      });
    }
  }

  // ---- daemon sets -----------------------------------------------------------------------------

  private daemonSets(): void {
    const nodes = this.api.list(this.def("Node"), undefined);
    for (const ds of this.api.list(this.def("DaemonSet"), undefined)) {
      if (ds.metadata.deletionTimestamp) continue;
      const ns = ds.metadata.namespace as string;
      const hash = stableHash(ds.spec.template);
      const selector = (ds.spec.template?.spec?.nodeSelector ?? {}) as Record<string, string>;
      const eligible = nodes.filter((n) => Object.entries(selector).every(([k, v]) => n.metadata.labels?.[k] === v));
      const names = new Set(eligible.map((n) => n.metadata.name as string));
      let pods = this.pods(ns).filter((p) => isControlledBy(p, ds.metadata.uid) && !isFinished(p));
      for (const p of pods) if (!names.has(p.spec?.nodeName)) this.deletePod(p);
      for (const n of eligible) {
        if (!pods.some((p) => p.spec?.nodeName === n.metadata.name)) {
          this.createPod(ns, ds, ds.spec.template, {
            labels: { "controller-revision-hash": hash, "pod-template-generation": String(ds.metadata.generation) },
            nodeName: n.metadata.name,
          });
        }
      }
      pods = this.pods(ns).filter((p) => isControlledBy(p, ds.metadata.uid) && !isFinished(p));
      if (ds.spec.updateStrategy?.type !== "OnDelete" && pods.every(podReady)) {
        const stale = pods.find((p) => p.metadata.labels?.["controller-revision-hash"] !== hash);
        if (stale) this.deletePod(stale);
      }
      pods = this.pods(ns).filter((p) => isControlledBy(p, ds.metadata.uid) && !isFinished(p));
      const onNodes = pods.filter((p) => names.has(p.spec?.nodeName));
      const ready = onNodes.filter(podReady).length;
      const updated = onNodes.filter((p) => p.metadata.labels?.["controller-revision-hash"] === hash).length;
      this.writeStatus("DaemonSet", ds, {
        currentNumberScheduled: onNodes.length,
        desiredNumberScheduled: eligible.length,
        numberMisscheduled: 0,
        numberReady: ready,
        numberAvailable: ready,
        ...(eligible.length - ready > 0 ? { numberUnavailable: eligible.length - ready } : {}),
        updatedNumberScheduled: updated,
        observedGeneration: ds.metadata.generation,
      });
    }
  }

  // ---- jobs ------------------------------------------------------------------------------------

  private jobs(): void {
    for (const job of this.api.list(this.def("Job"), undefined)) {
      if (job.metadata.deletionTimestamp) continue;
      const ns = job.metadata.namespace as string;
      const conds = (job.status?.conditions ?? []) as Obj[];
      if (conds.some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True")) continue;
      const pods = this.pods(ns).filter((p) => isControlledBy(p, job.metadata.uid));
      const succeeded = pods.filter((p) => p.status?.phase === "Succeeded").length;
      const failed = pods.filter((p) => p.status?.phase === "Failed").length;
      const active = pods.filter((p) => !isFinished(p) && !p.metadata.deletionTimestamp);
      const completions = Number(job.spec.completions ?? 1);
      const parallelism = Number(job.spec.parallelism ?? 1);
      const backoffLimit = Number(job.spec.backoffLimit ?? 6);
      const status: Obj = {
        startTime: job.status?.startTime ?? nowIso(),
        active: active.length,
        ready: active.filter(podReady).length,
        ...(succeeded ? { succeeded } : {}),
        ...(failed ? { failed } : {}),
        terminating: 0,
        uncountedTerminatedPods: {},
      };
      if (job.spec.suspend) {
        this.writeStatus("Job", job, {
          ...status,
          conditions: setCondition(conds, "Suspended", "True", "JobSuspended", "Job suspended"),
        });
        continue;
      }
      if (succeeded >= completions) {
        let c = setCondition(
          conds,
          "SuccessCriteriaMet",
          "True",
          "CompletionsReached",
          "Reached expected number of succeeded pods",
        );
        c = setCondition(c, "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods");
        for (const p of active) this.deletePod(p);
        this.writeStatus("Job", job, { ...status, active: 0, ready: 0, completionTime: nowIso(), conditions: c });
        this.event(job, "Normal", "Completed", "Job completed", "job-controller");
        continue;
      }
      if (failed > backoffLimit) {
        let c = setCondition(
          conds,
          "FailureTarget",
          "True",
          "BackoffLimitExceeded",
          "Job has reached the specified backoff limit",
        );
        c = setCondition(c, "Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
        for (const p of active) this.deletePod(p);
        this.writeStatus("Job", job, { ...status, active: 0, ready: 0, conditions: c });
        this.event(
          job,
          "Warning",
          "BackoffLimitExceeded",
          "Job has reached the specified backoff limit",
          "job-controller",
        );
        continue;
      }
      const want = Math.min(parallelism, completions - succeeded);
      for (let i = active.length; i < want; i++) this.createPod(ns, job, job.spec.template, {});
      this.writeStatus("Job", job, { ...status, ...(conds.length ? { conditions: conds } : {}) });
    }
  }

  // ---- volumes ---------------------------------------------------------------------------------

  private volumes(): void {
    const pvDef = this.def("PersistentVolume");
    const pvcDef = this.def("PersistentVolumeClaim");
    const claims = this.api.list(pvcDef, undefined);
    for (const c of claims) {
      if (c.metadata.deletionTimestamp || c.status?.phase === "Bound") continue;
      const pvName = `pvc-${c.metadata.uid}`;
      const storage = c.spec?.resources?.requests?.storage ?? "1Gi";
      const sc = c.spec?.storageClassName ?? "local-path";
      if (!this.api.tryGet(pvDef, undefined, pvName)) {
        this.api.create(pvDef, undefined, {
          metadata: { name: pvName, annotations: { "pv.kubernetes.io/provisioned-by": "rancher.io/local-path" } },
          spec: {
            capacity: { storage },
            accessModes: c.spec?.accessModes ?? ["ReadWriteOnce"],
            persistentVolumeReclaimPolicy: "Delete",
            storageClassName: sc,
            volumeMode: c.spec?.volumeMode ?? "Filesystem",
            hostPath: {
              path: `/var/lib/rancher/k3s/storage/${pvName}_${c.metadata.namespace}_${c.metadata.name}`,
              type: "DirectoryOrCreate",
            },
            claimRef: {
              kind: "PersistentVolumeClaim",
              namespace: c.metadata.namespace,
              name: c.metadata.name,
              uid: c.metadata.uid,
              apiVersion: "v1",
            },
          },
        });
      }
      const pv = this.api.get(pvDef, undefined, pvName);
      this.writeStatus("PersistentVolume", pv, { phase: "Bound" });
      if (c.spec?.volumeName !== pvName || c.spec?.storageClassName !== sc) {
        const next = clone(c);
        next.spec = { ...next.spec, volumeName: pvName, storageClassName: sc };
        next.metadata.annotations = {
          ...(next.metadata.annotations ?? {}),
          "pv.kubernetes.io/bind-completed": "yes",
          "pv.kubernetes.io/bound-by-controller": "yes",
        };
        delete next.metadata.resourceVersion;
        const updated = this.api.update(pvcDef, c.metadata.namespace, c.metadata.name, next);
        c.metadata = updated.metadata;
        c.spec = updated.spec;
      }
      this.writeStatus("PersistentVolumeClaim", c, {
        phase: "Bound",
        accessModes: c.spec?.accessModes ?? ["ReadWriteOnce"],
        capacity: { storage },
      });
    }
    const uids = new Set(claims.map((c) => c.metadata.uid as string));
    for (const pv of this.api.list(pvDef, undefined)) {
      const ref = pv.spec?.claimRef;
      if (ref?.uid && !uids.has(ref.uid) && pv.spec?.persistentVolumeReclaimPolicy === "Delete") {
        this.api.delete(pvDef, undefined, pv.metadata.name);
      }
    }
  }

  // ---- kubelet ---------------------------------------------------------------------------------

  private memo(p: Obj): PodMemo {
    const uid = p.metadata.uid as string;
    let m = this.memos.get(uid);
    if (!m) {
      this.ipCounter++;
      m = {
        ip: `10.42.${Math.floor(this.ipCounter / 250)}.${(this.ipCounter % 250) + 2}`,
        containerId: createHash("sha256").update(uid).digest("hex"),
        restarts: 0,
      };
      this.memos.set(uid, m);
    }
    return m;
  }

  private forgetPod(p: Obj): void {
    const m = this.memos.get(p.metadata.uid);
    if (m?.timer) clearTimeout(m.timer);
    if (m?.crashTimer) clearInterval(m.crashTimer);
    this.memos.delete(p.metadata.uid);
    this.logs.forget(p.metadata.namespace, p.metadata.name);
  }

  private nodeReady(n: Obj): boolean {
    return ((n.status?.conditions ?? []) as Obj[]).some((c) => c.type === "Ready" && c.status === "True");
  }

  private kubelet(): void {
    const nodes = this.api.list(this.def("Node"), undefined);
    const podDef = this.def("Pod");
    for (const p of this.api.list(podDef, undefined)) {
      if (p.metadata.deletionTimestamp || isFinished(p)) continue;
      const m = this.memo(p);
      if (!p.spec?.nodeName) {
        const sel = (p.spec?.nodeSelector ?? {}) as Record<string, string>;
        const node = nodes.find(
          (n) =>
            this.nodeReady(n) &&
            !n.spec?.unschedulable &&
            tolerates(p, n) &&
            matchLabels(selectorFromSpec({ matchLabels: sel }), n.metadata.labels),
        );
        if (!node) {
          this.writeStatus("Pod", p, {
            phase: "Pending",
            conditions: setCondition(
              [],
              "PodScheduled",
              "False",
              "Unschedulable",
              `0/${nodes.length} nodes are available: no ready node matches.`,
            ),
            qosClass: "BestEffort",
          });
          continue;
        }
        const next = clone(p);
        next.spec.nodeName = node.metadata.name;
        delete next.metadata.resourceVersion;
        const bound = this.api.update(podDef, p.metadata.namespace, p.metadata.name, next);
        this.event(
          bound,
          "Normal",
          "Scheduled",
          `Successfully assigned ${p.metadata.namespace}/${p.metadata.name} to ${node.metadata.name}`,
          "default-scheduler",
        );
        continue;
      }
      const node = nodes.find((n) => n.metadata.name === p.spec.nodeName);
      m.scheduledAt ??= nowIso();
      const fault = this.faultFor(p);
      const delay = fault?.type === "slow" ? Number(fault.delayMs ?? 5000) : this.opts.readyDelayMs;
      if (m.readyAt === undefined) {
        m.readyAt = Date.now() + delay;
        m.timer = setTimeout(() => this.kick(), delay + 1);
      }
      const status = this.podStatus(p, m, fault, node);
      this.writeStatus("Pod", p, status);
      this.podEvents(p, m, status, fault);
    }
  }

  private podStatus(p: Obj, m: PodMemo, fault: Fault | undefined, node: Obj | undefined): Obj {
    const now = Date.now();
    const started = now >= (m.readyAt ?? Number.POSITIVE_INFINITY);
    const runToCompletion = p.spec?.restartPolicy === "Never" || p.spec?.restartPolicy === "OnFailure";
    const hostIP =
      ((node?.status?.addresses ?? []) as Obj[]).find((a) => a.type === "InternalIP")?.address ?? "10.0.0.10";
    const containers = (p.spec?.containers ?? []) as Obj[];
    const base: Obj = {
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP: m.ip,
      podIPs: [{ ip: m.ip }],
      startTime: m.scheduledAt,
      qosClass: "BestEffort",
    };
    let conds = clone((p.status?.conditions ?? []) as Obj[]);
    conds = setCondition(conds, "PodScheduled", "True", "", "");
    const cs = (state: Obj, ready: boolean, extra: Obj = {}) =>
      containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: `${String(c.image).includes("/") ? "" : "docker.io/library/"}${c.image}@sha256:${m.containerId}`,
        containerID: `containerd://${m.containerId}`,
        ready,
        started: ready || !!state.running,
        restartCount: m.restarts,
        state,
        lastState: {},
        ...extra,
      }));
    const finish = (ok: boolean): Obj => {
      m.finishedAt ??= nowIso();
      m.startedAt ??= m.finishedAt;
      this.logs.close(p.metadata.namespace, p.metadata.name);
      const terminated = {
        exitCode: ok ? 0 : 1,
        reason: ok ? "Completed" : "Error",
        startedAt: m.startedAt,
        finishedAt: m.finishedAt,
        containerID: `containerd://${m.containerId}`,
      };
      conds = setCondition(conds, "PodReadyToStartContainers", "False", "", "");
      conds = setCondition(conds, "Initialized", "True", "PodCompleted", "");
      conds = setCondition(conds, "Ready", "False", "PodCompleted", "");
      conds = setCondition(conds, "ContainersReady", "False", "PodCompleted", "");
      return {
        ...base,
        phase: ok ? "Succeeded" : "Failed",
        conditions: order(conds),
        containerStatuses: cs({ terminated }, false, { started: false }),
      };
    };
    if (!started || fault?.type === "image-pull") {
      const reason =
        fault?.type === "image-pull" ? (started ? "ImagePullBackOff" : "ErrImagePull") : "ContainerCreating";
      const message = fault?.type === "image-pull" ? `Back-off pulling image "${containers[0]?.image}"` : undefined;
      if (fault?.type === "image-pull" && !started)
        return this.pendingStatus(p, m, base, conds, cs, "ContainerCreating");
      return this.pendingStatus(p, m, base, conds, cs, reason, message);
    }
    m.startedAt ??= nowIso();
    if (runToCompletion) {
      // Run-to-completion pods (Jobs, helm test hooks) run for one more delay, then exit.
      const doneAt = (m.readyAt ?? now) + Math.max(this.opts.readyDelayMs, 1);
      if (fault?.type === "never-ready" || fault?.type === "crash-loop" ? false : now >= doneAt) {
        return finish(fault?.type !== "fail");
      }
      if (fault?.type === "crash-loop" && p.spec?.restartPolicy === "Never") return finish(false);
      if (!m.timer || now < doneAt) {
        if (m.timer) clearTimeout(m.timer);
        m.timer = setTimeout(() => this.kick(), Math.max(1, doneAt - now + 1));
      }
    }
    conds = setCondition(conds, "PodReadyToStartContainers", "True", "", "");
    conds = setCondition(conds, "Initialized", "True", "", "");
    if (fault?.type === "crash-loop") {
      if (!m.crashTimer) {
        const every = Number(fault.delayMs ?? 1000);
        m.crashTimer = setInterval(() => {
          m.restarts++;
          this.kick();
        }, every);
      }
      conds = setCondition(
        conds,
        "Ready",
        "False",
        "ContainersNotReady",
        `containers with unready status: [${containers.map((c) => c.name).join(" ")}]`,
      );
      conds = setCondition(
        conds,
        "ContainersReady",
        "False",
        "ContainersNotReady",
        `containers with unready status: [${containers.map((c) => c.name).join(" ")}]`,
      );
      const waiting = {
        waiting: {
          reason: "CrashLoopBackOff",
          message: `back-off restarting failed container in pod ${p.metadata.name}`,
        },
      };
      return {
        ...base,
        phase: "Running",
        conditions: order(conds),
        containerStatuses: cs(waiting, false, {
          started: false,
          lastState:
            m.restarts > 0
              ? {
                  terminated: {
                    exitCode: 1,
                    reason: "Error",
                    startedAt: m.startedAt,
                    finishedAt: m.startedAt,
                    containerID: `containerd://${m.containerId}`,
                  },
                }
              : {},
        }),
      };
    }
    const ready = fault?.type !== "never-ready";
    const why = ready ? "" : "ContainersNotReady";
    const msg = ready ? "" : `containers with unready status: [${containers.map((c) => c.name).join(" ")}]`;
    conds = setCondition(conds, "Ready", ready ? "True" : "False", why, msg);
    conds = setCondition(conds, "ContainersReady", ready ? "True" : "False", why, msg);
    return {
      ...base,
      phase: "Running",
      conditions: order(conds),
      containerStatuses: cs({ running: { startedAt: m.startedAt } }, ready),
    };
  }

  /** Kubelet events for the transitions a pod just made (pulled/started, back-offs, probe failures). */
  private podEvents(p: Obj, m: PodMemo, status: Obj, fault: Fault | undefined): void {
    const cs = ((status.containerStatuses ?? []) as Obj[])[0];
    const ready = ((status.conditions ?? []) as Obj[]).some((c) => c.type === "Ready" && c.status === "True");
    const key = `${status.phase}/${cs?.state?.waiting?.reason ?? ""}/${ready}/${m.restarts}`;
    if (key === m.lastKey) return;
    const was = m.lastKey ?? "";
    m.lastKey = key;
    const containers = (p.spec?.containers ?? []) as Obj[];
    const waiting = cs?.state?.waiting?.reason as string | undefined;
    if (waiting === "ErrImagePull" || waiting === "ImagePullBackOff") {
      for (const c of containers) {
        if (waiting === "ErrImagePull") {
          this.event(p, "Normal", "Pulling", `Pulling image "${c.image}"`, "kubelet");
          this.event(p, "Warning", "Failed", `Failed to pull image "${c.image}": not found`, "kubelet");
          this.event(p, "Warning", "Failed", "Error: ErrImagePull", "kubelet");
        } else this.event(p, "Normal", "BackOff", `Back-off pulling image "${c.image}"`, "kubelet");
      }
      return;
    }
    const startedBefore = m.announced === true;
    if ((status.phase === "Running" || status.phase === "Succeeded" || status.phase === "Failed") && !startedBefore) {
      m.announced = true;
      for (const c of containers) {
        this.event(p, "Normal", "Pulled", `Container image "${c.image}" already present on machine`, "kubelet");
        this.event(p, "Normal", "Created", `Created container: ${c.name}`, "kubelet");
        this.event(p, "Normal", "Started", `Started container ${c.name}`, "kubelet");
      }
    }
    if (waiting === "CrashLoopBackOff") {
      for (const c of containers) {
        this.event(
          p,
          "Warning",
          "BackOff",
          `Back-off restarting failed container ${c.name} in pod ${p.metadata.name}`,
          "kubelet",
        );
      }
    } else if (status.phase === "Running" && !ready && fault?.type === "never-ready" && !was.startsWith("Running/")) {
      this.event(
        p,
        "Warning",
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
        "kubelet",
      );
    }
  }

  private pendingStatus(
    _p: Obj,
    _m: PodMemo,
    base: Obj,
    condsIn: Obj[],
    cs: (state: Obj, ready: boolean, extra?: Obj) => Obj[],
    reason: string,
    message?: string,
  ): Obj {
    let conds = setCondition(
      condsIn,
      "PodReadyToStartContainers",
      reason === "ContainerCreating" ? "False" : "True",
      "",
      "",
    );
    conds = setCondition(conds, "Initialized", "True", "", "");
    conds = setCondition(conds, "Ready", "False", "ContainersNotReady", "containers with unready status");
    conds = setCondition(conds, "ContainersReady", "False", "ContainersNotReady", "containers with unready status");
    return {
      ...base,
      phase: "Pending",
      conditions: order(conds),
      containerStatuses: cs({ waiting: { reason, ...(message ? { message } : {}) } }, false, { started: false }),
    };
  }

  // ---- services --------------------------------------------------------------------------------

  private services(): void {
    const epDef = this.def("Endpoints");
    for (const k of [...this.managedEndpoints]) {
      const [ns, name] = k.split("/") as [string, string];
      if (!this.api.tryGet(this.def("Service"), ns, name)) {
        this.managedEndpoints.delete(k);
        if (this.api.tryGet(epDef, ns, name)) this.api.delete(epDef, ns, name);
      }
    }
    const nodes = this.api.list(this.def("Node"), undefined);
    const nodeIP =
      ((nodes[0]?.status?.addresses ?? []) as Obj[]).find((a) => a.type === "InternalIP")?.address ?? "10.0.0.10";
    for (const svc of this.api.list(this.def("Service"), undefined)) {
      if (svc.metadata.deletionTimestamp) continue;
      const ns = svc.metadata.namespace as string;
      if (svc.spec?.type === "LoadBalancer") {
        this.writeStatus("Service", svc, { loadBalancer: { ingress: [{ ip: nodeIP, ipMode: "VIP" }] } });
      }
      if (!svc.spec?.selector) continue;
      const sel = selectorFromSpec({ matchLabels: svc.spec.selector });
      const pods = this.pods(ns).filter(
        (p) => matchLabels(sel, p.metadata.labels) && p.status?.podIP && !isFinished(p),
      );
      const addr = (p: Obj) => ({
        ip: p.status.podIP,
        nodeName: p.spec?.nodeName,
        targetRef: { kind: "Pod", namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
      });
      const ports = ((svc.spec.ports ?? []) as Obj[]).map((sp) => {
        let port = sp.targetPort ?? sp.port;
        if (typeof port === "string") {
          for (const p of pods) {
            for (const c of (p.spec?.containers ?? []) as Obj[]) {
              const hit = ((c.ports ?? []) as Obj[]).find((cp) => cp.name === port);
              if (hit) port = hit.containerPort;
            }
          }
        }
        return {
          ...(sp.name ? { name: sp.name } : {}),
          port: typeof port === "number" ? port : sp.port,
          protocol: sp.protocol ?? "TCP",
        };
      });
      const ready = pods.filter(podReady).map(addr);
      const notReady = pods.filter((p) => !podReady(p)).map(addr);
      const subsets =
        ready.length || notReady.length
          ? [
              {
                ...(ready.length ? { addresses: ready } : {}),
                ...(notReady.length ? { notReadyAddresses: notReady } : {}),
                ports,
              },
            ]
          : undefined;
      const cur = this.api.tryGet(epDef, ns, svc.metadata.name);
      const body: Obj = {
        metadata: { name: svc.metadata.name, namespace: ns, labels: svc.metadata.labels ?? {} },
        ...(subsets ? { subsets } : {}),
      };
      this.managedEndpoints.add(`${ns}/${svc.metadata.name}`);
      if (!cur) this.api.create(epDef, ns, body);
      else if (!deepEqual(cur.subsets, body.subsets) || !deepEqual(cur.metadata.labels ?? {}, body.metadata.labels)) {
        this.api.update(epDef, ns, svc.metadata.name, {
          ...cur,
          ...body,
          metadata: { ...cur.metadata, labels: body.metadata.labels, resourceVersion: undefined },
        });
      }
    }
  }
}

/** Whether a pod tolerates every NoSchedule / NoExecute taint of a node. */
function tolerates(pod: Obj, node: Obj): boolean {
  const tolerations = (pod.spec?.tolerations ?? []) as Obj[];
  return ((node.spec?.taints ?? []) as Obj[])
    .filter((t) => t.effect === "NoSchedule" || t.effect === "NoExecute")
    .every((t) =>
      tolerations.some(
        (tol) =>
          (!tol.effect || tol.effect === t.effect) &&
          (tol.operator === "Exists"
            ? !tol.key || tol.key === t.key
            : tol.key === t.key && (tol.value ?? "") === (t.value ?? "")),
      ),
    );
}

const COND_ORDER = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"];

function order(conds: Obj[]): Obj[] {
  return conds
    .map((c) => {
      const out = { ...c };
      if (!out.reason) delete out.reason;
      if (!out.message) delete out.message;
      return out;
    })
    .sort((a, b) => COND_ORDER.indexOf(a.type) - COND_ORDER.indexOf(b.type));
}
