// The HTTP side: authentication, routing of Kubernetes API paths, content negotiation, watch and
// log streaming.

import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import type { Api, ListOptions } from "./api.ts";
import {
  aggregated,
  apiGroupDoc,
  apiGroupList,
  apiVersions,
  openApiDoc,
  openApiIndex,
  resourceList,
} from "./discovery.ts";
import { type LogStore, stamp, tail } from "./logs.ts";
import { decodeProtobuf } from "./proto.ts";
import { groupVersion, type ResourceDef, resourceKey } from "./resources.ts";
import type { StoreEvent } from "./store.ts";
import { toPartial, toTable } from "./tables.ts";
import {
  ApiError,
  errors,
  matchFields,
  matchLabels,
  type Obj,
  parseFieldSelector,
  parseLabelSelector,
} from "./util.ts";

export interface ServerContext {
  api: Api;
  logs: LogStore;
  token: string;
  gitVersion: string;
  hostPort: () => string;
  /** Open streaming responses (watches, log follows), ended on stop. */
  streams: Set<ServerResponse>;
  onRequest?: (line: string) => void;
  /** Test controls under `/k8s-sim/v1/<action>` (POST, JSON body), for clients in other processes. */
  admin?: (action: string, body: Obj) => unknown;
}

function send(res: ServerResponse, code: number, body: unknown, contentType = "application/json"): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(code, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown): void {
  if (e instanceof ApiError) {
    send(res, e.code, e.toStatus());
    return;
  }
  const msg = e instanceof Error ? `${e.message}\n${e.stack}` : String(e);
  send(res, 500, new ApiError(500, "InternalError", `k8s-sim internal error: ${msg}`).toStatus());
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function parseBody(buf: Buffer, contentType: string): unknown {
  if (buf.length === 0) return undefined;
  if (contentType.includes("protobuf")) return decodeProtobuf(buf);
  const text = buf.toString("utf8");
  if (!text.trim()) return undefined;
  try {
    if (contentType.includes("yaml")) return parseYaml(text);
    return JSON.parse(text);
  } catch (e) {
    throw errors.badRequest(`error decoding request body: ${(e as Error).message}`);
  }
}

interface Route {
  def: ResourceDef;
  ns: string | undefined;
  name: string | undefined;
  sub: string | undefined;
  watch: boolean;
}

function route(ctx: ServerContext, group: string, version: string, segs: string[]): Route | undefined {
  const reg = ctx.api.registry;
  let watch = false;
  if (segs[0] === "watch") {
    watch = true;
    segs = segs.slice(1);
  }
  let ns: string | undefined;
  if (segs[0] === "namespaces" && segs.length >= 3) {
    const d = reg.find(group, version, segs[2]!);
    if (d?.namespaced) {
      ns = segs[1];
      segs = segs.slice(2);
    }
  }
  const [plural, name, sub] = segs;
  if (!plural) return undefined;
  const def = reg.find(group, version, plural);
  if (!def || segs.length > 3) return undefined;
  if (sub && !def.subresources.includes(sub)) return undefined;
  return { def, ns, name, sub, watch };
}

export function createHandler(ctx: ServerContext) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    handle(ctx, req, res).catch((e) => {
      if (!res.headersSent) sendError(res, e);
      else res.destroy();
    });
  };
}

async function handle(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://sim");
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const method = req.method ?? "GET";
  ctx.onRequest?.(`${method} ${req.url} accept=${req.headers.accept ?? ""} type=${req.headers["content-type"] ?? ""}`);
  if (["/version", "/healthz", "/readyz", "/livez"].includes(path) && method === "GET") {
    if (path !== "/version") return send(res, 200, "ok", "text/plain");
    const m = /^v(\d+)\.(\d+)/.exec(ctx.gitVersion);
    return send(res, 200, {
      major: m?.[1] ?? "1",
      minor: m?.[2] ?? "31",
      gitVersion: ctx.gitVersion,
      gitCommit: "0000000000000000000000000000000000000000",
      gitTreeState: "clean",
      buildDate: "2024-12-12T00:00:00Z",
      goVersion: "go1.22.9",
      compiler: "gc",
      platform: "linux/amd64",
    });
  }
  const auth = req.headers.authorization ?? "";
  if (auth !== `Bearer ${ctx.token}`) {
    return send(res, 401, new ApiError(401, "Unauthorized", "Unauthorized").toStatus());
  }
  const accept = String(req.headers.accept ?? "");
  const segs = path.split("/").filter(Boolean);
  const reg = ctx.api.registry;

  if (segs[0] === "k8s-sim" && segs[1] === "v1" && segs[2] && ctx.admin && method === "POST") {
    const body = (parseBody(await readBody(req), "application/json") ?? {}) as Obj;
    send(res, 200, ctx.admin(segs[2], body) ?? { ok: true });
    return;
  }

  if (segs[0] === "openapi") {
    if (segs[1] === "v3" && segs.length === 2) return send(res, 200, openApiIndex(reg));
    if (segs[1] === "v3") {
      const [, , root, a, b] = segs;
      const doc =
        root === "api"
          ? openApiDoc(reg, "", a ?? "", ctx.gitVersion)
          : openApiDoc(reg, a ?? "", b ?? "", ctx.gitVersion);
      if (doc) return send(res, 200, doc);
    }
    // OpenAPI v2 is served only as protobuf by real servers; clients fall back to v3 or built-in types.
    return send(res, 404, errors.notFound("", "", path).toStatus());
  }

  if (segs[0] === "api" || segs[0] === "apis") {
    const core = segs[0] === "api";
    if (segs.length === 1) {
      if (method !== "GET") throw errors.methodNotAllowed("method not allowed");
      const v = accept.includes("as=APIGroupDiscoveryList")
        ? accept.includes("v=v2;") || accept.endsWith("v=v2") || /v=v2[;,]/.test(accept)
          ? "v2"
          : "v2beta1"
        : undefined;
      if (v) {
        const body = JSON.stringify(aggregated(reg, core, v));
        res.writeHead(200, {
          "Content-Type": `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`,
          "Content-Length": Buffer.byteLength(body),
        });
        return void res.end(body);
      }
      return send(res, 200, core ? apiVersions(ctx.hostPort()) : apiGroupList(reg));
    }
    const group = core ? "" : segs[1]!;
    const version = core ? segs[1]! : segs[2];
    const rest = segs.slice(core ? 2 : 3);
    if (!version) {
      const g = apiGroupDoc(reg, group);
      if (g) return send(res, 200, g);
      throw errors.notFound("", "", path);
    }
    if (rest.length === 0) {
      const list = resourceList(reg, group, version);
      if (list) return send(res, 200, list);
      throw errors.notFound("", "", path);
    }
    const r = route(ctx, group, version, rest);
    if (!r) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    return await serveResource(ctx, req, res, r, url, accept);
  }
  throw new ApiError(404, "NotFound", "the server could not find the requested resource");
}

function listOptions(url: URL): ListOptions {
  return { labelSelector: url.searchParams.get("labelSelector"), fieldSelector: url.searchParams.get("fieldSelector") };
}

async function serveResource(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  r: Route,
  url: URL,
  accept: string,
): Promise<void> {
  const { api } = ctx;
  const { def } = r;
  const q = url.searchParams;
  const method = req.method ?? "GET";
  const dryRun = q.getAll("dryRun").includes("All");
  const fieldManager = q.get("fieldManager") ?? managerFromAgent(req.headers["user-agent"]);
  const contentType = String(req.headers["content-type"] ?? "application/json");
  const isWatch = r.watch || q.get("watch") === "true" || q.get("watch") === "1";

  if (r.sub === "log") {
    if (method !== "GET") throw errors.methodNotAllowed("only GET is allowed on pods/log");
    return serveLog(ctx, res, r, q);
  }
  if (r.sub === "scale") return serveScale(ctx, req, res, r, contentType, fieldManager);
  if (r.sub === "finalize") {
    const body = parseBody(await readBody(req), contentType) as Obj;
    const cur = api.get(def, r.ns, r.name!);
    cur.spec = body?.spec ?? cur.spec;
    return send(res, 200, api.update(def, r.ns, r.name!, cur, {}));
  }

  if (r.name === undefined || (isWatch && method === "GET")) {
    const opts = listOptions(url);
    if (r.name !== undefined) {
      opts.fieldSelector = [opts.fieldSelector, `metadata.name=${r.name}`].filter(Boolean).join(",");
    }
    if (method === "GET") {
      if (isWatch) return serveWatch(ctx, req, res, def, r.ns, opts, q, accept);
      return serveList(ctx, res, def, r.ns, opts, q, accept);
    }
    if (method === "POST") {
      const body = parseBody(await readBody(req), contentType) as Obj;
      const created = api.create(def, r.ns, body, { dryRun, fieldManager });
      return send(res, 201, created);
    }
    if (method === "DELETE") {
      const body = (parseBody(await readBody(req), contentType) ?? {}) as Obj;
      return send(
        res,
        200,
        api.deleteCollection(def, r.ns, opts, {
          dryRun,
          propagationPolicy: q.get("propagationPolicy") ?? body.propagationPolicy,
        }),
      );
    }
    throw errors.methodNotAllowed(`${method} is not allowed on a collection`);
  }

  const subresource = r.sub;
  switch (method) {
    case "GET": {
      const o = api.get(def, r.ns, r.name);
      return send(res, 200, present(def, o, accept, q));
    }
    case "PUT": {
      const body = parseBody(await readBody(req), contentType) as Obj;
      return send(res, 200, api.update(def, r.ns, r.name, body, { dryRun, fieldManager, subresource }));
    }
    case "PATCH": {
      const body = parseBody(await readBody(req), contentType);
      const force = q.get("force") === "true";
      const existed = api.tryGet(def, r.ns, r.name) !== undefined;
      const out = api.patch(def, r.ns, r.name, contentType, body, {
        dryRun,
        fieldManager: q.get("fieldManager") ?? (contentType.includes("apply-patch") ? undefined : fieldManager),
        subresource,
        force,
      });
      return send(res, existed ? 200 : 201, out);
    }
    case "DELETE": {
      const body = (parseBody(await readBody(req), contentType) ?? {}) as Obj;
      const out = api.delete(def, r.ns, r.name, {
        dryRun,
        propagationPolicy: q.get("propagationPolicy") ?? body.propagationPolicy,
        preconditions: body.preconditions,
      });
      return send(res, 200, out);
    }
  }
  throw errors.methodNotAllowed(`${method} is not allowed`);
}

/** The default field manager, as the API server derives it from the user agent. */
function managerFromAgent(agent: string | undefined): string {
  const a = String(agent ?? "unknown");
  return a.split("/")[0] || "unknown";
}

function present(def: ResourceDef, o: Obj, accept: string, q: URLSearchParams): Obj {
  if (accept.includes("as=Table")) {
    return toTable(def.kind, [o], { resourceVersion: o.metadata.resourceVersion }, q.get("includeObject"));
  }
  if (accept.includes("as=PartialObjectMetadata")) return toPartial(o);
  return o;
}

interface ContinueToken {
  rv: number;
  start: string;
}

function serveList(
  ctx: ServerContext,
  res: ServerResponse,
  def: ResourceDef,
  ns: string | undefined,
  opts: ListOptions,
  q: URLSearchParams,
  accept: string,
): void {
  const store = ctx.api.store;
  let items = ctx.api.list(def, ns, opts);
  let rv = store.resourceVersion;
  const cont = q.get("continue");
  if (cont) {
    let tok: ContinueToken;
    try {
      tok = JSON.parse(Buffer.from(cont, "base64url").toString("utf8")) as ContinueToken;
    } catch {
      throw errors.badRequest("continue key is not valid: illegal base64 data");
    }
    if (tok.rv < store.compactedResourceVersion) {
      throw errors.gone(
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
      );
    }
    rv = tok.rv;
    items = items.filter((o) => itemKey(o) > tok.start);
  }
  const limit = Number(q.get("limit") ?? "0");
  const meta: Obj = { resourceVersion: String(rv) };
  if (limit > 0 && items.length > limit) {
    const rest = items.length - limit;
    items = items.slice(0, limit);
    const tok: ContinueToken = { rv, start: itemKey(items[items.length - 1]!) };
    meta.continue = Buffer.from(JSON.stringify(tok)).toString("base64url");
    meta.remainingItemCount = rest;
  }
  if (accept.includes("as=Table")) {
    send(res, 200, toTable(def.kind, items, meta, q.get("includeObject")));
    return;
  }
  if (accept.includes("as=PartialObjectMetadataList")) {
    send(res, 200, {
      kind: "PartialObjectMetadataList",
      apiVersion: "meta.k8s.io/v1",
      metadata: meta,
      items: items.map(toPartial),
    });
    return;
  }
  send(res, 200, { kind: `${def.kind}List`, apiVersion: groupVersion(def), metadata: meta, items });
}

function itemKey(o: Obj): string {
  return `${o.metadata?.namespace ?? ""}\u0000${o.metadata?.name ?? ""}`;
}

function serveWatch(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  def: ResourceDef,
  ns: string | undefined,
  opts: ListOptions,
  q: URLSearchParams,
  accept: string,
): void {
  const { api } = ctx;
  const store = api.store;
  const asTable = accept.includes("as=Table");
  const key = resourceKey(def);
  const labels = parseLabelSelector(opts.labelSelector);
  const fields = parseFieldSelector(opts.fieldSelector);
  const matches = (o: Obj | undefined): boolean =>
    !!o &&
    (!def.namespaced || ns === undefined || o.metadata?.namespace === ns) &&
    matchLabels(labels, o.metadata?.labels) &&
    matchFields(fields, o);
  const bookmarks = q.get("allowWatchBookmarks") === "true";
  const sendInitial = q.get("sendInitialEvents") === "true";
  const rvParam = q.get("resourceVersion");

  res.writeHead(200, {
    "Content-Type": "application/json",
    "Transfer-Encoding": "chunked",
    "Cache-Control": "no-cache",
  });
  res.flushHeaders();
  ctx.streams.add(res);
  const write = (type: string, object: Obj): void => {
    const out =
      asTable && type !== "ERROR" && type !== "BOOKMARK"
        ? toTable(def.kind, [object], { resourceVersion: object.metadata?.resourceVersion }, q.get("includeObject"))
        : object;
    res.write(`${JSON.stringify({ type, object: out })}\n`);
  };
  let last = 0;
  const deliver = (e: StoreEvent): void => {
    if (e.key !== key || e.rv <= last) return;
    last = e.rv;
    const now = matches(e.obj);
    const before = matches(e.prev);
    const obj = api.present(def, structuredClone(e.obj));
    if (e.type === "ADDED" && now) write("ADDED", obj);
    else if (e.type === "MODIFIED") {
      if (now && before) write("MODIFIED", obj);
      else if (now) write("ADDED", obj);
      else if (before) write("DELETED", obj);
    } else if (e.type === "DELETED" && (now || before)) write("DELETED", obj);
  };
  const pending: StoreEvent[] = [];
  let live = false;
  const unsubscribe = store.subscribe((e) => {
    if (live) deliver(e);
    else pending.push(e);
  });
  let timer: NodeJS.Timeout | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  const finish = (): void => {
    unsubscribe();
    if (timer) clearTimeout(timer);
    if (bookmarkTimer) clearInterval(bookmarkTimer);
    ctx.streams.delete(res);
    if (!res.writableEnded) res.end();
  };
  req.on("close", finish);
  res.on("close", finish);

  const bookmark = (annotations?: Record<string, string>): void => {
    write("BOOKMARK", {
      kind: def.kind,
      apiVersion: groupVersion(def),
      metadata: {
        resourceVersion: String(Math.max(last, store.resourceVersion)),
        ...(annotations ? { annotations } : {}),
      },
    });
  };

  if (!rvParam || rvParam === "0" || sendInitial) {
    last = store.resourceVersion;
    for (const o of api.list(def, ns, opts)) write("ADDED", o);
    if (sendInitial && bookmarks) bookmark({ "k8s.io/initial-events-end": "true" });
  } else {
    const from = Number(rvParam);
    if (!Number.isFinite(from)) {
      write("ERROR", errors.badRequest(`invalid resource version: ${rvParam}`).toStatus());
      finish();
      return;
    }
    const events = store.eventsSince(key, from);
    if (events === "gone") {
      write(
        "ERROR",
        errors.gone(`too old resource version: ${from} (${store.compactedResourceVersion + 1})`).toStatus(),
      );
      finish();
      return;
    }
    last = from;
    for (const e of events) deliver(e);
    last = Math.max(last, from);
  }
  live = true;
  for (const e of pending) deliver(e);
  const timeout = Number(q.get("timeoutSeconds") ?? "0");
  if (timeout > 0) timer = setTimeout(finish, timeout * 1000);
  if (bookmarks) bookmarkTimer = setInterval(() => bookmark(), 5000);
}

function serveLog(ctx: ServerContext, res: ServerResponse, r: Route, q: URLSearchParams): void {
  const pod = ctx.api.get(r.def, r.ns, r.name!);
  const containers = ((pod.spec?.containers ?? []) as Obj[]).map((c) => String(c.name));
  const all = [...containers, ...((pod.spec?.initContainers ?? []) as Obj[]).map((c) => String(c.name))];
  let container = q.get("container") ?? "";
  if (!container) {
    const preferred = pod.metadata?.annotations?.["kubectl.kubernetes.io/default-container"];
    if (containers.length === 1) container = containers[0]!;
    else if (preferred && containers.includes(preferred)) container = preferred;
    else {
      throw errors.badRequest(
        `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.join(" ")}]`,
      );
    }
  }
  if (!all.includes(container)) {
    throw errors.badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`);
  }
  const ns = String(pod.metadata.namespace);
  const name = String(pod.metadata.name);
  const timestamps = q.get("timestamps") === "true";
  const sinceSeconds = q.get("sinceSeconds");
  const sinceTime = q.get("sinceTime");
  const since = sinceSeconds
    ? new Date(Date.now() - Number(sinceSeconds) * 1000)
    : sinceTime
      ? new Date(sinceTime)
      : undefined;
  let text = ctx.logs.read(ns, name, container, { timestamps, since });
  const tailLines = q.get("tailLines");
  if (tailLines !== null) text = tail(text, Number(tailLines));
  const limitBytes = q.get("limitBytes");
  if (limitBytes !== null) text = text.slice(0, Number(limitBytes));
  if (q.get("follow") !== "true") {
    send(res, 200, text, "text/plain");
    return;
  }
  res.writeHead(200, { "Content-Type": "text/plain", "Transfer-Encoding": "chunked" });
  if (text) res.write(text);
  else res.flushHeaders();
  ctx.streams.add(res);
  const phase = pod.status?.phase;
  let stop = (): void => {};
  const end = (): void => {
    stop();
    ctx.streams.delete(res);
    if (!res.writableEnded) res.end();
  };
  if (phase === "Succeeded" || phase === "Failed") {
    end();
    return;
  }
  stop = ctx.logs.follow(ns, name, container, (chunk) => {
    if (chunk === null) end();
    else res.write(timestamps ? stamp(chunk, new Date()) : chunk);
  });
  res.on("close", end);
}

async function serveScale(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  r: Route,
  contentType: string,
  fieldManager: string,
): Promise<void> {
  const { api } = ctx;
  const toScale = (o: Obj): Obj => ({
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: o.spec?.replicas ?? 0 },
    status: {
      replicas: o.status?.replicas ?? 0,
      selector: Object.entries((o.spec?.selector?.matchLabels ?? {}) as Record<string, string>)
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
    },
  });
  const cur = api.get(r.def, r.ns, r.name!);
  if (req.method === "GET") return send(res, 200, toScale(cur));
  const body = parseBody(await readBody(req), contentType) as Obj;
  let replicas: number;
  if (req.method === "PUT") {
    if (body.metadata?.resourceVersion && body.metadata.resourceVersion !== cur.metadata.resourceVersion) {
      throw errors.conflict(r.def.group, r.def.plural, r.name!);
    }
    replicas = Number(body.spec?.replicas ?? 0);
  } else if (req.method === "PATCH") {
    const scale = toScale(cur);
    const patched = api.applyPatchToValue(contentType, scale, body);
    replicas = Number(patched.spec?.replicas ?? 0);
  } else throw errors.methodNotAllowed("method not allowed on scale");
  cur.spec.replicas = replicas;
  delete cur.metadata.resourceVersion;
  const updated = api.update(r.def, r.ns, r.name!, cur, { fieldManager });
  send(res, 200, toScale(updated));
}
