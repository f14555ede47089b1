// The tunnel contract ("link" v1): subprotocol name, close codes, size limits and a zod schema for every frame.
import { createHash } from "node:crypto";
import { z } from "zod";

/** Sent in Sec-WebSocket-Protocol; a new major protocol gets a new name and both are served during a migration. */
export const LINK_SUBPROTOCOL = "camel-ops-link.v1";
export const LINK_VERSION = 1;
/** Path of the WebSocket endpoint; the agent JWT's audience is `<publicUrl>` + this path. */
export const TUNNEL_PATH = "/v1/tunnel";
export const tunnelAudience = (publicUrl: string) => `${publicUrl.replace(/\/+$/, "")}${TUNNEL_PATH}`;

/**
 * Close codes: the one table. `reconnect` says what a well-behaved agent does next.
 *
 * | code | name              | when                                                                  | agent reaction                          |
 * | ---- | ----------------- | --------------------------------------------------------------------- | --------------------------------------- |
 * | 1000 | NORMAL            | the agent or the cloud ended the session on purpose                   | reconnect with backoff                  |
 * | 1001 | GOING_AWAY        | the gateway drains (deploy, SIGTERM); preceded by `goaway`            | reconnect after `goaway.reconnectAfterMs` |
 * | 1009 | MESSAGE_TOO_BIG   | a frame exceeded the socket's maxPayload (enforced by `ws`)           | reconnect with backoff                  |
 * | 1011 | INTERNAL_ERROR    | the cloud failed while serving the session                            | reconnect with backoff                  |
 * | 4001 | AUTH_FAILED       | the session's identity no longer verifies (e.g. hello names another appliance) | re-sign a token, reconnect with backoff |
 * | 4003 | REVOKED           | license suspended, revoked or expired, or appliance disabled          | back off to the maximum; keep trying slowly |
 * | 4009 | SUPERSEDED        | a newer session of the same appliance fenced this one (epoch)         | reconnect with backoff                  |
 * | 4029 | OVERLOADED        | the gateway sheds load; the reason holds `retryAfterMs=<n>`           | wait that long, then reconnect          |
 * | 4400 | PROTOCOL_ERROR    | malformed JSON, a frame failing its schema, frames out of order        | reconnect with backoff                  |
 * | 4404 | UNKNOWN_FRAME     | a frame `type` (or `v`) this end does not know                         | reconnect with backoff                  |
 * | 4408 | HEARTBEAT_TIMEOUT | nothing received for `deadAfterMs`                                    | reconnect with backoff                  |
 * | 4413 | FRAME_TOO_LARGE   | a frame exceeded its per-type limit (`frameLimits`)                   | reconnect with backoff                  |
 *
 * Before the upgrade completes the gateway answers plain HTTP instead: 401 (token invalid, expired, replayed,
 * wrong audience), 403 (license not active, appliance disabled), 429 (admission rate limit) and 503
 * (draining), the last two with `Retry-After` (seconds) and `X-Retry-After-Ms`.
 */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  AUTH_FAILED: 4001,
  REVOKED: 4003,
  SUPERSEDED: 4009,
  OVERLOADED: 4029,
  PROTOCOL_ERROR: 4400,
  UNKNOWN_FRAME: 4404,
  HEARTBEAT_TIMEOUT: 4408,
  FRAME_TOO_LARGE: 4413,
} as const;
export type CloseCodeName = keyof typeof CloseCode;

export function closeCodeName(code: number): CloseCodeName | "UNKNOWN" {
  for (const [name, value] of Object.entries(CloseCode)) if (value === code) return name as CloseCodeName;
  return "UNKNOWN";
}

/** Hard cap of any frame (the ws maxPayload on both ends). */
export const MAX_FRAME_BYTES = 1_048_576;

const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Longest `stream.data` chunk, in characters. */
export const STREAM_CHUNK_CHARS = 16_384;
/** Chunks a stream may have in flight before the cloud's first credit; the cloud keeps granting this window. */
export const STREAM_WINDOW = 8;
const shortText = z.string().max(256);
const jsonRecord = z.record(z.string(), z.unknown());
const base = { v: z.literal(LINK_VERSION) };

export const clusterFactsSchema = z.object({
  kubernetesVersion: z.string().max(64),
  distribution: z.enum(["k3s", "kubernetes", "unknown"]),
  nodeCount: z.number().int().min(0).max(100_000),
  namespace: z.string().max(253),
  mode: z.enum(["appliance", "native", "agent-only"]),
});

export type ClusterFactsWire = z.infer<typeof clusterFactsSchema>;

/** Data of the agent event kind "apply.result" (mirrors ClusterPort's ApplyResult). */
export const applyResultSchema = z.object({
  generation: seq,
  outcome: z.enum(["healthy", "failed", "rolled-back"]),
  revision: z.number().int().optional(),
  chartVersion: z.string().max(64).optional(),
  evidence: z
    .object({
      helmError: z.string().max(65_536).optional(),
      failingResources: z
        .array(z.object({ kind: z.string(), name: z.string(), reason: z.string() }))
        .max(200)
        .optional(),
    })
    .optional(),
  message: z.string().max(8192),
});
export type ApplyResultWire = z.infer<typeof applyResultSchema>;

export const desiredStateSchema = z.object({
  generation: seq,
  release: z
    .object({
      id: z.string().max(64),
      chartVersion: z.string().max(64),
      chartDigest: z.string().max(128),
      chartUrl: z.string().max(2048),
    })
    .nullable(),
  values: jsonRecord,
  valuesDigest: z.string().max(128),
});

// ---- agent -> cloud ----

export type DesiredStateWire = z.infer<typeof desiredStateSchema>;

export const helloFrame = z.object({
  type: z.literal("hello"),
  ...base,
  applianceId: z.string().max(64),
  agentVersion: shortText,
  capabilities: z.array(z.string().max(64)).max(64),
  /** cumulative: every command with seq <= this has been received and recorded by the agent */
  lastCommandSeq: seq,
  /** the highest event seq the agent has produced (events above the cloud's ack are re-sent after hello) */
  lastEventSeq: seq,
  observedGeneration: seq,
  /** desiredStateDigest() of the desired state the agent holds, "" when none */
  stateDigest: z.string().max(128),
  facts: clusterFactsSchema.optional(),
});

export const pingFrame = z.object({ type: z.literal("ping"), ...base, t: z.number() });
export const pongFrame = z.object({ type: z.literal("pong"), ...base, t: z.number() });

export const commandAckFrame = z.object({ type: z.literal("command.ack"), ...base, upTo: seq });

export const commandStatusFrame = z.object({
  type: z.literal("command.status"),
  ...base,
  id: z.string().max(64),
  seq,
  status: z.literal("running"),
});

export const commandResultFrame = z.object({
  type: z.literal("command.result"),
  ...base,
  id: z.string().max(64),
  seq,
  status: z.enum(["succeeded", "failed", "expired"]),
  result: z.unknown().optional(),
  error: z.string().max(8192).optional(),
});

export const agentEventSchema = z.object({
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  kind: z.string().min(1).max(64),
  at: z.string().max(40),
  data: jsonRecord,
});
export type AgentEvent = z.infer<typeof agentEventSchema>;

export const eventsFrame = z.object({
  type: z.literal("events"),
  ...base,
  events: z.array(agentEventSchema).min(1).max(500),
});

export const metricSampleSchema = z.object({
  name: z.string().min(1).max(128),
  value: z.number(),
  at: z.string().max(40),
  labels: z.record(z.string(), z.string().max(256)).optional(),
});
export type MetricSample = z.infer<typeof metricSampleSchema>;

export const metricsFrame = z.object({
  type: z.literal("metrics"),
  ...base,
  samples: z.array(metricSampleSchema).max(2000),
  /** samples the agent dropped (buffer full) since it started */
  dropped: seq,
});

/**
 * A chunk of a streaming command's output (`support.logs` with follow): `seq` counts from 1 per command. The agent
 * sends chunk `seq` only while `seq <= upTo` of the latest `stream.credit` (before any credit: STREAM_WINDOW), so
 * at most STREAM_WINDOW chunks are ever in flight and a heartbeat never queues behind more than that.
 */
export const streamDataFrame = z.object({
  type: z.literal("stream.data"),
  ...base,
  id: z.string().max(64),
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  data: z.string().max(STREAM_CHUNK_CHARS),
});

export const stateReportFrame = z.object({
  type: z.literal("state.report"),
  ...base,
  observedGeneration: seq,
  stateDigest: z.string().max(128),
  applying: z.boolean(),
});

// ---- cloud -> agent ----

export const welcomeFrame = z.object({
  type: z.literal("welcome"),
  ...base,
  sessionId: z.string().max(64),
  epoch: seq,
  heartbeatMs: z.number().int().positive(),
  deadAfterMs: z.number().int().positive(),
  stateCheckMs: z.number().int().positive(),
  limits: z.object({ maxFrameBytes: z.number().int().positive() }),
  /** highest event seq the cloud has committed for this appliance */
  lastEventSeq: seq,
  serverTime: z.string(),
});

export const commandFrame = z.object({
  type: z.literal("command"),
  ...base,
  id: z.string().max(64),
  seq: z.number().int().min(1),
  command: z.string().max(64),
  args: jsonRecord,
  expiresAt: z.string(),
});

export const eventsAckFrame = z.object({ type: z.literal("events.ack"), ...base, upTo: seq });

export const commandResultAckFrame = z.object({
  type: z.literal("command.result.ack"),
  ...base,
  id: z.string().max(64),
});

export const desiredFrame = z.object({ type: z.literal("desired"), ...base, desired: desiredStateSchema });

/** Credit for a stream: the agent may send chunks up to `upTo` (cumulative, so a repeated credit is harmless). */
export const streamCreditFrame = z.object({
  type: z.literal("stream.credit"),
  ...base,
  id: z.string().max(64),
  upTo: seq,
});

/** Ends a stream from the cloud's side (operator cancelled, stream limit reached, unknown stream). */
export const streamCancelFrame = z.object({
  type: z.literal("stream.cancel"),
  ...base,
  id: z.string().max(64),
  reason: shortText,
});

export const goawayFrame = z.object({
  type: z.literal("goaway"),
  ...base,
  reason: shortText,
  reconnectAfterMs: z.number().int().min(0),
});

export const agentFrameSchema = z.discriminatedUnion("type", [
  helloFrame,
  pingFrame,
  pongFrame,
  commandAckFrame,
  commandStatusFrame,
  commandResultFrame,
  eventsFrame,
  metricsFrame,
  stateReportFrame,
  streamDataFrame,
]);
export const cloudFrameSchema = z.discriminatedUnion("type", [
  welcomeFrame,
  pingFrame,
  pongFrame,
  commandFrame,
  eventsAckFrame,
  commandResultAckFrame,
  desiredFrame,
  goawayFrame,
  streamCreditFrame,
  streamCancelFrame,
]);
export type AgentFrame = z.infer<typeof agentFrameSchema>;
export type CloudFrame = z.infer<typeof cloudFrameSchema>;
export type FrameOf<F extends { type: string }, T extends F["type"]> = Extract<F, { type: T }>;
/** A frame to send, without the version field (send() adds it). */
export type Outgoing<F> = F extends { v: number } ? Omit<F, "v"> : never;

/** Per-type limits in bytes (UTF-8), below MAX_FRAME_BYTES. */
export const frameLimits: Record<AgentFrame["type"] | CloudFrame["type"], number> = {
  hello: 16_384,
  welcome: 4_096,
  ping: 256,
  pong: 256,
  "command.ack": 256,
  "command.status": 512,
  "command.result": 524_288,
  "command.result.ack": 256,
  events: 524_288,
  "events.ack": 256,
  metrics: 524_288,
  "state.report": 1_024,
  command: 262_144,
  desired: 524_288,
  goaway: 1_024,
  // a chunk of STREAM_CHUNK_CHARS UTF-16 units is at most 3 bytes each, 6 when JSON escapes control characters
  "stream.data": 6 * 16_384 + 512,
  "stream.credit": 256,
  "stream.cancel": 512,
};

export type ParseResult<F> = { ok: true; frame: F } | { ok: false; code: number; reason: string };

function parseWith<F extends { type: string }>(
  schema: z.ZodType<F>,
  known: ReadonlySet<string>,
  data: string,
  byteLength: number,
): ParseResult<F> {
  if (byteLength > MAX_FRAME_BYTES) return { ok: false, code: CloseCode.MESSAGE_TOO_BIG, reason: "frame too big" };
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return { ok: false, code: CloseCode.PROTOCOL_ERROR, reason: "frame is not JSON" };
  }
  if (typeof raw !== "object" || raw === null || typeof (raw as { type?: unknown }).type !== "string") {
    return { ok: false, code: CloseCode.PROTOCOL_ERROR, reason: "frame has no type" };
  }
  const { type, v } = raw as { type: string; v?: unknown };
  if (!known.has(type)) return { ok: false, code: CloseCode.UNKNOWN_FRAME, reason: `unknown frame type` };
  if (v !== LINK_VERSION) return { ok: false, code: CloseCode.UNKNOWN_FRAME, reason: `unsupported frame version` };
  const limit = frameLimits[type as keyof typeof frameLimits];
  if (byteLength > limit) return { ok: false, code: CloseCode.FRAME_TOO_LARGE, reason: `${type} over ${limit} bytes` };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // close reasons are limited to 123 bytes
    return { ok: false, code: CloseCode.PROTOCOL_ERROR, reason: `bad ${type}: ${issue?.path.join(".")}`.slice(0, 120) };
  }
  return { ok: true, frame: parsed.data };
}

const agentTypes = new Set(agentFrameSchema.options.map((o) => o.shape.type.value as string));
const cloudTypes = new Set(cloudFrameSchema.options.map((o) => o.shape.type.value as string));

/** Parses a frame the cloud received from an agent. */
export const parseAgentFrame = (data: string, byteLength = Buffer.byteLength(data)) =>
  parseWith<AgentFrame>(agentFrameSchema as z.ZodType<AgentFrame>, agentTypes, data, byteLength);
/** Parses a frame the agent received from the cloud. */
export const parseCloudFrame = (data: string, byteLength = Buffer.byteLength(data)) =>
  parseWith<CloudFrame>(cloudFrameSchema as z.ZodType<CloudFrame>, cloudTypes, data, byteLength);

export function encodeFrame<F extends { type: string }>(frame: F): string {
  return JSON.stringify({ ...frame, v: LINK_VERSION });
}

/** Digest of a desired state, computed the same way by cloud and agent; "" for none. */
export function desiredStateDigest(
  d: { generation: number; valuesDigest: string; release: { id: string } | null } | null,
) {
  if (!d) return "";
  return createHash("sha256")
    .update(`${d.generation}\n${d.release?.id ?? ""}\n${d.valuesDigest}`)
    .digest("hex");
}

/** Close reason for OVERLOADED: `retryAfterMs=<n>`. */
export const overloadedReason = (ms: number) => `retryAfterMs=${Math.round(ms)}`;
export function retryAfterFromReason(reason: string): number | undefined {
  const m = /retryAfterMs=(\d+)/.exec(reason);
  return m ? Number(m[1]) : undefined;
}
