// Thin handler of the support route.
import type { RouteHandler } from "@hono/zod-openapi";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import { toCommandJson } from "../commands/commands.handlers.ts";
import type * as routes from "./support.routes.ts";
import { requestSupportAction } from "./support.service.ts";

export const run: RouteHandler<typeof routes.run, AppEnv> = async (c) => {
  const { id, action } = c.req.valid("param");
  const body = c.req.valid("json") ?? { args: {}, waitMs: 15_000 };
  const r = await requestSupportAction({
    ctx: serviceContext(c),
    input: { id, action, args: body.args ?? {}, waitMs: body.waitMs ?? 15_000 },
  });
  return c.json({ done: r.done, command: toCommandJson(r.command) }, r.done ? 200 : 202);
};
