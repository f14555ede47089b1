// Prometheus metrics of one app instance: its own Registry (never the global one), default process metrics,
// and request counts / durations by method, route pattern and status.
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import type { AppEnv } from "./context.ts";

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function metricsMiddleware(registry: Registry): MiddlewareHandler<AppEnv> {
  const requests =
    (registry.getSingleMetric("http_requests_total") as Counter<"method" | "route" | "status"> | undefined) ??
    new Counter({
      name: "http_requests_total",
      help: "HTTP requests by method, route pattern and status",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    });
  const durations =
    (registry.getSingleMetric("http_request_duration_seconds") as
      | Histogram<"method" | "route" | "status">
      | undefined) ??
    new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration by method, route pattern and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      // The matched pattern (`/v1/customers/:id`), never the raw path, so label cardinality stays bounded.
      let route = "unmatched";
      try {
        const p = routePath(c, -1);
        if (p && p !== "*" && p !== "/*") route = p;
      } catch {
        // no route matched
      }
      const labels = { method: c.req.method, route, status: String(c.res.status) };
      requests.inc(labels);
      durations.observe(labels, (performance.now() - started) / 1000);
    }
  };
}
