// /v1/api-keys and /v1/me on every test database, plus authentication: revoked keys, last-used time at most once a
// minute, and throttling of repeated failures per client IP and per key prefix (429 + Retry-After).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCloud, type TestCloud } from "../../../../test/support/cloud.ts";
import { testDbKinds } from "../../../../test/support/db.ts";
import { ManualClock } from "../../lib/clock.ts";

describe.each(testDbKinds)("api keys and authentication ($name)", (kind) => {
  let t: TestCloud;
  const clock = new ManualClock(new Date("2026-03-01T10:00:00Z"));
  beforeAll(async () => {
    t = await startTestCloud(kind, { clock, env: { AUTH_FAILURE_LIMIT: "3", AUTH_FAILURE_WINDOW_SECONDS: "60" } });
  });
  afterAll(() => t.close());

  it("an admin creates a key (secret shown once), lists keys without secrets, and revokes it", async () => {
    const created = await t.call("POST", "/v1/api-keys", { key: t.org.admin, body: { name: "ci", role: "operator" } });
    expect(created.status).toBe(201);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const key = await created.json();
    expect(key.secret).toMatch(/^cok_[0-9A-Za-z]{8}_[0-9A-Za-z]{32}$/);
    expect(key.secret.startsWith(key.prefix)).toBe(true);
    expect(key).toMatchObject({ name: "ci", role: "operator", revokedAt: null });

    const me = await (await t.call("GET", "/v1/me", { key: key.secret })).json();
    expect(me).toMatchObject({ organisation: { id: t.org.orgId }, role: "operator", apiKey: { id: key.id } });

    const listRes = await t.call("GET", "/v1/api-keys", { key: t.org.admin });
    const text = await listRes.text();
    expect(text).not.toContain(key.secret);
    expect(text).not.toContain('"hash"');
    expect(JSON.parse(text).items.map((k: { id: string }) => k.id)).toContain(key.id);

    const revoked = await t.call("DELETE", `/v1/api-keys/${key.id}`, { key: t.org.admin });
    expect(revoked.status).toBe(200);
    expect((await revoked.json()).revokedAt).not.toBeNull();
    const after = await t.call("GET", "/v1/me", { key: key.secret });
    expect(after.status).toBe(401);
    expect((await after.json()).error.message).toMatch(/revoked/);
    expect((await t.call("DELETE", `/v1/api-keys/${key.id}`, { key: t.org.admin })).status).toBe(409);

    const audit = await (await t.call("GET", `/v1/audit?targetId=${key.id}`, { key: t.org.admin })).json();
    expect(audit.items.map((a: { action: string }) => a.action)).toEqual(["api_key.revoked", "api_key.created"]);
    expect(JSON.stringify(audit)).not.toContain(key.secret);
  });

  it("keeps the organisation's last admin key", async () => {
    const org = await t.newOrg("lonely");
    const me = await (await t.call("GET", "/v1/me", { key: org.admin })).json();
    const res = await t.call("DELETE", `/v1/api-keys/${me.apiKey.id}`, { key: org.admin });
    expect(res.status).toBe(409);
  });

  it("records last use at most once a minute", async () => {
    const org = await t.newOrg("usage");
    const viewer = await org.key("viewer");
    const idOf = async () => (await (await t.call("GET", "/v1/me", { key: viewer })).json()).apiKey.id;
    const id = await idOf();
    const lastUsed = async () =>
      (await (await t.call("GET", "/v1/api-keys", { key: org.admin })).json()).items.find(
        (k: { id: string }) => k.id === id,
      ).lastUsedAt;
    const first = await lastUsed();
    expect(first).toBe(clock.now().toISOString());
    clock.advance(30_000);
    await idOf();
    expect(await lastUsed()).toBe(first);
    clock.advance(31_000);
    await idOf();
    expect(await lastUsed()).toBe(clock.now().toISOString());
  });

  it("roles: operators and viewers cannot manage keys; another organisation's key is a 404", async () => {
    const operator = await t.org.key("operator");
    const viewer = await t.org.key("viewer");
    expect((await t.call("GET", "/v1/api-keys", { key: operator })).status).toBe(403);
    expect((await t.call("POST", "/v1/api-keys", { key: viewer, body: { name: "x", role: "admin" } })).status).toBe(
      403,
    );
    const anon = await t.call("GET", "/v1/api-keys");
    expect(anon.status).toBe(401);
    expect(anon.headers.get("www-authenticate")).toBe("Bearer");
    const bad = await t.call("POST", "/v1/api-keys", { key: t.org.admin, body: { name: "x", role: "root" } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.details.issues[0].field).toBe("role");
    const other = await t.newOrg("other");
    const otherKey = (await (await t.call("GET", "/v1/me", { key: await other.key("viewer") })).json()).apiKey.id;
    expect((await t.call("DELETE", `/v1/api-keys/${otherKey}`, { key: t.org.admin })).status).toBe(404);
  });

  it("throttles repeated failures per key prefix and per client IP, with Retry-After", async () => {
    const wrong = (prefix: string) => `cok_${prefix}_${"x".repeat(32)}`;
    const ip = (n: number) => ({ "x-forwarded-for": `10.0.0.${n}` });
    // TRUST_PROXY is off: X-Forwarded-For is ignored, so every request here counts against one client ("unknown").
    for (let i = 0; i < 3; i++) {
      expect((await t.call("GET", "/v1/me", { key: wrong("AAAAAAAA"), headers: ip(i) })).status).toBe(401);
    }
    const blocked = await t.call("GET", "/v1/me", { key: wrong("BBBBBBBB") });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await blocked.json()).error.code).toBe("TOO_MANY_REQUESTS");
    // the right key from the same client is refused too until the window passes
    expect((await t.call("GET", "/v1/me", { key: t.org.admin })).status).toBe(429);
    clock.advance(61_000);
    expect((await t.call("GET", "/v1/me", { key: t.org.admin })).status).toBe(200);
  });

  it("with TRUST_PROXY, a key prefix under attack is blocked for every client", async () => {
    const p = t.sibling({ AUTH_FAILURE_LIMIT: "3", AUTH_FAILURE_WINDOW_SECONDS: "60", TRUST_PROXY: "true" });
    try {
      const prefix = (await (await p.call("GET", "/v1/me", { key: p.org.admin })).json()).apiKey.prefix;
      const guess = `${prefix}_${"y".repeat(32)}`;
      for (let i = 0; i < 3; i++) {
        // the proxy appends the address it saw last; what the client put first is ignored
        const xff = `203.0.113.7, 10.1.0.${i}`;
        const res = await p.call("GET", "/v1/me", { key: guess, headers: { "x-forwarded-for": xff } });
        expect(res.status).toBe(401);
      }
      // a fresh client guessing the same prefix is throttled; other clients with other keys are not
      const r = await p.call("GET", "/v1/me", { key: guess, headers: { "x-forwarded-for": "10.2.0.1" } });
      expect(r.status).toBe(429);
      const other = await p.org.key("viewer");
      expect((await p.call("GET", "/v1/me", { key: other, headers: { "x-forwarded-for": "10.3.0.1" } })).status).toBe(
        200,
      );
      // one client failing with many prefixes is throttled by IP
      for (let i = 0; i < 3; i++) {
        await p.call("GET", "/v1/me", {
          key: `cok_Z${i}ZZZZZZ_${"z".repeat(32)}`,
          headers: { "x-forwarded-for": "10.9.9.9" },
        });
      }
      expect((await p.call("GET", "/v1/me", { key: other, headers: { "x-forwarded-for": "10.9.9.9" } })).status).toBe(
        429,
      );
    } finally {
      await p.close();
    }
  });
});
