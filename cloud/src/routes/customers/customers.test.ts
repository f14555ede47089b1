// /v1/customers on every test database: happy paths, errors, and the security cases (no key, wrong role,
// other organisation, bad body, oversized body).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCloud, type TestCloud } from "../../../../test/support/cloud.ts";
import { testDbKinds } from "../../../../test/support/db.ts";

describe.each(testDbKinds)("customers ($name)", (kind) => {
  let t: TestCloud;
  let operator: string;
  let viewer: string;
  beforeAll(async () => {
    t = await startTestCloud(kind, { env: { BODY_LIMIT_BYTES: "4096" } });
    operator = await t.org.key("operator");
    viewer = await t.org.key("viewer");
  });
  afterAll(() => t.close());

  it("creates, reads, lists, changes and deletes a customer, auditing each change", async () => {
    const created = await t.call("POST", "/v1/customers", {
      key: operator,
      body: { name: "ACME GmbH", contactEmail: "ops@acme.example", tags: ["eu"] },
    });
    expect(created.status).toBe(201);
    const customer = await created.json();
    expect(customer.id).toMatch(/^cus_[0-9A-Z]{26}$/);
    expect(customer).toMatchObject({ name: "ACME GmbH", contactEmail: "ops@acme.example", tags: ["eu"] });

    const got = await t.call("GET", `/v1/customers/${customer.id}`, { key: viewer });
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(customer);

    const patched = await t.call("PATCH", `/v1/customers/${customer.id}`, { key: operator, body: { name: "ACME AG" } });
    expect(patched.status).toBe(200);
    expect((await patched.json()).name).toBe("ACME AG");

    const listed = await (await t.call("GET", "/v1/customers", { key: viewer })).json();
    expect(listed.items.map((c: { id: string }) => c.id)).toContain(customer.id);

    const deleted = await t.call("DELETE", `/v1/customers/${customer.id}`, { key: operator });
    expect(deleted.status).toBe(204);
    expect((await t.call("GET", `/v1/customers/${customer.id}`, { key: viewer })).status).toBe(404);

    const audit = await (await t.call("GET", `/v1/audit?targetId=${customer.id}`, { key: viewer })).json();
    expect(audit.items.map((a: { action: string }) => a.action)).toEqual([
      "customer.deleted",
      "customer.updated",
      "customer.created",
    ]);
    expect(audit.items[1].summary).toEqual({ changes: { name: { from: "ACME GmbH", to: "ACME AG" } } });
    expect(audit.items[2].actor).toMatch(/^key:key_/);
  });

  it("pages through customers with an opaque cursor", async () => {
    const org = await t.newOrg("paging");
    const op = await org.key("operator");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await (await t.call("POST", "/v1/customers", { key: op, body: { name: `c${i}` } })).json()).id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = await (
        await t.call("GET", `/v1/customers?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { key: op })
      ).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it("refuses a bad limit and a forged cursor, naming the field", async () => {
    const tooMany = await t.call("GET", "/v1/customers?limit=201", { key: viewer });
    expect(tooMany.status).toBe(400);
    expect((await tooMany.json()).error.details.issues[0].field).toBe("limit");
    const forged = await t.call("GET", "/v1/customers?cursor=not-a-cursor", { key: viewer });
    expect(forged.status).toBe(400);
    const body = await forged.json();
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(body.error.details.issues[0].field).toBe("cursor");
  });

  it("validates the body and names the field", async () => {
    const res = await t.call("POST", "/v1/customers", { key: operator, body: { name: "x", contactEmail: "nope" } });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(body.error.details.issues[0].field).toBe("contactEmail");
    expect(body.error.requestId).toBe(res.headers.get("x-request-id"));

    const unknownField = await t.call("POST", "/v1/customers", { key: operator, body: { name: "x", orgId: "org_x" } });
    expect(unknownField.status).toBe(400);
    expect((await unknownField.json()).error.details.issues).toEqual([{ field: "orgId", message: "unknown field" }]);

    const empty = await t.call("PATCH", "/v1/customers/cus_x", { key: operator, body: {} });
    expect(empty.status).toBe(400);

    const notJson = await t.app.request("/v1/customers", {
      method: "POST",
      headers: { authorization: `Bearer ${operator}`, "content-type": "application/json" },
      body: "{",
    });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.code).toMatch(/BAD_REQUEST|VALIDATION_FAILED/);
  });

  it("refuses an oversized body with 413", async () => {
    const res = await t.call("POST", "/v1/customers", { key: operator, body: { name: "x".repeat(10_000) } });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("answers 401 without a key or with a wrong one, 403 for a viewer writing", async () => {
    expect((await t.call("GET", "/v1/customers")).status).toBe(401);
    expect(
      (await t.call("GET", "/v1/customers", { key: "cok_AAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB" })).status,
    ).toBe(401);
    const res = await t.call("POST", "/v1/customers", { key: viewer, body: { name: "x" } });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("FORBIDDEN");
    expect((await t.call("DELETE", "/v1/customers/cus_x", { key: viewer })).status).toBe(403);
  });

  it("hides another organisation's customers (404, not in lists)", async () => {
    const mine = await (await t.call("POST", "/v1/customers", { key: operator, body: { name: "mine" } })).json();
    const other = await t.newOrg("other");
    const theirs = await other.key("operator");
    expect((await t.call("GET", `/v1/customers/${mine.id}`, { key: theirs })).status).toBe(404);
    expect((await t.call("PATCH", `/v1/customers/${mine.id}`, { key: theirs, body: { name: "stolen" } })).status).toBe(
      404,
    );
    expect((await t.call("DELETE", `/v1/customers/${mine.id}`, { key: theirs })).status).toBe(404);
    const list = await (await t.call("GET", "/v1/customers", { key: theirs })).json();
    expect(list.items).toEqual([]);
    expect((await (await t.call("GET", `/v1/customers/${mine.id}`, { key: operator })).json()).name).toBe("mine");
  });
});
