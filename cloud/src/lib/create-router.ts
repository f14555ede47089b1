// The one router factory: OpenAPIHono whose validation failures answer the common error envelope.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context.ts";
import { errorBody } from "./errors.ts";

export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({
          field: i.path.join(".") || "(body)",
          message: i.message,
        }));
        const first = issues[0];
        const message = first ? `${first.field}: ${first.message}` : "request validation failed";
        return c.json(errorBody("VALIDATION_FAILED", message, c.get("requestId"), { issues }), 400);
      }
    },
  });
}

export type Router = ReturnType<typeof createRouter>;
