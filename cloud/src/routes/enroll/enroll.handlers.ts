// Thin handler of POST /v1/enroll.
import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { enrollAppliance } from "../../tunnel/enrollment.ts";
import type * as routes from "./enroll.routes.ts";

export const enroll: RouteHandler<typeof routes.enroll, AppEnv> = async (c) => {
  const deps = c.get("deps");
  const out = await enrollAppliance({ db: deps.db, clock: deps.clock, publicUrl: deps.publicUrl }, c.req.valid("json"));
  return c.json(out, out.created ? 201 : 200);
};
