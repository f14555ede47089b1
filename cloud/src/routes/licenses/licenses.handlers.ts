// Thin handlers of /v1/licenses.
import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import * as svc from "../../services/licenses.ts";
import type * as routes from "./licenses.routes.ts";

export function toLicenseJson(row: svc.License) {
  return {
    id: row.id,
    customerId: row.customerId,
    state: row.state,
    stateReason: row.stateReason,
    stateChangedAt: row.stateChangedAt?.toISOString() ?? null,
    entitlements: row.entitlements,
    notes: row.notes,
    expiresAt: row.expiresAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export const create: RouteHandler<typeof routes.create, AppEnv> = async (c) => {
  const row = await svc.createLicense({ ctx: serviceContext(c), input: c.req.valid("json") });
  return c.json(toLicenseJson(row), 201);
};

export const list: RouteHandler<typeof routes.list, AppEnv> = async (c) => {
  const page = await svc.listLicenses({ ctx: serviceContext(c), input: c.req.valid("query") });
  return c.json({ items: page.items.map(toLicenseJson), nextCursor: page.nextCursor }, 200);
};

export const get: RouteHandler<typeof routes.get, AppEnv> = async (c) => {
  const row = await svc.getLicense({ ctx: serviceContext(c), input: c.req.valid("param") });
  return c.json(toLicenseJson(row), 200);
};

export const update: RouteHandler<typeof routes.update, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const row = await svc.updateLicense({ ctx: serviceContext(c), input: { id, patch: c.req.valid("json") } });
  return c.json(toLicenseJson(row), 200);
};

function stateHandler(transition: svc.LicenseTransition) {
  return async (c: Context<AppEnv>) => {
    const id = c.req.param("id")!;
    // The body is optional: validated by the route when present.
    const body = (c.req as unknown as { valid(t: "json"): { reason?: string } | undefined }).valid("json");
    const row = await svc.changeLicenseState({
      ctx: serviceContext(c),
      input: { id, transition, reason: body?.reason },
    });
    return c.json(toLicenseJson(row), 200);
  };
}

export const suspend = stateHandler("suspend") as unknown as RouteHandler<typeof routes.suspend, AppEnv>;
export const reinstate = stateHandler("reinstate") as unknown as RouteHandler<typeof routes.reinstate, AppEnv>;
export const revoke = stateHandler("revoke") as unknown as RouteHandler<typeof routes.revoke, AppEnv>;

export const token: RouteHandler<typeof routes.token, AppEnv> = async (c) => {
  const issued = await svc.issueLicenseToken({ ctx: serviceContext(c), input: c.req.valid("param") });
  c.header("cache-control", "no-store");
  return c.json(
    { token: issued.token, kid: issued.kid, jti: issued.jti, expiresAt: issued.expiresAt.toISOString() },
    200,
  );
};
