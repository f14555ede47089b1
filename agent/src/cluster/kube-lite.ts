// A small Kubernetes REST client for the calls the agent makes, with client-node's method shapes and model types
// (types only). Loading @kubernetes/client-node costs the idle agent about 23 MiB of RSS (its generated models and
// serializer tables); this costs almost nothing. See docs/adr/0007-agent-kubernetes-client.md.
import { readFileSync } from "node:fs";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Writable } from "node:stream";
import { parse as parseYaml } from "yaml";
import type { Kube, KubeApps, KubeAuthz, KubeBatch, KubeCoord, KubeCore, KubeLog, KubeVersion } from "./kube.ts";

/** The pod's service-account mount; CAMEL_OPS_SERVICE_ACCOUNT_DIR moves it (benchmarks of the in-pod agent). */
const saDir = () => process.env.CAMEL_OPS_SERVICE_ACCOUNT_DIR ?? "/var/run/secrets/kubernetes.io/serviceaccount";

/** Error with the shape of client-node's ApiException (`code`, `body`), so callers handle both alike. */
export class KubeApiError extends Error {
  readonly code: number;
  readonly body: unknown;
  constructor(code: number, body: unknown, what: string) {
    const msg = (body as { message?: string } | undefined)?.message;
    super(`Kubernetes API ${what}: HTTP ${code}${msg ? `: ${msg}` : ""}`);
    this.name = "KubeApiError";
    this.code = code;
    this.body = body;
  }
}

interface Conn {
  server: URL;
  agent: HttpAgent | HttpsAgent;
  token: () => string | undefined;
}

interface KubeconfigDoc {
  "current-context"?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
  clusters?: Array<{
    name: string;
    cluster: {
      server: string;
      "certificate-authority-data"?: string;
      "certificate-authority"?: string;
      "insecure-skip-tls-verify"?: boolean;
      "tls-server-name"?: string;
    };
  }>;
  users?: Array<{
    name: string;
    user: {
      token?: string;
      tokenFile?: string;
      "client-certificate-data"?: string;
      "client-certificate"?: string;
      "client-key-data"?: string;
      "client-key"?: string;
      exec?: unknown;
      "auth-provider"?: unknown;
    };
  }>;
}

const b64 = (s: string) => Buffer.from(s, "base64");

function fromKubeconfig(path: string): Conn {
  const doc = parseYaml(readFileSync(path, "utf8")) as KubeconfigDoc;
  const ctxName = doc["current-context"];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context ?? doc.contexts?.[0]?.context;
  const cluster = doc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster ?? doc.clusters?.[0]?.cluster;
  const user = doc.users?.find((u) => u.name === ctx?.user)?.user ?? doc.users?.[0]?.user ?? {};
  if (!cluster?.server) throw new Error(`kubeconfig ${path} names no cluster server`);
  if (user.exec || user["auth-provider"]) {
    throw new Error("kubeconfig uses an exec or auth-provider plugin; set CAMEL_OPS_KUBE_CLIENT=client-node");
  }
  const server = new URL(cluster.server);
  const ca = cluster["certificate-authority-data"]
    ? b64(cluster["certificate-authority-data"])
    : cluster["certificate-authority"]
      ? readFileSync(cluster["certificate-authority"])
      : undefined;
  const cert = user["client-certificate-data"]
    ? b64(user["client-certificate-data"])
    : user["client-certificate"]
      ? readFileSync(user["client-certificate"])
      : undefined;
  const key = user["client-key-data"]
    ? b64(user["client-key-data"])
    : user["client-key"]
      ? readFileSync(user["client-key"])
      : undefined;
  const agent =
    server.protocol === "https:"
      ? new HttpsAgent({
          keepAlive: true,
          maxSockets: 8,
          ca,
          cert,
          key,
          servername: cluster["tls-server-name"],
          rejectUnauthorized: cluster["insecure-skip-tls-verify"] !== true,
        })
      : new HttpAgent({ keepAlive: true, maxSockets: 8 });
  const tokenFile = user.tokenFile;
  return { server, agent, token: () => user.token ?? (tokenFile ? readFileSync(tokenFile, "utf8").trim() : undefined) };
}

function inCluster(): Conn {
  const SA_DIR = saDir();
  const host = process.env.KUBERNETES_SERVICE_HOST!;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
  const server = new URL(`https://${host.includes(":") ? `[${host}]` : host}:${port}`);
  // Bound service-account tokens rotate: re-read the file every minute.
  let token = "";
  let readAt = 0;
  return {
    server,
    agent: new HttpsAgent({ keepAlive: true, maxSockets: 8, ca: readFileSync(`${SA_DIR}/ca.crt`) }),
    token: () => {
      if (Date.now() - readAt > 60_000) {
        token = readFileSync(`${SA_DIR}/token`, "utf8").trim();
        readAt = Date.now();
      }
      return token;
    },
  };
}

type Query = Record<string, string | number | boolean | undefined>;

function send(c: Conn, method: string, path: string, query: Query = {}, body?: unknown): Promise<IncomingMessage> {
  const url = new URL(path, c.server);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  const token = c.token();
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { accept: "application/json, */*", "user-agent": "camel-ops-agent" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (payload !== undefined) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, { method, headers, agent: c.agent });
  return new Promise((resolve, reject) => {
    req.setTimeout(30_000, () => req.destroy(new Error(`Kubernetes API ${method} ${url.pathname}: timed out`)));
    req.once("response", resolve);
    req.once("error", reject);
    req.end(payload);
  });
}

async function readAll(res: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of res) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

async function call<T>(
  c: Conn,
  method: string,
  path: string,
  query?: Query,
  body?: unknown,
  asText = false,
): Promise<T> {
  const res = await send(c, method, path, query, body);
  const text = await readAll(res);
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep the text
    }
    throw new KubeApiError(status, parsed, `${method} ${path}`);
  }
  if (asText) return text as T;
  return (text ? JSON.parse(text) : {}) as T;
}

const enc = encodeURIComponent;
const nsPath = (group: string, ns: string, plural: string, name?: string) =>
  `${group ? `/apis/${group}` : "/api/v1"}/namespaces/${enc(ns)}/${plural}${name ? `/${enc(name)}` : ""}`;
const sel = (p: { labelSelector?: string; fieldSelector?: string }) => ({
  labelSelector: p.labelSelector,
  fieldSelector: p.fieldSelector,
});

// biome-ignore lint/suspicious/noExplicitAny: parameters follow client-node's object-param shapes; the result is cast to its interfaces
type P = any;

/** The Kube of the agent over the small client: in a pod by its service account, else from a kubeconfig. */
export function connectKubeLite(opts: { kubeconfigPath?: string }): Kube {
  const c = opts.kubeconfigPath
    ? fromKubeconfig(opts.kubeconfigPath)
    : process.env.KUBERNETES_SERVICE_HOST
      ? inCluster()
      : undefined;
  if (!c) throw new Error("no Kubernetes: not in a pod and no kubeconfig given (KUBECONFIG)");
  const list = (group: string, plural: string) => (p: P) => call(c, "GET", nsPath(group, p.namespace, plural), sel(p));
  const read = (group: string, plural: string) => (p: P) => call(c, "GET", nsPath(group, p.namespace, plural, p.name));
  const create = (group: string, plural: string) => (p: P) =>
    call(c, "POST", nsPath(group, p.namespace, plural), {}, p.body);
  const replace = (group: string, plural: string) => (p: P) =>
    call(c, "PUT", nsPath(group, p.namespace, plural, p.name), {}, p.body);

  const core = {
    listNode: (p: P = {}) => call(c, "GET", "/api/v1/nodes", sel(p)),
    listNamespacedPod: list("", "pods"),
    readNamespacedPod: read("", "pods"),
    readNamespacedPodLog: (p: P) =>
      call(
        c,
        "GET",
        `${nsPath("", p.namespace, "pods", p.name)}/log`,
        { container: p.container, tailLines: p.tailLines, previous: p.previous, limitBytes: p.limitBytes },
        undefined,
        true,
      ),
    listNamespacedEvent: list("", "events"),
    listNamespacedSecret: list("", "secrets"),
    readNamespacedSecret: read("", "secrets"),
    replaceNamespacedSecret: replace("", "secrets"),
    createNamespacedSecret: create("", "secrets"),
    readNamespacedConfigMap: read("", "configmaps"),
    createNamespacedConfigMap: create("", "configmaps"),
    listNamespacedPersistentVolumeClaim: list("", "persistentvolumeclaims"),
    connectGetNamespacedPodProxyWithPath: (p: P) =>
      call(
        c,
        "GET",
        `${nsPath("", p.namespace, "pods", p.name)}/proxy/${String(p.path).replace(/^\//, "")}`,
        {},
        undefined,
        true,
      ),
  } as unknown as KubeCore;
  const apps = {
    listNamespacedDeployment: list("apps/v1", "deployments"),
    listNamespacedStatefulSet: list("apps/v1", "statefulsets"),
  } as unknown as KubeApps;
  const coord = {
    readNamespacedLease: read("coordination.k8s.io/v1", "leases"),
    createNamespacedLease: create("coordination.k8s.io/v1", "leases"),
    replaceNamespacedLease: replace("coordination.k8s.io/v1", "leases"),
  } as unknown as KubeCoord;
  const authz = {
    createSelfSubjectAccessReview: (p: P) =>
      call(c, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {}, p.body),
  } as unknown as KubeAuthz;
  const batch = {
    readNamespacedJob: read("batch/v1", "jobs"),
    createNamespacedJob: create("batch/v1", "jobs"),
  } as unknown as KubeBatch;
  const version = { getCode: () => call(c, "GET", "/version") } as unknown as KubeVersion;
  const log = {
    async log(namespace: string, pod: string, container: string, stream: Writable, o: P = {}) {
      const ac = new AbortController();
      const res = await send(c, "GET", `${nsPath("", namespace, "pods", pod)}/log`, {
        container: container || undefined,
        follow: o.follow,
        tailLines: o.tailLines,
        previous: o.previous,
        sinceSeconds: o.sinceSeconds,
        timestamps: o.timestamps,
      });
      if ((res.statusCode ?? 0) >= 300) {
        const text = await readAll(res);
        throw new KubeApiError(res.statusCode ?? 0, text, `GET pods/${pod}/log`);
      }
      ac.signal.addEventListener("abort", () => res.destroy(), { once: true });
      // pipe() pauses the response while the stream is full: a slow consumer slows the read, memory stays flat.
      res.pipe(stream);
      return ac;
    },
  } as unknown as KubeLog;

  return {
    core,
    apps,
    coord,
    authz,
    batch,
    version,
    log,
    kubeconfigPath: opts.kubeconfigPath,
    inCluster: !opts.kubeconfigPath,
  };
}
