// Thin handlers of /v1/signing-keys and /.well-known/jwks.json.
import type { RouteHandler } from "@hono/zod-openapi";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import * as svc from "../../services/signing-keys.ts";
import type * as routes from "./signing-keys.routes.ts";

function toSigningKeyJson(row: svc.SigningKey) {
  return {
    kid: row.kid,
    state: row.state,
    publicJwk: row.publicJwk,
    createdAt: row.createdAt.toISOString(),
    rotatedAt: row.rotatedAt?.toISOString() ?? null,
    retiredAt: row.retiredAt?.toISOString() ?? null,
  };
}

export const list: RouteHandler<typeof routes.list, AppEnv> = async (c) => {
  const page = await svc.listSigningKeys({ ctx: serviceContext(c), input: c.req.valid("query") });
  return c.json({ items: page.items.map(toSigningKeyJson), nextCursor: page.nextCursor }, 200);
};

export const rotate: RouteHandler<typeof routes.rotate, AppEnv> = async (c) => {
  const row = await svc.rotateSigningKey({ ctx: serviceContext(c) });
  return c.json(toSigningKeyJson(row), 201);
};

export const retire: RouteHandler<typeof routes.retire, AppEnv> = async (c) => {
  const row = await svc.retireSigningKey({ ctx: serviceContext(c), input: c.req.valid("param") });
  return c.json(toSigningKeyJson(row), 200);
};

export const jwks: RouteHandler<typeof routes.jwks, AppEnv> = async (c) => {
  const doc = await svc.publishedJwks(c.get("deps").db);
  // Short cache: verifiers refetch soon after a rotation or a retirement.
  c.header("cache-control", "public, max-age=60");
  return c.json(doc as { keys: Record<string, unknown>[] }, 200);
};
