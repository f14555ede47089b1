// Thin handlers of /v1/api-keys and /v1/me.
import type { RouteHandler } from "@hono/zod-openapi";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import * as svc from "../../services/organisations.ts";
import type * as routes from "./api-keys.routes.ts";

export function toApiKeyJson(row: svc.ApiKey) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    role: row.role,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

export const create: RouteHandler<typeof routes.create, AppEnv> = async (c) => {
  const { row, secret } = await svc.createApiKey({ ctx: serviceContext(c), input: c.req.valid("json") });
  c.header("cache-control", "no-store");
  return c.json({ ...toApiKeyJson(row), secret }, 201);
};

export const list: RouteHandler<typeof routes.list, AppEnv> = async (c) => {
  const page = await svc.listApiKeys({ ctx: serviceContext(c), input: c.req.valid("query") });
  return c.json({ items: page.items.map(toApiKeyJson), nextCursor: page.nextCursor }, 200);
};

export const revoke: RouteHandler<typeof routes.revoke, AppEnv> = async (c) => {
  const row = await svc.revokeApiKey({ ctx: serviceContext(c), input: c.req.valid("param") });
  return c.json(toApiKeyJson(row), 200);
};

export const me: RouteHandler<typeof routes.me, AppEnv> = async (c) => {
  const { actor, organisation, apiKey } = await svc.whoAmI({ ctx: serviceContext(c) });
  return c.json(
    {
      organisation: { id: organisation.id, name: organisation.name },
      role: actor.role,
      apiKey: apiKey ? { id: apiKey.id, name: apiKey.name, prefix: apiKey.prefix } : null,
    },
    200,
  );
};
