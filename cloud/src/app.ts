// createApp(deps): the whole HTTP API as a Hono app; no process.env, no ports. main.ts serves it.
import { randomUUID } from "node:crypto";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { pingDatabase } from "./db/client.ts";
import { apiReferenceHtml } from "./lib/api-reference.ts";
import type { AppDeps } from "./lib/context.ts";
import { createRouter, type Router } from "./lib/create-router.ts";
import { AppError, errorBody } from "./lib/errors.ts";
import { metricsMiddleware } from "./lib/metrics.ts";
import { rolloutRouters } from "./rollouts/index.ts";
import { apiKeysRouter } from "./routes/api-keys/index.ts";
import { auditRouter } from "./routes/audit/index.ts";
import { customersRouter } from "./routes/customers/index.ts";
import { licensesRouter } from "./routes/licenses/index.ts";
import { signingKeysRouter } from "./routes/signing-keys/index.ts";
import { supportRouter } from "./routes/support/index.ts";
import { MAX_BUNDLE_BYTES } from "./routes/support/support.service.ts";
import { webRouter } from "./web/index.ts";

export interface CreateAppOptions {
  /** Extra routers mounted at the root after the built-in ones (tests, optional components). */
  routers?: Router[];
}

export function createApp(deps: AppDeps, options: CreateAppOptions = {}) {
  const app = createRouter();

  app.use("*", metricsMiddleware(deps.metrics));

  app.use("*", async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && /^[\w.-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    const started = performance.now();
    c.set("deps", deps);
    c.set("requestId", requestId);
    c.set("logger", deps.logger.child({ requestId }));
    c.header("x-request-id", requestId);
    await next();
    // One wide event per request: who, what, outcome, duration.
    const actor = c.get("actor");
    deps.logger.info(
      {
        requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        orgId: actor?.orgId,
        keyId: actor?.keyId,
      },
      "request",
    );
  });

  const limitOf = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: (c) =>
        c.json(
          errorBody(
            "PAYLOAD_TOO_LARGE",
            `request body is larger than the limit of ${maxSize} bytes`,
            c.get("requestId"),
          ),
          413,
        ),
    });
  const apiLimit = limitOf(deps.bodyLimitBytes);
  // support bundles from agents are the one large body (gzip, up to MAX_BUNDLE_BYTES)
  const bundleLimit = limitOf(MAX_BUNDLE_BYTES);
  app.use("*", (c, next) =>
    c.req.method === "PUT" && /^\/v1\/agent\/commands\/[^/]+\/bundle$/.test(c.req.path)
      ? bundleLimit(c, next)
      : apiLimit(c, next),
  );

  app.onError((err, c) => {
    const requestId = c.get("requestId") ?? "unknown";
    if (err instanceof AppError) {
      return c.json(errorBody(err.code, err.message, requestId, err.details), err.status);
    }
    if (err instanceof HTTPException) {
      if (err.status === 400)
        return c.json(errorBody("BAD_REQUEST", err.message || "malformed request", requestId), 400);
      return err.getResponse();
    }
    (c.get("logger") ?? deps.logger).error({ err, requestId }, "unhandled error");
    return c.json(errorBody("INTERNAL", "internal error; quote the request id when reporting it", requestId), 500);
  });

  app.notFound((c) =>
    c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`, c.get("requestId")), 404),
  );

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    if (deps.draining) return c.json({ status: "not-ready", reason: "shutting down" }, 503);
    try {
      await pingDatabase(deps.db);
      return c.json({ status: "ready" });
    } catch {
      return c.json({ status: "not-ready", reason: "database unreachable" }, 503);
    }
  });

  app.get("/metrics", async (c) => {
    c.header("content-type", deps.metrics.contentType);
    return c.body(await deps.metrics.metrics());
  });

  // Resource routers: each route declares its role with requireRole(...) in createRoute's middleware.
  app.route("/", customersRouter);
  app.route("/", apiKeysRouter);
  app.route("/", auditRouter);
  app.route("/", licensesRouter);
  app.route("/", signingKeysRouter);
  app.route("/", supportRouter);
  for (const router of rolloutRouters) app.route("/", router); // releases, channels, rollouts, fleet, webhooks
  for (const router of options.routers ?? []) app.route("/", router);
  app.route("/", webRouter()); // the fleet web UI (/, /fleet, ..., /ui/*)

  app.doc31("/openapi.json", () => ({
    openapi: "3.1.0",
    info: {
      title: "Camel Ops control plane API",
      version: "1.0.0",
      description:
        "Fleet, licenses, rollouts and remote support for Camel runners. Authenticate with `Authorization: Bearer <api key>`.",
    },
    servers: [{ url: deps.publicUrl }],
  }));
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", { type: "http", scheme: "bearer" });
  const reference = apiReferenceHtml("/openapi.json", "Camel Ops API reference");
  app.get("/docs", (c) => {
    c.header("content-security-policy", reference.csp);
    return c.html(reference.html);
  });

  return app;
}

export type App = ReturnType<typeof createApp>;
