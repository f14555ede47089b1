// Thin handlers of /v1/releases and /v1/channels: validated input in, service verb, JSON out.
import type { RouteHandler } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { releases } from "../../db/schema/index.ts";
import { verifyAgentRequest } from "../../lib/agent-auth.ts";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import { notFound } from "../../lib/errors.ts";
import * as svc from "../../services/releases.ts";
import type * as routes from "./releases.routes.ts";

export function toReleaseJson(r: svc.ReleaseRow) {
  return {
    id: r.id,
    version: r.version,
    channel: r.channel,
    seq: r.seq,
    chartDigest: r.chartDigest,
    chartSize: r.chartSize,
    chartUrl: r.chartUrl,
    notes: r.notes,
    required: r.required,
    state: r.state,
    yankedAt: r.yankedAt?.toISOString() ?? null,
    yankReason: r.yankReason,
    publishedBy: r.publishedBy,
    publishedAt: r.publishedAt.toISOString(),
  };
}

export const publish: RouteHandler<typeof routes.publish, AppEnv> = async (c) => {
  const row = await svc.publishRelease({ ctx: serviceContext(c), input: c.req.valid("json") });
  return c.json(toReleaseJson(row), 201);
};

export const list: RouteHandler<typeof routes.list, AppEnv> = async (c) => {
  const page = await svc.listReleases({ ctx: serviceContext(c), input: c.req.valid("query") });
  return c.json({ items: page.items.map(toReleaseJson), nextCursor: page.nextCursor }, 200);
};

export const get: RouteHandler<typeof routes.get, AppEnv> = async (c) => {
  const row = await svc.getRelease({ ctx: serviceContext(c), input: c.req.valid("param") });
  return c.json(toReleaseJson(row), 200);
};

function sendChart(c: Context<AppEnv>, chart: Awaited<ReturnType<typeof svc.loadChart>>) {
  if ("redirect" in chart) return c.redirect(chart.redirect!, 302);
  return c.body(new Uint8Array(chart.data), 200, {
    "content-type": "application/gzip",
    "content-disposition": `attachment; filename="${chart.filename}"`,
    "x-chart-digest": `sha256:${chart.digest}`,
    "cache-control": "private, max-age=31536000, immutable",
  });
}

export const chart: RouteHandler<typeof routes.chart, AppEnv> = async (c) => {
  const data = await svc.getReleaseChart({ ctx: serviceContext(c), input: c.req.valid("param") });
  // biome-ignore lint/suspicious/noExplicitAny: binary and redirect responses are outside the JSON typing
  return sendChart(c, data) as any;
};

export const yank: RouteHandler<typeof routes.yank, AppEnv> = async (c) => {
  let body: { reason?: string } = {};
  try {
    body = c.req.valid("json") ?? {};
  } catch {
    body = {};
  }
  const row = await svc.yankRelease({
    ctx: serviceContext(c),
    input: { ...c.req.valid("param"), reason: body.reason },
  });
  return c.json(toReleaseJson(row), 200);
};

/** Agents download charts with a fresh agent JWT (the same credential as the tunnel), for their org's releases only. */
export const agentChart: RouteHandler<typeof routes.agentChart, AppEnv> = async (c) => {
  const deps = c.get("deps");
  const { orgId } = await verifyAgentRequest(c);
  const [release] = await deps.db
    .select()
    .from(releases)
    .where(eq(releases.id, c.req.valid("param").id));
  if (!release || release.orgId !== orgId) throw notFound("release");
  // biome-ignore lint/suspicious/noExplicitAny: binary and redirect responses are outside the JSON typing
  return sendChart(c, await svc.loadChart(deps.db, release)) as any;
};

export const listChannels: RouteHandler<typeof routes.listChannels, AppEnv> = async (c) => {
  const rows = await svc.listChannels({ ctx: serviceContext(c) });
  return c.json({ items: rows.map((r) => ({ ...r, createdAt: new Date(r.createdAt).toISOString() })) }, 200);
};

export const createChannel: RouteHandler<typeof routes.createChannel, AppEnv> = async (c) => {
  const row = await svc.createChannel({ ctx: serviceContext(c), input: c.req.valid("json") });
  return c.json({ ...row, createdAt: row.createdAt.toISOString() }, 201);
};
