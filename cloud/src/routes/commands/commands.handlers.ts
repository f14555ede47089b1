// Thin handlers of the command routes.
import type { RouteHandler } from "@hono/zod-openapi";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import * as svc from "../../tunnel/appliances.ts";
import type { CommandRow } from "../../tunnel/commands.ts";
import type * as routes from "./commands.routes.ts";

export function toCommandJson(r: CommandRow) {
  return {
    id: r.id,
    applianceId: r.applianceId,
    seq: r.seq,
    type: r.type,
    args: r.args,
    status: r.status,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    expiresAt: r.expiresAt.toISOString(),
    deliveredAt: r.deliveredAt?.toISOString() ?? null,
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
    result: r.result ?? null,
    error: r.error,
  };
}

export const create: RouteHandler<typeof routes.create, AppEnv> = async (c) => {
  const row = await svc.createCommand({
    ctx: serviceContext(c),
    input: { ...c.req.valid("param"), ...c.req.valid("json") },
  });
  return c.json(toCommandJson(row), 201);
};

export const list: RouteHandler<typeof routes.list, AppEnv> = async (c) => {
  const page = await svc.listCommands({
    ctx: serviceContext(c),
    input: { ...c.req.valid("param"), ...c.req.valid("query") },
  });
  return c.json({ items: page.items.map(toCommandJson), nextCursor: page.nextCursor }, 200);
};

export const get: RouteHandler<typeof routes.get, AppEnv> = async (c) => {
  const row = await svc.readCommand({ ctx: serviceContext(c), input: c.req.valid("param") });
  return c.json(toCommandJson(row), 200);
};
