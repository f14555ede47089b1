// Cross-cutting API behaviour: health, readiness, metrics, OpenAPI document and reference page, request ids, the error
// envelope, and a sweep proving every non-public /v1 operation refuses anonymous callers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCloud, type TestCloud } from "../../test/support/cloud.ts";
import { pgliteKind } from "../../test/support/db.ts";
import { MAX_BUNDLE_BYTES } from "./routes/support/support.service.ts";

describe("app", () => {
  let t: TestCloud;
  beforeAll(async () => {
    // a high failure limit: the sweep below makes many failed attempts from one client on purpose
    t = await startTestCloud(pgliteKind, { env: { AUTH_FAILURE_LIMIT: "100000" } });
  });
  afterAll(() => t.close());

  it("answers /healthz and /readyz", async () => {
    expect(await (await t.call("GET", "/healthz")).json()).toEqual({ status: "ok" });
    expect(await (await t.call("GET", "/readyz")).json()).toEqual({ status: "ready" });
    t.deps.draining = true;
    try {
      expect((await t.call("GET", "/readyz")).status).toBe(503);
      expect((await t.call("GET", "/healthz")).status).toBe(200);
    } finally {
      t.deps.draining = false;
    }
  });

  it("exposes Prometheus metrics by route pattern and status, plus process metrics", async () => {
    await t.call("GET", "/v1/customers/cus_nope", { key: t.org.admin });
    await t.call("GET", "/v1/customers");
    const res = await t.call("GET", "/metrics");
    expect(res.headers.get("content-type")).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toContain('http_requests_total{method="GET",route="/v1/customers/:id",status="404"} 1');
    expect(text).toContain('http_requests_total{method="GET",route="/v1/customers",status="401"} 1');
    expect(text).toContain("http_request_duration_seconds_bucket");
    expect(text).toContain("process_cpu_user_seconds_total");
    expect(text).not.toContain("cus_nope");
  });

  it("keeps a metrics registry per app instance", async () => {
    const other = t.sibling();
    try {
      await other.call("GET", "/healthz");
      const a = await (await t.call("GET", "/metrics")).text();
      const b = await (await other.call("GET", "/metrics")).text();
      expect(b).toContain('route="/healthz"');
      expect(b).not.toContain('route="/v1/customers/:id"');
      expect(a).toContain('route="/v1/customers/:id"');
    } finally {
      await other.close();
    }
  });

  it("serves the OpenAPI document and the reference page", async () => {
    const doc = await (await t.call("GET", "/openapi.json")).json();
    expect(doc.openapi).toBe("3.1.0");
    for (const p of [
      "/v1/customers",
      "/v1/licenses/{id}/token",
      "/v1/api-keys",
      "/v1/audit",
      "/.well-known/jwks.json",
    ]) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect(doc.components.schemas.Error).toBeDefined();
    expect(doc.components.schemas.Entitlements).toBeDefined();
    const page = await t.call("GET", "/docs");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/openapi.json");
  });

  it("echoes a request id, makes one when missing, and puts it in errors", async () => {
    const res = await t.call("GET", "/v1/nothing-here", { headers: { "x-request-id": "abc-123" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    expect(await res.json()).toEqual({
      error: { code: "NOT_FOUND", message: "no route for GET /v1/nothing-here", requestId: "abc-123" },
    });
    const made = await t.call("GET", "/healthz", { headers: { "x-request-id": "bad id with spaces" } });
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("every /v1 operation not marked public refuses anonymous and garbage-key callers", async () => {
    const doc = await (await t.call("GET", "/openapi.json")).json();
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>)) {
      if (!path.startsWith("/v1/")) continue;
      for (const [method, op] of Object.entries(ops)) {
        if (Array.isArray(op.security) && op.security.length === 0) continue; // declared public
        const url = path.replace(/\{[^}]+\}/g, "x_00000000000000000000000000");
        const init = {
          method: method.toUpperCase(),
          headers: { "content-type": "application/json" },
          body: undefined as string | undefined,
        };
        if (!["GET", "DELETE"].includes(init.method)) init.body = "{}";
        const anon = await t.app.request(url, init);
        expect(anon.status, `${method} ${path}`).toBe(401);
        const garbage = await t.app.request(url, {
          ...init,
          headers: { ...init.headers, authorization: "Bearer nope" },
        });
        expect(garbage.status, `${method} ${path} with a garbage key`).toBe(401);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(15);
  });

  it("every /v1 operation with a body refuses an oversized one with 413, before anything else", async () => {
    const doc = await (await t.call("GET", "/openapi.json")).json();
    const big = JSON.stringify({ name: "x".repeat(t.deps.bodyLimitBytes + 1) });
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      if (!path.startsWith("/v1/")) continue;
      for (const method of Object.keys(ops).filter((m) => ["post", "put", "patch"].includes(m))) {
        const url = path.replace(/\{[^}]+\}/g, "x_00000000000000000000000000");
        // agents' support bundles have their own, larger limit
        const bundle = path === "/v1/agent/commands/{id}/bundle";
        const res = await t.app.request(url, {
          method: method.toUpperCase(),
          headers: { "content-type": "application/json", authorization: `Bearer ${t.org.admin}` },
          body: bundle ? new Uint8Array(MAX_BUNDLE_BYTES + 1) : big,
        });
        expect(res.status, `${method} ${path}`).toBe(413);
        expect((await res.json()).error.code).toBe("PAYLOAD_TOO_LARGE");
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
    // and that limit is not the API's: a bundle over the API's limit but under its own passes the size check
    const res = await t.app.request("/v1/agent/commands/x/bundle", {
      method: "PUT",
      headers: { "content-type": "application/gzip" },
      body: new Uint8Array(t.deps.bodyLimitBytes + 1),
    });
    expect(res.status).toBe(401);
  });

  it("viewers cannot change anything and operators cannot manage keys (403 on every such route)", async () => {
    const viewer = await t.org.key("viewer");
    const operator = await t.org.key("operator");
    const doc = await (await t.call("GET", "/openapi.json")).json();
    const mine = ["/v1/customers", "/v1/licenses", "/v1/api-keys", "/v1/signing-keys"];
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      if (!mine.some((p) => path.startsWith(p))) continue;
      const adminOnly = path.startsWith("/v1/api-keys") || path.startsWith("/v1/signing-keys");
      for (const method of Object.keys(ops)) {
        const url = path.replace(/\{[^}]+\}/g, "x_00000000000000000000000000");
        const init = (key: string) => ({
          method: method.toUpperCase(),
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          body: ["get", "delete"].includes(method) ? undefined : "{}",
        });
        if (method !== "get") {
          expect((await t.app.request(url, init(viewer))).status, `viewer ${method} ${path}`).toBe(403);
          checked++;
        }
        if (adminOnly) {
          expect((await t.app.request(url, init(operator))).status, `operator ${method} ${path}`).toBe(403);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(14);
  });
});
