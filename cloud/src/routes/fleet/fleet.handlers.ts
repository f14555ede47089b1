// Thin handlers of the fleet API.
import type { RouteHandler } from "@hono/zod-openapi";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import * as svc from "../../services/fleet.ts";
import type * as routes from "./fleet.routes.ts";

// biome-ignore lint/suspicious/noExplicitAny: the JSON shape is declared by the route's response schema
const json = (v: unknown): any => JSON.parse(JSON.stringify(v));

export const list: RouteHandler<typeof routes.list, AppEnv> = async (c) =>
  c.json(json(await svc.listFleet({ ctx: serviceContext(c), input: c.req.valid("query") })), 200);

export const summary: RouteHandler<typeof routes.summary, AppEnv> = async (c) =>
  c.json(await svc.fleetSummary({ ctx: serviceContext(c) }), 200);

export const timeline: RouteHandler<typeof routes.timeline, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const page = await svc.applianceTimeline({ ctx: serviceContext(c), input: { id, ...c.req.valid("query") } });
  return c.json(page, 200);
};

export const pin: RouteHandler<typeof routes.pin, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const { releaseId } = c.req.valid("json");
  const r = await svc.pinAppliance({
    ctx: serviceContext(c),
    input: { id, releaseId, publicUrl: c.get("deps").publicUrl },
  });
  return c.json(json(r), 200);
};
