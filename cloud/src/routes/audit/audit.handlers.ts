// Thin handler of GET /v1/audit.
import type { RouteHandler } from "@hono/zod-openapi";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import * as svc from "../../services/audit.ts";
import type * as routes from "./audit.routes.ts";

export const list: RouteHandler<typeof routes.list, AppEnv> = async (c) => {
  const page = await svc.listAuditEntries({ ctx: serviceContext(c), input: c.req.valid("query") });
  return c.json(
    {
      items: page.items.map((a) => ({
        id: a.id,
        actor: a.actor,
        action: a.action,
        targetType: a.targetType,
        targetId: a.targetId,
        summary: a.summary,
        requestId: a.requestId,
        at: a.at.toISOString(),
      })),
      nextCursor: page.nextCursor,
    },
    200,
  );
};
