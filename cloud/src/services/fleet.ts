// Fleet verbs: the appliance list (filter, search, sort, keyset pages), summary counts, the per-appliance
// timeline, pins; and syncFleetAppliances, which keeps the fleet projection (channel, running release) current.
import { and, asc, desc, eq, or, type SQL, sql } from "drizzle-orm";
import type { DbOrTx } from "../db/client.ts";
import { appliances, customers, fleetAppliances, licenses, releases } from "../db/schema/index.ts";
import { writeAudit } from "../lib/audit.ts";
import type { ServiceContext } from "../lib/context.ts";
import { AppError, notFound } from "../lib/errors.ts";
import { assertRole } from "../lib/scope.ts";
import { EMPTY_VALUES_DIGEST, releasePayload } from "../rollouts/engine.ts";
import { getDesiredState, setDesiredState } from "../tunnel/desired-state.ts";

export const fleetSorts = ["lastSeen", "-lastSeen", "name", "-name", "version", "-version"] as const;
export type FleetSort = (typeof fleetSorts)[number];
export const fleetStatuses = ["online", "offline", "degraded"] as const;

export interface FleetListInput {
  status?: (typeof fleetStatuses)[number];
  channel?: string;
  customerId?: string;
  tag?: string;
  version?: string;
  k8sVersion?: string;
  /** at least this many versions behind the newest release of its channel */
  minVersionsBehind?: number;
  q?: string;
  sort?: FleetSort;
  cursor?: string;
  limit: number;
}

const degradedExpr = sql`(${appliances.lastApply}->>'outcome') in ('failed', 'rolled-back')`;
const statusExpr = sql<"online" | "offline" | "degraded">`case when not ${appliances.online} then 'offline'
  when ${degradedExpr} then 'degraded' else 'online' end`;
const lastSeenKey = sql`coalesce(${appliances.lastSeenAt}, 'epoch'::timestamptz)`;
const versionKeyExpr = sql`coalesce(${fleetAppliances.versionKey}, '')`;
const k8sExpr = sql<string | null>`(${appliances.facts}->>'kubernetesVersion')`;
const behindExpr = sql<number | null>`case when ${fleetAppliances.releaseSeq} is null then null else
  (select count(*)::int from ${releases} r where r.org_id = ${fleetAppliances.orgId} and r.channel = ${fleetAppliances.channel}
   and r.state = 'published' and r.seq > ${fleetAppliances.releaseSeq}) end`;

interface Cursor {
  k: string | null;
  id: string;
}

function encodeFleetCursor(c: Cursor) {
  return Buffer.from(JSON.stringify(c), "utf8").toString("base64url");
}

function decodeFleetCursor(raw: string | undefined): Cursor | undefined {
  if (!raw) return undefined;
  try {
    const c = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as Cursor;
    if (typeof c.id === "string" && /^apl_[0-9A-Z]{26}$/.test(c.id) && (c.k === null || typeof c.k === "string"))
      return c;
  } catch {
    // fall through
  }
  throw new AppError("VALIDATION_FAILED", "cursor: not a cursor returned by this API", {
    issues: [{ field: "cursor", message: "not a cursor returned by this API" }],
  });
}

function sortSpec(sort: FleetSort) {
  const descending = sort.startsWith("-");
  const field = descending ? sort.slice(1) : sort;
  const key: SQL = field === "lastSeen" ? lastSeenKey : field === "name" ? sql`${appliances.name}` : versionKeyExpr;
  const castKey = (v: string) => (field === "lastSeen" ? sql`${v}::timestamptz` : sql`${v}`);
  // sorted by version, the page walks the fleet projection's index: its appliance id breaks ties, and an
  // appliance enrolled since the last fleet sync (seconds) joins these pages at the next one
  const tie = field === "version" ? sql`${fleetAppliances.applianceId}` : sql`${appliances.id}`;
  return { descending, field, key, castKey, tie };
}

/** The where clause of the fleet list (shared with the summary and the benchmark). */
export function fleetFilters(orgId: string, input: Omit<FleetListInput, "limit" | "cursor" | "sort">): SQL {
  const conds: (SQL | undefined)[] = [eq(appliances.orgId, orgId)];
  if (input.status === "offline") conds.push(sql`not ${appliances.online}`);
  if (input.status === "online") conds.push(sql`${appliances.online} and not coalesce(${degradedExpr}, false)`);
  if (input.status === "degraded") conds.push(sql`${appliances.online} and ${degradedExpr}`);
  if (input.channel) conds.push(eq(fleetAppliances.channel, input.channel));
  if (input.customerId) conds.push(eq(appliances.customerId, input.customerId));
  if (input.tag) conds.push(sql`${customers.tags} @> ${JSON.stringify([input.tag])}::jsonb`);
  if (input.version) conds.push(eq(fleetAppliances.chartVersion, input.version));
  if (input.k8sVersion) conds.push(sql`${k8sExpr} = ${input.k8sVersion}`);
  if (input.minVersionsBehind !== undefined) conds.push(sql`${behindExpr} >= ${input.minVersionsBehind}`);
  if (input.q) {
    const like = `%${input.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    // inside appliance names (a trigram index on Postgres) or an exact id; customers are found with customerId
    conds.push(or(sql`${appliances.name} ilike ${like}`, eq(appliances.id, input.q)));
  }
  return and(...conds)!;
}

export async function listFleet({ ctx, input }: { ctx: ServiceContext; input: FleetListInput }) {
  assertRole(ctx.actor, "viewer");
  return queryFleet(ctx.deps.db, ctx.actor.orgId, input);
}

export async function queryFleet(db: DbOrTx, orgId: string, input: FleetListInput) {
  const { descending, field, key, castKey, tie } = sortSpec(input.sort ?? "name");
  const cursor = decodeFleetCursor(input.cursor);
  const after = cursor
    ? descending
      ? sql`(${key}, ${tie}) < (${castKey(cursor.k ?? "")}, ${cursor.id})`
      : sql`(${key}, ${tie}) > (${castKey(cursor.k ?? "")}, ${cursor.id})`
    : undefined;
  const base = db
    .select({
      id: appliances.id,
      name: appliances.name,
      customerId: appliances.customerId,
      customerName: customers.name,
      tags: customers.tags,
      status: statusExpr,
      lastSeenAt: appliances.lastSeenAt,
      agentVersion: appliances.agentVersion,
      chartVersion: fleetAppliances.chartVersion,
      releaseId: fleetAppliances.releaseId,
      channel: sql<string>`coalesce(${fleetAppliances.channel}, ${licenses.entitlements}->>'updateChannel')`,
      pinnedReleaseId: fleetAppliances.pinnedReleaseId,
      versionsBehind: behindExpr,
      kubernetesVersion: k8sExpr,
      sortKey:
        field === "lastSeen"
          ? sql<string>`to_char(${key} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
          : sql<string>`${key}::text`,
    })
    .from(appliances)
    .innerJoin(customers, eq(customers.id, appliances.customerId))
    .innerJoin(licenses, eq(licenses.id, appliances.licenseId));
  const joined =
    field === "version"
      ? base.innerJoin(fleetAppliances, eq(fleetAppliances.applianceId, appliances.id))
      : base.leftJoin(fleetAppliances, eq(fleetAppliances.applianceId, appliances.id));
  const rows = await joined
    // the projection's org column too, so the version index (org_id, version_key, appliance_id) gives the order
    .where(and(fleetFilters(orgId, input), field === "version" ? eq(fleetAppliances.orgId, orgId) : undefined, after))
    .orderBy(descending ? desc(key) : asc(key), descending ? desc(tie) : asc(tie))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > input.limit && last ? encodeFleetCursor({ k: last.sortKey, id: last.id }) : null;
  return {
    items: page.map(({ customerId, customerName, sortKey: _s, ...r }) => ({
      ...r,
      customer: { id: customerId, name: customerName },
    })),
    nextCursor,
  };
}

export async function fleetSummary({ ctx }: { ctx: ServiceContext }) {
  assertRole(ctx.actor, "viewer");
  const db = ctx.deps.db;
  const orgId = ctx.actor.orgId;
  const [counts] = await db
    .select({
      total: sql<number>`count(*)::int`,
      online: sql<number>`(count(*) filter (where ${appliances.online} and not coalesce(${degradedExpr}, false)))::int`,
      offline: sql<number>`(count(*) filter (where not ${appliances.online}))::int`,
      degraded: sql<number>`(count(*) filter (where ${appliances.online} and ${degradedExpr}))::int`,
      pinned: sql<number>`(count(${fleetAppliances.pinnedReleaseId}))::int`,
    })
    .from(appliances)
    .leftJoin(fleetAppliances, eq(fleetAppliances.applianceId, appliances.id))
    .where(eq(appliances.orgId, orgId));
  const byVersion = await db
    .select({ version: fleetAppliances.chartVersion, count: sql<number>`count(*)::int` })
    .from(appliances)
    .leftJoin(fleetAppliances, eq(fleetAppliances.applianceId, appliances.id))
    .where(eq(appliances.orgId, orgId))
    .groupBy(fleetAppliances.chartVersion, fleetAppliances.versionKey)
    .orderBy(desc(sql`coalesce(${fleetAppliances.versionKey}, '')`));
  const byChannel = await db
    .select({ channel: fleetAppliances.channel, count: sql<number>`count(*)::int` })
    .from(appliances)
    .leftJoin(fleetAppliances, eq(fleetAppliances.applianceId, appliances.id))
    .where(eq(appliances.orgId, orgId))
    .groupBy(fleetAppliances.channel)
    .orderBy(asc(fleetAppliances.channel));
  return {
    total: counts?.total ?? 0,
    online: counts?.online ?? 0,
    offline: counts?.offline ?? 0,
    degraded: counts?.degraded ?? 0,
    pinned: counts?.pinned ?? 0,
    byVersion: byVersion.map((v) => ({ version: v.version, count: v.count })),
    byChannel: byChannel.map((c) => ({ channel: c.channel, count: c.count })),
  };
}

export interface TimelineItem {
  at: string;
  kind: "event" | "version" | "rollout" | "command";
  summary: string;
  details: Record<string, unknown>;
}

/** Events, versions (apply results), rollout transitions and commands of one appliance, newest first. */
export async function applianceTimeline({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; cursor?: string; limit: number };
}) {
  assertRole(ctx.actor, "viewer");
  const db = ctx.deps.db;
  const [apl] = await db
    .select({ id: appliances.id })
    .from(appliances)
    .where(and(eq(appliances.id, input.id), eq(appliances.orgId, ctx.actor.orgId)));
  if (!apl) throw notFound("appliance");
  let cur: { at: string; key: string } | undefined;
  if (input.cursor) {
    try {
      cur = JSON.parse(Buffer.from(input.cursor, "base64url").toString("utf8"));
      if (!cur || typeof cur.at !== "string" || typeof cur.key !== "string" || Number.isNaN(Date.parse(cur.at)))
        throw new Error();
    } catch {
      throw new AppError("VALIDATION_FAILED", "cursor: not a cursor returned by this API");
    }
  }
  const before = cur ? sql`where (at, key) < (${cur.at}::timestamptz, ${cur.key})` : sql``;
  const result = await db.execute(sql`
    select * from (
      select e.at, 'e:' || lpad(e.seq::text, 20, '0') as key,
        case when e.kind = 'apply.result' then 'version' else 'event' end as kind, e.kind as title, e.data as details
      from telemetry_events e where e.appliance_id = ${input.id}
      union all
      select t.at, t.id as key, 'rollout' as kind, t.to_state as title,
        jsonb_build_object('rolloutId', t.rollout_id, 'from', t.from_state, 'to', t.to_state, 'reason', t.reason,
          'evidence', t.evidence, 'actor', t.actor) as details
      from rollout_transitions t where t.appliance_id = ${input.id} and t.org_id = ${ctx.actor.orgId}
      union all
      select c.created_at as at, c.id as key, 'command' as kind, c.type as title,
        jsonb_build_object('commandId', c.id, 'seq', c.seq, 'status', c.status, 'createdBy', c.created_by,
          'finishedAt', c.finished_at, 'error', c.error) as details
      from commands c where c.appliance_id = ${input.id}
    ) x ${before}
    order by at desc, key desc
    limit ${input.limit + 1}`);
  const rows = ((result as { rows?: unknown[] }).rows ?? (result as unknown as unknown[])) as Array<{
    at: string | Date;
    key: string;
    kind: TimelineItem["kind"];
    title: string;
    details: Record<string, unknown>;
  }>;
  const page = rows.slice(0, input.limit);
  const items: TimelineItem[] = page.map((r) => ({
    at: new Date(r.at).toISOString(),
    kind: r.kind,
    summary: summarise(r.kind, r.title, r.details),
    details: r.details,
  }));
  const last = page[page.length - 1];
  const nextCursor =
    rows.length > input.limit && last
      ? Buffer.from(JSON.stringify({ at: new Date(last.at).toISOString(), key: last.key }), "utf8").toString(
          "base64url",
        )
      : null;
  return { items, nextCursor };
}

function summarise(kind: TimelineItem["kind"], title: string, d: Record<string, unknown>): string {
  if (kind === "version")
    return `apply ${String(d.outcome ?? "")}: ${String(d.chartVersion ?? "")} (generation ${String(d.generation ?? "?")})`;
  if (kind === "rollout")
    return `rollout ${String(d.rolloutId)}: ${String(d.from ?? "")} → ${title} (${String(d.reason ?? "")})`;
  if (kind === "command") return `command ${title}: ${String(d.status ?? "")}`;
  return title;
}

/** Pins an appliance to a release (it leaves rollouts and is moved to the release), or unpins it (null). */
export async function pinAppliance({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; releaseId: string | null; publicUrl: string };
}) {
  assertRole(ctx.actor, "operator");
  const now = ctx.deps.clock.now();
  return ctx.deps.db.transaction(async (tx) => {
    const [apl] = await tx
      .select({
        id: appliances.id,
        customerId: appliances.customerId,
        channel: sql<string>`${licenses.entitlements}->>'updateChannel'`,
      })
      .from(appliances)
      .innerJoin(licenses, eq(licenses.id, appliances.licenseId))
      .where(and(eq(appliances.id, input.id), eq(appliances.orgId, ctx.actor.orgId)))
      .for("update", { of: appliances });
    if (!apl) throw notFound("appliance");
    let release: typeof releases.$inferSelect | undefined;
    if (input.releaseId) {
      [release] = await tx
        .select()
        .from(releases)
        .where(and(eq(releases.id, input.releaseId), eq(releases.orgId, ctx.actor.orgId)));
      if (!release) throw new AppError("UNPROCESSABLE", "releaseId: no such release");
      if (release.state === "yanked") throw new AppError("CONFLICT", `release ${release.version} is yanked`);
    }
    await ensureFleetRow(tx, apl.id, ctx.actor.orgId, apl.customerId, apl.channel ?? "stable", now);
    await tx
      .update(fleetAppliances)
      .set({
        pinnedReleaseId: release?.id ?? null,
        pinnedAt: release ? now : null,
        pinnedBy: release ? ctx.actor.name : null,
      })
      .where(eq(fleetAppliances.applianceId, apl.id));
    let generation: number | undefined;
    if (release) {
      const cur = await getDesiredState(tx, apl.id);
      if (cur?.state.release?.id !== release.id) {
        const st = await setDesiredState(tx, {
          orgId: ctx.actor.orgId,
          applianceId: apl.id,
          release: releasePayload(input.publicUrl, release),
          values: cur?.state.values ?? {},
          valuesDigest: cur?.state.valuesDigest ?? EMPTY_VALUES_DIGEST,
          updatedBy: `pin:${ctx.actor.name}`,
        });
        generation = st.generation;
      }
    }
    await writeAudit(tx, {
      actor: ctx.actor,
      action: release ? "appliance.pinned" : "appliance.unpinned",
      targetType: "appliance",
      targetId: apl.id,
      summary: release ? { releaseId: release.id, version: release.version, generation } : {},
      requestId: ctx.requestId,
      at: now,
    });
    return {
      applianceId: apl.id,
      pinnedReleaseId: release?.id ?? null,
      pinnedAt: release ? now : null,
      desiredGeneration: generation ?? null,
    };
  });
}

async function ensureFleetRow(
  tx: DbOrTx,
  applianceId: string,
  orgId: string,
  customerId: string,
  channel: string,
  now: Date,
) {
  await tx
    .insert(fleetAppliances)
    .values({ applianceId, orgId, customerId, channel, syncedAt: now })
    .onConflictDoNothing();
}

/**
 * Brings the fleet projection up to date: one row per appliance with its license's channel and the release
 * it was last seen healthy on. Only rows whose inputs changed are written, so it is cheap to run every few seconds.
 */
export async function syncFleetAppliances(db: DbOrTx, now: Date): Promise<number> {
  const result = await db.execute(sql`
    insert into fleet_appliances (appliance_id, org_id, customer_id, channel, release_id, chart_version, version_key,
      release_seq, observed_at, synced_at)
    select a.id, a.org_id, a.customer_id, coalesce(l.entitlements->>'updateChannel', 'stable'),
      r.id, coalesce(r.version, a.last_apply->>'chartVersion'), r.version_key, r.seq,
      (a.last_apply->>'at')::timestamptz, ${now.toISOString()}::timestamptz
    from appliances a
    join licenses l on l.id = a.license_id
    left join desired_states d on d.appliance_id = a.id
    left join releases r on r.id = d.release->>'id' and a.last_apply->>'outcome' = 'healthy'
      and (a.last_apply->>'generation')::int = d.generation
    left join fleet_appliances f on f.appliance_id = a.id
    where f.appliance_id is null
      or f.channel is distinct from coalesce(l.entitlements->>'updateChannel', 'stable')
      or f.customer_id <> a.customer_id
      or f.observed_at is distinct from (a.last_apply->>'at')::timestamptz
    on conflict (appliance_id) do update set
      channel = excluded.channel,
      customer_id = excluded.customer_id,
      observed_at = excluded.observed_at,
      synced_at = excluded.synced_at,
      release_id = coalesce(excluded.release_id, fleet_appliances.release_id),
      chart_version = case when excluded.release_id is null then coalesce(fleet_appliances.chart_version, excluded.chart_version)
        else excluded.chart_version end,
      version_key = coalesce(excluded.version_key, fleet_appliances.version_key),
      release_seq = coalesce(excluded.release_seq, fleet_appliances.release_seq)`);
  const r = result as { affectedRows?: number; count?: number };
  return r.affectedRows ?? r.count ?? 0;
}
