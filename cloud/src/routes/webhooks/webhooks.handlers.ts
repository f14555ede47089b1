// Thin handlers of /v1/webhooks.
import type { RouteHandler } from "@hono/zod-openapi";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import * as svc from "../../services/alerts/webhooks.ts";
import type * as routes from "./webhooks.routes.ts";

// biome-ignore lint/suspicious/noExplicitAny: the JSON shape is declared by the route's response schema
const json = (v: unknown): any => JSON.parse(JSON.stringify(v));

export const create: RouteHandler<typeof routes.create, AppEnv> = async (c) =>
  c.json(json(await svc.createWebhook({ ctx: serviceContext(c), input: c.req.valid("json") })), 201);

export const list: RouteHandler<typeof routes.list, AppEnv> = async (c) =>
  c.json(json(await svc.listWebhooks({ ctx: serviceContext(c) })), 200);

export const setActive: RouteHandler<typeof routes.setActive, AppEnv> = async (c) => {
  const { id, action } = c.req.valid("param");
  return c.json(
    json(await svc.setWebhookActive({ ctx: serviceContext(c), input: { id, active: action === "enable" } })),
    200,
  );
};

export const deliveries: RouteHandler<typeof routes.deliveries, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const page = await svc.listDeliveries({ ctx: serviceContext(c), input: { id, ...c.req.valid("query") } });
  return c.json(json(page), 200);
};
