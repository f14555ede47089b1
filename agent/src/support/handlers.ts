import { Writable } from "node:stream";
import type { V1Pod } from "@kubernetes/client-node";
import { STREAM_CHUNK_CHARS } from "../../../shared/src/protocol/frames.ts";
import {
  isSupportCommand,
  type SupportArgs,
  type SupportCommand,
  supportArgs,
} from "../../../shared/src/protocol/support.ts";
import { guarded, type Kube } from "../cluster/kube.ts";
import type { CommandContext } from "../cluster-port.ts";
import { podProblem } from "../helm/health-gate.ts";
import { type HelmEnv, helmGetValues, helmHistory, helmStatus } from "../helm/helm-cli.ts";
import { deliverBundle } from "./bundle.ts";
import { redactText, redactValue } from "./redact.ts";

export interface SupportDeps {
  kube: Kube;
  namespace: string;
  release: string;
  /** undefined in agent-only installs without helm access */
  helm?: HelmEnv;
  /** `service:port` or `service:port/path-prefix` entries from the values (agent.support.http.allow) */
  httpAllow: string[];
  /** how to reach an in-cluster service; default http://<service>.<namespace>.svc:<port> */
  serviceUrl?: (service: string, port: number) => string;
  fetch: typeof fetch;
  /** the bundle's upload to the cloud, with the agent's JWT (default: fetch) */
  cloudFetch?: typeof fetch;
}

export class CommandRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandRefused";
  }
}

const MAX_HTTP_BODY = 256 * 1024;

export function httpAllowed(allow: string[], service: string, port: number, path: string): boolean {
  return allow.some((entry) => {
    const m = /^([a-z0-9-]+):(\d+)(\/.*)?$/.exec(entry.trim());
    if (!m) return false;
    if (m[1] !== service || Number(m[2]) !== port) return false;
    const prefix = m[3];
    return (
      !prefix ||
      path === prefix ||
      path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`) ||
      path.startsWith(`${prefix}?`)
    );
  });
}

export function createSupport(d: SupportDeps) {
  const ns = d.namespace;

  const workloads = async () => {
    const [deps, sts, pods] = await Promise.all([
      guarded("list deployments", () => d.kube.apps.listNamespacedDeployment({ namespace: ns })),
      guarded("list statefulsets", () => d.kube.apps.listNamespacedStatefulSet({ namespace: ns })),
      guarded("list pods", () => d.kube.core.listNamespacedPod({ namespace: ns })),
    ]);
    return {
      namespace: ns,
      deployments: deps.items.map((x) => ({
        name: x.metadata?.name,
        desired: x.spec?.replicas ?? 1,
        ready: x.status?.readyReplicas ?? 0,
        updated: x.status?.updatedReplicas ?? 0,
        generation: x.metadata?.generation,
        observedGeneration: x.status?.observedGeneration,
      })),
      statefulSets: sts.items.map((x) => ({
        name: x.metadata?.name,
        desired: x.spec?.replicas ?? 1,
        ready: x.status?.readyReplicas ?? 0,
      })),
      pods: pods.items.map(podRow),
    };
  };

  const events = async (a: SupportArgs<"support.events">) => {
    const list = await guarded("list events", () =>
      d.kube.core.listNamespacedEvent({ namespace: ns, fieldSelector: a.warningsOnly ? "type=Warning" : undefined }),
    );
    const rows = list.items
      .map((e) => ({
        at: String(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? ""),
        type: e.type,
        reason: e.reason,
        object: `${e.involvedObject?.kind}/${e.involvedObject?.name}`,
        message: redactText(e.message ?? ""),
        count: e.count,
      }))
      .sort((x, y) => x.at.localeCompare(y.at));
    return { namespace: ns, events: rows.slice(-a.limit) };
  };

  const logs = async (a: SupportArgs<"support.logs">, ctx: CommandContext) => {
    const pod = await guarded("get pods", () => d.kube.core.readNamespacedPod({ name: a.pod, namespace: ns }));
    const container = a.container ?? pod.spec?.containers?.[0]?.name;
    if (!a.follow) {
      const text = await guarded("read pod logs", () =>
        d.kube.core.readNamespacedPodLog({
          name: a.pod,
          namespace: ns,
          container,
          tailLines: a.tailLines,
          previous: a.previous,
        }),
      );
      return { pod: a.pod, container, lines: redactText(String(text ?? "")) };
    }
    if (!ctx.emit) throw new CommandRefused("support.logs with follow needs a stream");
    return followLogs(a, container, ctx);
  };

  /** Streams lines through ctx.emit; the Writable waits for emit, so a slow reader slows the API read, not memory. */
  const followLogs = async (a: SupportArgs<"support.logs">, container: string | undefined, ctx: CommandContext) => {
    let bytes = 0;
    let lines = 0;
    let partial = "";
    const emit = ctx.emit!;
    const sink = new Writable({
      highWaterMark: STREAM_CHUNK_CHARS,
      write(chunk: Buffer, _enc, cb) {
        const text = partial + chunk.toString("utf8");
        const cut = text.lastIndexOf("\n");
        partial = cut < 0 ? text : text.slice(cut + 1);
        if (partial.length > STREAM_CHUNK_CHARS) {
          // a line without end: pass it on in pieces rather than growing without bound
          const whole = partial;
          partial = "";
          void sendAll(`${whole}\n`).then(() => cb(), cb);
          return;
        }
        if (cut < 0) return cb();
        void sendAll(text.slice(0, cut + 1)).then(() => cb(), cb);
      },
    });
    const sendAll = async (raw: string) => {
      // redact whole lines first (a secret is never split across two chunks), then cut to the chunk size
      const s = redactText(raw);
      for (let i = 0; i < s.length; i += STREAM_CHUNK_CHARS) {
        const piece = s.slice(i, i + STREAM_CHUNK_CHARS);
        await emit(piece);
        bytes += Buffer.byteLength(piece);
        lines += piece.split("\n").length - 1;
      }
    };
    const req = await guarded("follow pod logs", () =>
      d.kube.log.log(ns, a.pod, container ?? "", sink, { follow: true, tailLines: a.tailLines, previous: a.previous }),
    );
    const stopped = new Promise<string>((resolve) => {
      const t = setTimeout(() => resolve("time limit"), a.maxSeconds * 1000);
      t.unref();
      const aborted = () => resolve(typeof ctx.signal.reason === "string" ? ctx.signal.reason : "cancelled");
      if (ctx.signal.aborted) aborted();
      ctx.signal.addEventListener("abort", aborted, { once: true });
      sink.on("finish", () => resolve("log ended"));
      sink.on("error", () => resolve("stream error"));
    });
    const why = await stopped;
    req.abort();
    if (partial) await sendAll(`${partial}\n`).catch(() => undefined);
    return { pod: a.pod, container, followed: true, ended: why, lines, bytes };
  };

  const needHelm = () => {
    if (!d.helm) throw new CommandRefused("helm is not available to this agent (agent-only install)");
    return d.helm;
  };

  const helmStatusCmd = async () => {
    const s = await helmStatus(needHelm(), d.release, ns);
    if (!s) return { release: d.release, found: false };
    const info = (s.info ?? {}) as Record<string, unknown>;
    const chart = (s.chart as { metadata?: Record<string, unknown> } | undefined)?.metadata;
    return {
      release: d.release,
      found: true,
      namespace: s.namespace,
      revision: s.version,
      status: info.status,
      description: redactText(String(info.description ?? "")),
      firstDeployed: info.first_deployed,
      lastDeployed: info.last_deployed,
      chart: chart ? { name: chart.name, version: chart.version, appVersion: chart.appVersion } : undefined,
    };
  };

  const http = async (a: SupportArgs<"support.http">, ctx: CommandContext) => {
    if (!httpAllowed(d.httpAllow, a.service, a.port, a.path)) {
      throw new CommandRefused(`${a.service}:${a.port}${a.path} is not on the support HTTP allow-list`);
    }
    const base = d.serviceUrl ? d.serviceUrl(a.service, a.port) : `http://${a.service}.${ns}.svc:${a.port}`;
    const res = await d.fetch(`${base}${a.path}`, { method: "GET", redirect: "manual", signal: ctx.signal });
    const reader = res.body?.getReader();
    const parts: Uint8Array[] = [];
    let size = 0;
    let truncated = false;
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > MAX_HTTP_BODY) {
        parts.push(value.subarray(0, MAX_HTTP_BODY - size));
        truncated = true;
        await reader.cancel();
        break;
      }
      parts.push(value);
      size += value.byteLength;
    }
    return {
      status: res.status,
      contentType: res.headers.get("content-type") ?? undefined,
      body: redactText(Buffer.concat(parts).toString("utf8")),
      truncated,
    };
  };

  const bundle = async (a: SupportArgs<"support.bundle">, ctx: CommandContext) => {
    const part = async <T>(fn: () => Promise<T>) => {
      try {
        return await fn();
      } catch (e) {
        return { error: String((e as Error).message ?? e) };
      }
    };
    const w = await part(workloads);
    const podNames = "pods" in w ? w.pods.map((p) => p.name).filter((x): x is string => !!x) : [];
    const logTails: Record<string, unknown> = {};
    for (const name of podNames.slice(0, 30)) {
      logTails[name] = await part(async () => {
        const text = await d.kube.core.readNamespacedPodLog({ name, namespace: ns, tailLines: a.logTailLines });
        return redactText(String(text ?? ""));
      });
    }
    const content = {
      kind: "camel-ops-support-bundle",
      createdAt: new Date().toISOString(),
      namespace: ns,
      release: d.release,
      workloads: w,
      events: await part(() => events({ limit: 500, warningsOnly: false })),
      helm: d.helm
        ? {
            status: await part(helmStatusCmd),
            history: await part(() => helmHistory(d.helm!, d.release, ns, 20)),
            values: await part(async () => redactValue(await helmGetValues(d.helm!, d.release, ns, false))),
          }
        : { skipped: "agent-only install" },
      logs: logTails,
    };
    return deliverBundle(content, { uploadUrl: a.uploadUrl, fetch: d.cloudFetch ?? d.fetch, signal: ctx.signal });
  };

  async function run(type: string, rawArgs: Record<string, unknown>, ctx: CommandContext): Promise<unknown> {
    if (!isSupportCommand(type)) throw new CommandRefused(`command ${JSON.stringify(type)} is not allow-listed`);
    const parsed = supportArgs[type].safeParse(rawArgs);
    if (!parsed.success) throw new CommandRefused(`bad arguments for ${type}: ${parsed.error.issues[0]?.message}`);
    const c: SupportCommand = type;
    switch (c) {
      case "support.workloads":
        return workloads();
      case "support.events":
        return events(parsed.data as SupportArgs<"support.events">);
      case "support.logs":
        return logs(parsed.data as SupportArgs<"support.logs">, ctx);
      case "support.helm-status":
        return helmStatusCmd();
      case "support.helm-history":
        return {
          release: d.release,
          history: await helmHistory(needHelm(), d.release, ns, (parsed.data as { max: number }).max),
        };
      case "support.helm-values": {
        const v = await helmGetValues(needHelm(), d.release, ns, (parsed.data as { all: boolean }).all);
        return { release: d.release, values: redactValue(v) };
      }
      case "support.http":
        return http(parsed.data as SupportArgs<"support.http">, ctx);
      case "support.bundle":
        return bundle(parsed.data as SupportArgs<"support.bundle">, ctx);
    }
  }

  return { run };
}

function podRow(p: V1Pod) {
  return {
    name: p.metadata?.name,
    phase: p.status?.phase,
    ready: p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True",
    restarts: (p.status?.containerStatuses ?? []).reduce((a, c) => a + (c.restartCount ?? 0), 0),
    node: p.spec?.nodeName,
    problem: podProblem(p),
    integration: p.metadata?.labels?.["camel-ops.io/integration"],
  };
}
