// Thin handlers of /v1/appliances.
import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { DesiredStateWire } from "../../../../shared/src/protocol/frames.ts";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import * as svc from "../../tunnel/appliances.ts";
import type * as routes from "./appliances.routes.ts";

export function toApplianceJson(row: svc.ApplianceRow, now: Date, desired?: DesiredStateWire | null) {
  return {
    id: row.id,
    name: row.name,
    customerId: row.customerId,
    licenseId: row.licenseId,
    role: row.role,
    state: row.state,
    presence: svc.presenceOf(row, now, svc.PRESENCE_STALE_MS),
    facts: (row.facts as Record<string, unknown> | null) ?? null,
    observedGeneration: row.observedGeneration,
    lastApply: (row.lastApply as Record<string, unknown> | null) ?? null,
    ...(desired !== undefined ? { desired } : {}),
    createdAt: row.createdAt.toISOString(),
  };
}

export const list: RouteHandler<typeof routes.list, AppEnv> = async (c) => {
  const ctx = serviceContext(c);
  const page = await svc.listAppliances({ ctx, input: c.req.valid("query") });
  const now = ctx.deps.clock.now();
  return c.json({ items: page.items.map((r) => toApplianceJson(r, now)), nextCursor: page.nextCursor }, 200);
};

export const get: RouteHandler<typeof routes.get, AppEnv> = async (c) => {
  const ctx = serviceContext(c);
  const { row, desired } = await svc.getAppliance({ ctx, input: c.req.valid("param") });
  return c.json(toApplianceJson(row, ctx.deps.clock.now(), desired), 200);
};

function stateHandler(enabled: boolean) {
  return async (c: Context<AppEnv>) => {
    const ctx = serviceContext(c);
    const body = (c.req as unknown as { valid(t: "json"): { reason?: string } | undefined }).valid("json");
    const row = await svc.setApplianceEnabled({
      ctx,
      input: { id: c.req.param("id")!, enabled, reason: body?.reason },
    });
    return c.json(toApplianceJson(row, ctx.deps.clock.now()), 200);
  };
}

export const disable = stateHandler(false) as unknown as RouteHandler<typeof routes.disable, AppEnv>;
export const enable = stateHandler(true) as unknown as RouteHandler<typeof routes.enable, AppEnv>;

export const putDesired: RouteHandler<typeof routes.putDesired, AppEnv> = async (c) => {
  const state = await svc.putDesiredState({
    ctx: serviceContext(c),
    input: { id: c.req.valid("param").id, ...c.req.valid("json") },
  });
  return c.json(state, 200);
};

export const events: RouteHandler<typeof routes.events, AppEnv> = async (c) => {
  const rows = await svc.listEvents({
    ctx: serviceContext(c),
    input: { ...c.req.valid("param"), ...c.req.valid("query") },
  });
  return c.json(
    {
      items: rows.map((r) => ({
        seq: r.seq,
        kind: r.kind,
        at: r.at.toISOString(),
        data: r.data,
        receivedAt: r.receivedAt.toISOString(),
      })),
    },
    200,
  );
};

export const metrics: RouteHandler<typeof routes.metrics, AppEnv> = async (c) => {
  const rows = await svc.listMetrics({
    ctx: serviceContext(c),
    input: { ...c.req.valid("param"), ...c.req.valid("query") },
  });
  return c.json(
    { items: rows.map((r) => ({ name: r.name, at: r.at.toISOString(), value: r.value, labels: r.labels ?? null })) },
    200,
  );
};
