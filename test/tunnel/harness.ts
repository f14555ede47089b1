// Cross-component tunnel harness: a real cloud (startCloud on an ephemeral port) with the gateway attached and
// fast intervals, license tokens from the real API, and real agents over real sockets with simulated clusters.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import WebSocket from "ws";
import { type Agent, type AgentOptions, createAgent } from "../../agent/src/agent.ts";
import { generateAgentKey, MemoryKeyStore } from "../../agent/src/keystore.ts";
import { SimCluster } from "../../agent/src/sim-cluster.ts";
import { MemoryStateStore } from "../../agent/src/state-store.ts";
import { loadConfig } from "../../cloud/src/config.ts";
import type { Database } from "../../cloud/src/db/client.ts";
import type { DeepPartialGatewayOptions, Gateway } from "../../cloud/src/gateway/gateway.ts";
import { type RunningCloud, startCloud } from "../../cloud/src/server.ts";
import { attachTunnel, tunnelRouters } from "../../cloud/src/tunnel/index.ts";
import { signAgentToken } from "../../shared/src/protocol/agent-token.ts";
import { LINK_SUBPROTOCOL } from "../../shared/src/protocol/frames.ts";

/** Intervals in milliseconds so tests finish quickly. */
export const fastGateway: DeepPartialGatewayOptions = {
  heartbeatMs: 100,
  deadAfterMs: 1_500,
  helloTimeoutMs: 2_000,
  stateCheckMs: 300,
  sweepMs: 100,
  closeTimeoutMs: 500,
  admission: { ratePerSec: 100_000, burst: 100_000, retryAfterMs: [50, 200] },
  drainSpreadMs: 100,
  drainTimeoutMs: 1_000,
  drainRetryAfterMs: [50, 200],
  ingest: { flushMs: 10 },
};

export const fastAgent: Partial<AgentOptions> = {
  backoff: { baseMs: 20, maxMs: 300 },
  connectTimeoutMs: 3_000,
  closeTimeoutMs: 500,
  telemetryIntervalMs: 50,
  stableAfterMs: 500,
};

/** The bootstrap admin key per database, so several clouds (restarts, replicas) can share one database. */
const adminKeys = new WeakMap<Database, string>();

export interface TunnelCloud {
  cloud: RunningCloud;
  url: string;
  port: number;
  gateway: Gateway;
  adminKey: string;
  // biome-ignore lint/suspicious/noExplicitAny: API bodies are JSON the test inspects freely
  api<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  /** raw fetch (status checks) */
  fetch(method: string, path: string, body?: unknown): Promise<Response>;
  stop(): Promise<void>;
}

export async function startTunnelCloud(opts: {
  database: Database;
  gateway?: DeepPartialGatewayOptions;
  adminKey?: string;
  port?: number;
  /** what stop() does to the gateway: "close" (default), "drain" (goaway) or "kill" (like a crash) */
  onStop?: "drain" | "close" | "kill";
  /** PUBLIC_URL shared by replicas (the agent token audience); default: this cloud's own URL */
  publicUrl?: string;
}): Promise<TunnelCloud> {
  const config = loadConfig({
    PORT: String(opts.port ?? 0),
    HOST: "127.0.0.1",
    DATA_DIR: mkdtempSync(join(tmpdir(), "camelops-tunnel-")),
    LOG_LEVEL: "silent",
    KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    ...(opts.publicUrl ? { PUBLIC_URL: opts.publicUrl } : {}),
  });
  let gateway: Gateway | undefined;
  const cloud = await startCloud(config, {
    database: opts.database,
    logger: pino({ level: process.env.TUNNEL_TEST_LOG_LEVEL ?? "silent" }),
    routers: tunnelRouters,
    attach: [
      attachTunnel({
        ...fastGateway,
        ...opts.gateway,
        onStop: opts.onStop ?? "close",
        onGateway: (g) => {
          gateway = g;
        },
      }),
    ],
  });
  const adminKey = opts.adminKey ?? cloud.bootstrap?.secret ?? adminKeys.get(opts.database);
  if (adminKey) adminKeys.set(opts.database, adminKey);
  if (!adminKey) throw new Error("no admin key: pass the first cloud's key when restarting on the same database");
  const doFetch = (method: string, path: string, body?: unknown) =>
    fetch(cloud.url + path, {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  return {
    cloud,
    url: cloud.url,
    port: cloud.port,
    gateway: gateway!,
    adminKey,
    fetch: doFetch,
    async api(method, path, body) {
      const res = await doFetch(method, path, body);
      const text = await res.text();
      const data = text ? JSON.parse(text) : null;
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${data?.error?.message ?? text}`);
      return data;
    },
    stop: () => cloud.stop(),
  };
}

/** A customer, a license and its token, through the real API. */
export async function issueLicense(
  tc: Pick<TunnelCloud, "api">,
  opts: { maxHubs?: number; expiresAt?: Date } = {},
): Promise<{ licenseId: string; customerId: string; token: string }> {
  const customer = await tc.api("POST", "/v1/customers", {
    name: `customer ${Math.random().toString(36).slice(2, 8)}`,
  });
  const license = await tc.api("POST", "/v1/licenses", {
    customerId: customer.id,
    expiresAt: (opts.expiresAt ?? new Date(Date.now() + 30 * 86400_000)).toISOString(),
    entitlements: { maxWorkerNodes: 3, maxHubs: opts.maxHubs ?? 1, updateChannel: "stable", features: [] },
  });
  const { token } = await tc.api("GET", `/v1/licenses/${license.id}/token`);
  return { licenseId: license.id, customerId: customer.id, token };
}

export interface TestAgent {
  agent: Agent;
  cluster: SimCluster;
  stateStore: MemoryStateStore;
  keyStore: MemoryKeyStore;
  applianceId(): string;
}

export function makeAgent(
  url: string,
  licenseToken: string,
  opts: Partial<AgentOptions> & { cluster?: SimCluster; stateStore?: MemoryStateStore; keyStore?: MemoryKeyStore } = {},
): TestAgent {
  const cluster = opts.cluster ?? new SimCluster();
  const stateStore = opts.stateStore ?? new MemoryStateStore();
  const keyStore = opts.keyStore ?? new MemoryKeyStore();
  const agent = createAgent({
    cloudUrl: url,
    licenseToken,
    cluster,
    stateStore,
    keyStore,
    ...fastAgent,
    ...opts,
  });
  return {
    agent,
    cluster,
    stateStore,
    keyStore,
    applianceId: () => {
      const id = agent.status().applianceId;
      if (!id) throw new Error("agent not enrolled yet");
      return id;
    },
  };
}

/** Polls `fn` until it returns a truthy value (or throws after timeoutMs). */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- raw link clients (no agent): for protocol and security tests ----

export const simFacts = {
  kubernetesVersion: "v1.31.4",
  distribution: "k3s",
  nodeCount: 1,
  namespace: "camel-ops",
  mode: "appliance",
} as const;

export async function enrollRaw(tc: Pick<TunnelCloud, "url">, licenseToken: string) {
  const key = generateAgentKey();
  const res = await fetch(`${tc.url}/v1/enroll`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ licenseToken, publicKey: key.publicJwk, facts: simFacts }),
  });
  if (res.status !== 201) throw new Error(`enroll failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { applianceId: string; audience: string; tunnelUrl: string };
  return { ...body, key };
}

export type UpgradeOutcome =
  | { open: true; ws: WebSocket }
  | { open: false; status: number; reason: string; retryAfterMs?: number };

/** Attempts the upgrade with a bearer token; resolves with the open socket or the HTTP refusal. */
export function tryUpgrade(
  tunnelUrl: string,
  token: string | undefined,
  protocol = LINK_SUBPROTOCOL,
): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(tunnelUrl, protocol, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      handshakeTimeout: 5_000,
    });
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      const ms = res.headers["x-retry-after-ms"];
      resolve({
        open: false,
        status: res.statusCode ?? 0,
        reason: String(res.headers["x-refused-reason"] ?? ""),
        ...(ms ? { retryAfterMs: Number(ms) } : {}),
      });
      ws.terminate();
    });
    ws.once("open", () => resolve({ open: true, ws }));
    ws.on("error", (err) => reject(err));
  });
}

export function helloFor(applianceId: string) {
  return {
    type: "hello",
    v: 1,
    applianceId,
    agentVersion: "raw-test",
    capabilities: [],
    lastCommandSeq: 0,
    lastEventSeq: 0,
    observedGeneration: 0,
    stateDigest: "",
  };
}

/** Opens a session by hand: token, upgrade, hello, welcome. */
export async function rawSession(enrolled: {
  applianceId: string;
  audience: string;
  tunnelUrl: string;
  key: ReturnType<typeof generateAgentKey>;
}): Promise<{ ws: WebSocket; welcome: Record<string, unknown>; closed: Promise<{ code: number; reason: string }> }> {
  const token = await signAgentToken({
    applianceId: enrolled.applianceId,
    audience: enrolled.audience,
    privateKey: enrolled.key.privateKey,
  });
  const out = await tryUpgrade(enrolled.tunnelUrl, token);
  if (!out.open) throw new Error(`upgrade refused: ${out.status} ${out.reason}`);
  const ws = out.ws;
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.once("close", (code, reason) => r({ code, reason: reason.toString() })),
  );
  const welcome = new Promise<Record<string, unknown>>((resolve, reject) => {
    ws.on("message", (d) => {
      const f = JSON.parse(d.toString()) as Record<string, unknown>;
      if (f.type === "welcome") resolve(f);
    });
    ws.once("close", (code) => reject(new Error(`closed ${code} before welcome`)));
  });
  ws.send(JSON.stringify(helloFor(enrolled.applianceId)));
  return { ws, welcome: await welcome, closed };
}
