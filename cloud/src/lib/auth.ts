// Operator authentication and roles. Put `requireRole("viewer" | "operator" | "admin")` in every route's
// `middleware` (createRoute({ middleware: [requireRole("operator")], security: bearerSecurity, ... })).
// It reads `Authorization: Bearer cok_…`, throttles repeated failures (429 + Retry-After), answers 401 for a missing,
// unknown or revoked key and 403 for a role below the one required, then sets `c.get("actor")`.
// Public routes say so with `security: []` in createRoute (a test checks every other /v1 route refuses anonymous calls).
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import { findApiKeyByHash, touchApiKey } from "../db/queries/organisations.ts";
import { apiKeyPrefixOf, hashApiKeySecret } from "./api-key-secret.ts";
import type { Actor, AppEnv, Role, ServiceContext } from "./context.ts";
import { AppError, errorBody } from "./errors.ts";
import { roleAtLeast } from "./scope.ts";

/** OpenAPI `security` for routes behind requireRole. */
export const bearerSecurity = [{ apiKey: [] }];

export function clientIp(c: Context<AppEnv>, trustProxy: boolean): string {
  if (trustProxy) {
    // The last entry is the one our own proxy appended; earlier ones are whatever the client sent.
    const forwarded = c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown"; // app.request() in tests has no socket
  }
}

/** Resolves the caller from the Authorization header; throws AppError (401/429). Caches the actor on the context. */
export async function authenticate(c: Context<AppEnv>): Promise<Actor> {
  const existing = c.get("actor");
  if (existing) return existing;
  const deps = c.get("deps");
  const header = c.req.header("authorization");
  if (!header) throw new AppError("UNAUTHORIZED", "missing `Authorization: Bearer <api key>` header");
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const secret = match?.[1];
  const prefix = secret ? apiKeyPrefixOf(secret) : null;
  const throttleKeys = [`ip:${clientIp(c, deps.trustProxy)}`, ...(prefix ? [`prefix:${prefix}`] : [])];
  const wait = deps.authThrottle.retryAfterSeconds(throttleKeys);
  if (wait > 0) {
    throw new AppError("TOO_MANY_REQUESTS", `too many failed authentication attempts; retry in ${wait} s`, {
      retryAfterSeconds: wait,
    });
  }
  const row = secret && prefix ? await findApiKeyByHash(deps.db, hashApiKeySecret(secret)) : undefined;
  if (!row || row.revokedAt) {
    deps.authThrottle.recordFailure(throttleKeys);
    throw new AppError("UNAUTHORIZED", row ? "this API key has been revoked" : "invalid API key");
  }
  const now = deps.clock.now();
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= 60_000) {
    await touchApiKey(deps.db, row.id, now);
  }
  const actor: Actor = { orgId: row.orgId, keyId: row.id, role: row.role, name: `key:${row.id}` };
  c.set("actor", actor);
  return actor;
}

export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let actor: Actor;
    try {
      actor = await authenticate(c);
    } catch (err) {
      if (err instanceof AppError && err.code === "TOO_MANY_REQUESTS") {
        const wait = (err.details as { retryAfterSeconds: number }).retryAfterSeconds;
        return c.json(errorBody(err.code, err.message, c.get("requestId")), 429, { "Retry-After": String(wait) });
      }
      if (err instanceof AppError && err.code === "UNAUTHORIZED") {
        return c.json(errorBody(err.code, err.message, c.get("requestId")), 401, { "WWW-Authenticate": "Bearer" });
      }
      throw err;
    }
    if (!roleAtLeast(actor.role, role)) {
      throw new AppError("FORBIDDEN", `this action needs the ${role} role; the API key has the ${actor.role} role`);
    }
    await next();
  };
}

/** The authenticated actor of a route behind requireRole. */
export function actorOf(c: Context<AppEnv>): Actor {
  const actor = c.get("actor");
  if (!actor) throw new AppError("UNAUTHORIZED", "not authenticated");
  return actor;
}

/** What a handler passes to a service verb: `createCustomer({ ctx: serviceContext(c), input })`. */
export function serviceContext(c: Context<AppEnv>): ServiceContext {
  return { deps: c.get("deps"), actor: actorOf(c), requestId: c.get("requestId") };
}
