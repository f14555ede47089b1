// The one router factory: OpenAPIHono whose validation failures answer the common error envelope.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context.ts";
import { errorBody } from "./errors.ts";

export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        // Unknown keys are reported once per key, so that the field is named even for them.
        const issues = result.error.issues.flatMap((i) =>
          i.code === "unrecognized_keys"
            ? i.keys.map((k) => ({ field: [...i.path, k].join("."), message: "unknown field" }))
            : [{ field: i.path.join(".") || "(body)", message: i.message }],
        );
        const first = issues[0];
        const message = first ? `${first.field}: ${first.message}` : "request validation failed";
        return c.json(errorBody("VALIDATION_FAILED", message, c.get("requestId"), { issues }), 400);
      }
    },
  });
}

export type Router = ReturnType<typeof createRouter>;
