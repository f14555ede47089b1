// Release and channel verbs: publish (immutable once published), list, get, chart archive, yank; channels
// (stable and beta exist in every organisation, custom ones are added). Each mutation is audited in its transaction.
import { createHash } from "node:crypto";
import { and, asc, desc, eq, lt, max, sql } from "drizzle-orm";
import { newId } from "../../../shared/src/ids.ts";
import { updateChannelSchema } from "../../../shared/src/license.ts";
import type { DbOrTx } from "../db/client.ts";
import { channels, releaseCharts, releases } from "../db/schema/index.ts";
import { writeAudit } from "../lib/audit.ts";
import type { ServiceContext } from "../lib/context.ts";
import { AppError, notFound } from "../lib/errors.ts";
import { decodeCursor, encodeCursor } from "../lib/pagination.ts";
import { assertRole } from "../lib/scope.ts";
import { isSemver, versionKey } from "../rollouts/version.ts";

export const DEFAULT_CHANNELS = ["stable", "beta"] as const;
/** Largest chart archive accepted inline (base64 in the JSON body). */
export const MAX_CHART_BYTES = 4 * 1024 * 1024;

export type ReleaseRow = typeof releases.$inferSelect;

export interface PublishReleaseInput {
  version: string;
  channel: string;
  chartBase64?: string;
  chartUrl?: string;
  digest?: string;
  notes?: string;
  required?: boolean;
}

async function ensureDefaultChannels(db: DbOrTx, orgId: string, now: Date) {
  await db
    .insert(channels)
    .values(DEFAULT_CHANNELS.map((name) => ({ id: newId("channel", now.getTime()), orgId, name, createdAt: now })))
    .onConflictDoNothing();
}

export async function listChannels({ ctx }: { ctx: ServiceContext }) {
  assertRole(ctx.actor, "viewer");
  const now = ctx.deps.clock.now();
  await ensureDefaultChannels(ctx.deps.db, ctx.actor.orgId, now);
  const rows = await ctx.deps.db
    .select({
      id: channels.id,
      name: channels.name,
      createdAt: channels.createdAt,
      latestVersion: sql<string | null>`(select r.version from ${releases} r where r.org_id = ${channels.orgId}
        and r.channel = ${channels.name} and r.state = 'published' order by r.seq desc limit 1)`,
      releaseCount: sql<number>`(select count(*)::int from ${releases} r where r.org_id = ${channels.orgId} and r.channel = ${channels.name})`,
    })
    .from(channels)
    .where(eq(channels.orgId, ctx.actor.orgId))
    .orderBy(asc(channels.name));
  return rows;
}

export async function createChannel({ ctx, input }: { ctx: ServiceContext; input: { name: string } }) {
  assertRole(ctx.actor, "operator");
  const parsed = updateChannelSchema.safeParse(input.name);
  if (!parsed.success) throw new AppError("VALIDATION_FAILED", `name: ${parsed.error.issues[0]?.message}`);
  const now = ctx.deps.clock.now();
  return ctx.deps.db.transaction(async (tx) => {
    await ensureDefaultChannels(tx, ctx.actor.orgId, now);
    const [row] = await tx
      .insert(channels)
      .values({ id: newId("channel", now.getTime()), orgId: ctx.actor.orgId, name: input.name, createdAt: now })
      .onConflictDoNothing()
      .returning();
    if (!row) throw new AppError("CONFLICT", `channel ${input.name} already exists`);
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "channel.created",
      targetType: "channel",
      targetId: row.id,
      summary: { name: row.name },
      requestId: ctx.requestId,
      at: now,
    });
    return { id: row.id, name: row.name, createdAt: row.createdAt, latestVersion: null, releaseCount: 0 };
  });
}

export async function publishRelease({ ctx, input }: { ctx: ServiceContext; input: PublishReleaseInput }) {
  assertRole(ctx.actor, "operator");
  if (!isSemver(input.version)) throw new AppError("VALIDATION_FAILED", "version: must be a semantic version (1.2.3)");
  let chart: Buffer | undefined;
  let digest: string;
  if (input.chartBase64 !== undefined) {
    if (input.chartUrl !== undefined) throw new AppError("VALIDATION_FAILED", "give chartBase64 or chartUrl, not both");
    chart = Buffer.from(input.chartBase64, "base64");
    if (chart.length === 0) throw new AppError("VALIDATION_FAILED", "chartBase64: empty archive");
    if (chart.length > MAX_CHART_BYTES)
      throw new AppError("PAYLOAD_TOO_LARGE", `chart archive over ${MAX_CHART_BYTES} bytes`);
    // a gzip'd tar starts with 1f 8b: refuse obviously wrong uploads early
    if (chart[0] !== 0x1f || chart[1] !== 0x8b)
      throw new AppError("VALIDATION_FAILED", "chartBase64: not a gzip'd chart archive (.tgz)");
    digest = createHash("sha256").update(chart).digest("hex");
    if (input.digest && input.digest.toLowerCase() !== digest) {
      throw new AppError("VALIDATION_FAILED", `digest: the archive's sha256 is ${digest}, not ${input.digest}`);
    }
  } else if (input.chartUrl !== undefined) {
    if (!input.digest)
      throw new AppError("VALIDATION_FAILED", "digest: required with chartUrl (sha256 of the archive, hex)");
    digest = input.digest.toLowerCase();
  } else {
    throw new AppError("VALIDATION_FAILED", "give chartBase64 (the archive) or chartUrl with its digest");
  }
  const now = ctx.deps.clock.now();
  const orgId = ctx.actor.orgId;
  return ctx.deps.db.transaction(async (tx) => {
    await ensureDefaultChannels(tx, orgId, now);
    const [ch] = await tx
      .select({ id: channels.id })
      .from(channels)
      .where(and(eq(channels.orgId, orgId), eq(channels.name, input.channel)))
      .for("update"); // serialises publications per channel (seq)
    if (!ch) throw new AppError("UNPROCESSABLE", `channel ${input.channel} does not exist; create it first`);
    const [dup] = await tx
      .select({ id: releases.id })
      .from(releases)
      .where(and(eq(releases.orgId, orgId), eq(releases.channel, input.channel), eq(releases.version, input.version)));
    if (dup)
      throw new AppError(
        "CONFLICT",
        `${input.version} is already published on ${input.channel}; releases are immutable`,
        { releaseId: dup.id },
      );
    const [top] = await tx
      .select({ seq: max(releases.seq) })
      .from(releases)
      .where(and(eq(releases.orgId, orgId), eq(releases.channel, input.channel)));
    const id = newId("release", now.getTime());
    const [row] = await tx
      .insert(releases)
      .values({
        id,
        orgId,
        channel: input.channel,
        version: input.version,
        versionKey: versionKey(input.version),
        seq: (top?.seq ?? 0) + 1,
        chartDigest: digest,
        chartSize: chart?.length ?? null,
        chartUrl: chart ? null : input.chartUrl!,
        notes: input.notes ?? "",
        required: input.required ?? false,
        publishedBy: ctx.actor.name,
        publishedAt: now,
      })
      .returning();
    if (chart) await tx.insert(releaseCharts).values({ releaseId: id, data: chart });
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "release.published",
      targetType: "release",
      targetId: id,
      summary: { version: input.version, channel: input.channel, digest, required: input.required ?? false },
      requestId: ctx.requestId,
      at: now,
    });
    return row!;
  });
}

export async function listReleases({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { channel?: string; limit: number; cursor?: string };
}) {
  assertRole(ctx.actor, "viewer");
  const cursor = decodeCursor(input.cursor);
  const rows = await ctx.deps.db
    .select()
    .from(releases)
    .where(
      and(
        eq(releases.orgId, ctx.actor.orgId),
        input.channel ? eq(releases.channel, input.channel) : undefined,
        cursor ? lt(releases.id, cursor) : undefined,
      ),
    )
    .orderBy(desc(releases.id))
    .limit(input.limit + 1);
  const items = rows.slice(0, input.limit);
  return { items, nextCursor: rows.length > input.limit ? encodeCursor(items[items.length - 1]!.id) : null };
}

export async function getRelease({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  assertRole(ctx.actor, "viewer");
  const [row] = await ctx.deps.db
    .select()
    .from(releases)
    .where(and(eq(releases.id, input.id), eq(releases.orgId, ctx.actor.orgId)));
  if (!row) throw notFound("release");
  return row;
}

/** The uploaded archive (for operators); agents use getChartForAppliance. */
export async function getReleaseChart({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  const release = await getRelease({ ctx, input });
  return loadChart(ctx.deps.db, release);
}

export async function loadChart(db: DbOrTx, release: ReleaseRow) {
  if (release.chartUrl) return { redirect: release.chartUrl, digest: release.chartDigest };
  const [chart] = await db.select().from(releaseCharts).where(eq(releaseCharts.releaseId, release.id));
  if (!chart) throw notFound("chart archive");
  return { data: chart.data, digest: release.chartDigest, filename: `runner-${release.version}.tgz` };
}

export async function yankRelease({ ctx, input }: { ctx: ServiceContext; input: { id: string; reason?: string } }) {
  assertRole(ctx.actor, "operator");
  const now = ctx.deps.clock.now();
  return ctx.deps.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(releases)
      .where(and(eq(releases.id, input.id), eq(releases.orgId, ctx.actor.orgId)))
      .for("update");
    if (!row) throw notFound("release");
    if (row.state === "yanked") throw new AppError("CONFLICT", "release is already yanked");
    const [updated] = await tx
      .update(releases)
      .set({ state: "yanked", yankedAt: now, yankReason: input.reason ?? null })
      .where(eq(releases.id, row.id))
      .returning();
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "release.yanked",
      targetType: "release",
      targetId: row.id,
      summary: { version: row.version, channel: row.channel, reason: input.reason ?? null },
      requestId: ctx.requestId,
      at: now,
    });
    return updated!;
  });
}
