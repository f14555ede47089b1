// Thin handlers of /v1/rollouts.
import type { RouteHandler } from "@hono/zod-openapi";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import * as svc from "../../services/rollouts.ts";
import type * as routes from "./rollouts.routes.ts";

/** Dates to ISO strings, the way JSON.stringify would, with the types the route schemas declare. */
// biome-ignore lint/suspicious/noExplicitAny: the JSON shape is declared by the route's response schema
const json = (v: unknown): any => JSON.parse(JSON.stringify(v));

export const preview: RouteHandler<typeof routes.preview, AppEnv> = async (c) => {
  const plan = await svc.previewRollout({ ctx: serviceContext(c), input: c.req.valid("json") });
  return c.json(json(plan), 200);
};

export const create: RouteHandler<typeof routes.create, AppEnv> = async (c) => {
  const ctx = serviceContext(c);
  const { id } = await svc.createRollout({ ctx, input: c.req.valid("json") });
  return c.json(json(await svc.getRollout({ ctx, input: { id } })), 201);
};

export const list: RouteHandler<typeof routes.list, AppEnv> = async (c) => {
  const page = await svc.listRollouts({ ctx: serviceContext(c), input: c.req.valid("query") });
  return c.json(json(page), 200);
};

export const get: RouteHandler<typeof routes.get, AppEnv> = async (c) => {
  const r = await svc.getRollout({ ctx: serviceContext(c), input: c.req.valid("param") });
  return c.json(json(r), 200);
};

export const act: RouteHandler<typeof routes.act, AppEnv> = async (c) => {
  const { id, action } = c.req.valid("param");
  let reason: string | undefined;
  try {
    reason = c.req.valid("json")?.reason;
  } catch {
    reason = undefined;
  }
  const r = await svc.actOnRollout({ ctx: serviceContext(c), input: { id, action, reason } });
  return c.json(json(r), 200);
};
