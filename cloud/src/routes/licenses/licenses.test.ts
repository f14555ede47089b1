// /v1/licenses and /v1/signing-keys on every test database: lifecycle, state machine (audited, emitted, NOTIFY'd),
// tokens that verify against the JWKS, rotation keeping old tokens valid until retirement, and the security cases.
import { decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyLicenseToken } from "../../../../shared/src/license.ts";
import { startTestCloud, type TestCloud } from "../../../../test/support/cloud.ts";
import { testDbKinds } from "../../../../test/support/db.ts";
import type { LicenseStateChanged } from "../../lib/events.ts";

const inAYear = () => new Date(Date.now() + 365 * 86_400_000).toISOString();
const entitlements = { maxWorkerNodes: 3, updateChannel: "stable", features: ["support-bundle"] };

describe.each(testDbKinds)("licenses ($name)", (kind) => {
  let t: TestCloud;
  let operator: string;
  let viewer: string;
  let customerId: string;

  async function newLicense(key = operator, body: Record<string, unknown> = {}) {
    const res = await t.call("POST", "/v1/licenses", {
      key,
      body: { customerId, expiresAt: inAYear(), entitlements, ...body },
    });
    expect(res.status).toBe(201);
    return res.json();
  }
  const jwks = async () => (await t.call("GET", "/.well-known/jwks.json")).json();

  beforeAll(async () => {
    t = await startTestCloud(kind);
    operator = await t.org.key("operator");
    viewer = await t.org.key("viewer");
    customerId = (await (await t.call("POST", "/v1/customers", { key: operator, body: { name: "ACME" } })).json()).id;
  });
  afterAll(() => t.close());

  it("issues a license, reads it, lists it by customer and state, and changes it", async () => {
    const lic = await newLicense(operator, { notes: "pilot" });
    expect(lic).toMatchObject({ customerId, state: "active", notes: "pilot" });
    expect(lic.entitlements).toEqual({ ...entitlements, maxHubs: 1 });
    expect((await (await t.call("GET", `/v1/licenses/${lic.id}`, { key: viewer })).json()).id).toBe(lic.id);
    const listed = await (
      await t.call("GET", `/v1/licenses?customerId=${customerId}&state=active`, { key: viewer })
    ).json();
    expect(listed.items.map((l: { id: string }) => l.id)).toContain(lic.id);
    const patched = await t.call("PATCH", `/v1/licenses/${lic.id}`, {
      key: operator,
      body: { notes: "production", entitlements: { ...entitlements, maxWorkerNodes: 10 } },
    });
    expect(patched.status).toBe(200);
    const body = await patched.json();
    expect(body.notes).toBe("production");
    expect(body.entitlements.maxWorkerNodes).toBe(10);
  });

  it("suspends, reinstates and revokes: recorded, audited, emitted and NOTIFY'd", async () => {
    const lic = await newLicense();
    const events: LicenseStateChanged[] = [];
    const listener = (e: LicenseStateChanged) => events.push(e);
    t.deps.events.on("licenseStateChanged", listener);
    const notified: string[] = [];
    let unlisten: (() => Promise<void>) | undefined;
    if (t.database.pg) {
      const sub = await t.database.pg.listen("license_state", (p) => notified.push(p));
      unlisten = () => sub.unlisten();
    } else {
      unlisten = await t.database.pglite!.listen("license_state", (p) => notified.push(p));
    }
    try {
      const s = await t.call("POST", `/v1/licenses/${lic.id}/suspend`, { key: operator, body: { reason: "unpaid" } });
      expect(s.status).toBe(200);
      expect(await s.json()).toMatchObject({ state: "suspended", stateReason: "unpaid" });
      expect((await t.call("GET", `/v1/licenses/${lic.id}/token`, { key: operator })).status).toBe(409);
      expect((await t.call("POST", `/v1/licenses/${lic.id}/suspend`, { key: operator })).status).toBe(409);
      const r = await t.call("POST", `/v1/licenses/${lic.id}/reinstate`, { key: operator });
      expect((await r.json()).state).toBe("active");
      const v = await t.call("POST", `/v1/licenses/${lic.id}/revoke`, {
        key: operator,
        body: { reason: "contract ended" },
      });
      expect((await v.json()).state).toBe("revoked");
      expect((await t.call("POST", `/v1/licenses/${lic.id}/reinstate`, { key: operator })).status).toBe(409);
      expect((await t.call("PATCH", `/v1/licenses/${lic.id}`, { key: operator, body: { notes: "x" } })).status).toBe(
        409,
      );

      expect(events.map((e) => [e.licenseId, e.previousState, e.state])).toEqual([
        [lic.id, "active", "suspended"],
        [lic.id, "suspended", "active"],
        [lic.id, "active", "revoked"],
      ]);
      await expect.poll(() => notified.length, { timeout: 5000 }).toBe(3);
      expect(new Set(notified)).toEqual(new Set([lic.id]));
      const audit = await (await t.call("GET", `/v1/audit?targetId=${lic.id}`, { key: viewer })).json();
      expect(audit.items.map((a: { action: string }) => a.action)).toEqual([
        "license.revoked",
        "license.reinstated",
        "license.suspended",
        "license.created",
      ]);
      expect(audit.items[2].summary).toEqual({ from: "active", to: "suspended", reason: "unpaid" });
      const onlyRevoked = await (await t.call("GET", "/v1/audit?action=license.revoked", { key: viewer })).json();
      expect(onlyRevoked.items.every((a: { action: string }) => a.action === "license.revoked")).toBe(true);
    } finally {
      t.deps.events.off("licenseStateChanged", listener);
      await unlisten?.();
    }
  });

  it("issues a token that verifies offline against the published JWKS, with the license's claims", async () => {
    const lic = await newLicense();
    const res = await t.call("GET", `/v1/licenses/${lic.id}/token`, { key: operator });
    expect(res.status).toBe(200);
    const { token, kid } = await res.json();
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "EdDSA", kid });
    const claims = await verifyLicenseToken(token, await jwks());
    expect(claims).toMatchObject({
      sub: lic.id,
      org: t.org.orgId,
      customer: { id: customerId, name: "ACME" },
      entitlements: { maxWorkerNodes: 3, updateChannel: "stable" },
      exp: Math.floor(new Date(lic.expiresAt).getTime() / 1000),
    });
    expect((await t.call("GET", `/v1/licenses/${lic.id}/token`, { key: viewer })).status).toBe(403);
  });

  it("rotation: old tokens verify until their key is retired; the active key cannot be retired", async () => {
    const org = await t.newOrg("rotation");
    const admin = org.admin;
    const op = await org.key("operator");
    const cus = (await (await t.call("POST", "/v1/customers", { key: op, body: { name: "R" } })).json()).id;
    const lic = (
      await (
        await t.call("POST", "/v1/licenses", { key: op, body: { customerId: cus, expiresAt: inAYear(), entitlements } })
      ).json()
    ).id;
    const first = await (await t.call("GET", `/v1/licenses/${lic}/token`, { key: op })).json();

    const rotated = await t.call("POST", "/v1/signing-keys/rotate", { key: admin });
    expect(rotated.status).toBe(201);
    const newKey = await rotated.json();
    expect(newKey.kid).not.toBe(first.kid);
    const second = await (await t.call("GET", `/v1/licenses/${lic}/token`, { key: op })).json();
    expect(second.kid).toBe(newKey.kid);

    await expect(verifyLicenseToken(first.token, await jwks())).resolves.toMatchObject({ sub: lic });
    await expect(verifyLicenseToken(second.token, await jwks())).resolves.toMatchObject({ sub: lic });

    const keys = await (await t.call("GET", "/v1/signing-keys", { key: admin })).json();
    expect(keys.items.map((k: { kid: string; state: string }) => [k.kid, k.state])).toEqual([
      [newKey.kid, "active"],
      [first.kid, "verify-only"],
    ]);
    expect((await t.call("POST", `/v1/signing-keys/${newKey.kid}/retire`, { key: admin })).status).toBe(409);
    expect((await t.call("POST", `/v1/signing-keys/${first.kid}/retire`, { key: op })).status).toBe(403);
    const otherAdmin = t.org.admin;
    expect((await t.call("POST", `/v1/signing-keys/${first.kid}/retire`, { key: otherAdmin })).status).toBe(404);

    const retired = await t.call("POST", `/v1/signing-keys/${first.kid}/retire`, { key: admin });
    expect(retired.status).toBe(200);
    expect((await retired.json()).state).toBe("retired");
    await expect(verifyLicenseToken(first.token, await jwks())).rejects.toMatchObject({ reason: "unknown-key" });
    await expect(verifyLicenseToken(second.token, await jwks())).resolves.toMatchObject({ sub: lic });
    const audit = await (await t.call("GET", "/v1/audit?action=signing_key.retired", { key: admin })).json();
    expect(audit.items[0].targetId).toBe(first.kid);
  });

  it("two concurrent first tokens of an organisation share one new signing key", async () => {
    const org = await t.newOrg("concurrent");
    const op = await org.key("operator");
    const cus = (await (await t.call("POST", "/v1/customers", { key: op, body: { name: "C" } })).json()).id;
    const lic = (
      await (
        await t.call("POST", "/v1/licenses", { key: op, body: { customerId: cus, expiresAt: inAYear(), entitlements } })
      ).json()
    ).id;
    const [a, b] = await Promise.all([
      t.call("GET", `/v1/licenses/${lic}/token`, { key: op }),
      t.call("GET", `/v1/licenses/${lic}/token`, { key: op }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await a.json()).kid).toBe((await b.json()).kid);
    const keys = await (await t.call("GET", "/v1/signing-keys", { key: org.admin })).json();
    expect(keys.items).toHaveLength(1);
  });

  it("signing keys are stored encrypted, never as plain private JWKs", async () => {
    const { signingKeys } = await import("../../db/schema/index.ts");
    const rows = await t.deps.db.select().from(signingKeys);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.encryptedPrivateKey).toMatch(/^v1\./);
      expect(r.encryptedPrivateKey).not.toContain('"d"');
      expect(JSON.stringify(r.publicJwk)).not.toContain('"d"');
    }
  });

  it("refuses bad bodies, naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ customerId, expiresAt: "tomorrow", entitlements }, "expiresAt"],
      [
        { customerId, expiresAt: inAYear(), entitlements: { ...entitlements, maxWorkerNodes: -1 } },
        "entitlements.maxWorkerNodes",
      ],
      [
        { customerId, expiresAt: inAYear(), entitlements: { ...entitlements, updateChannel: "Bad Channel" } },
        "entitlements.updateChannel",
      ],
      [{ expiresAt: inAYear(), entitlements }, "customerId"],
      [{ customerId, expiresAt: "2001-01-01T00:00:00Z", entitlements }, "expiresAt"],
    ];
    for (const [body, field] of cases) {
      const res = await t.call("POST", "/v1/licenses", { key: operator, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json()).error.details.issues[0].field).toBe(field);
    }
    const missing = await t.call("POST", "/v1/licenses", {
      key: operator,
      body: { customerId: "cus_00000000000000000000000000", expiresAt: inAYear(), entitlements },
    });
    expect(missing.status).toBe(404);
  });

  it("no key 401, viewer writing 403, other organisation 404 (also for its customers)", async () => {
    const lic = await newLicense();
    expect((await t.call("GET", "/v1/licenses")).status).toBe(401);
    expect((await t.call("POST", `/v1/licenses/${lic.id}/revoke`)).status).toBe(401);
    expect((await t.call("POST", "/v1/licenses", { key: viewer, body: {} })).status).toBe(403);
    expect((await t.call("POST", `/v1/licenses/${lic.id}/suspend`, { key: viewer })).status).toBe(403);
    const other = await t.newOrg("intruder");
    const theirs = await other.key("operator");
    for (const [method, path] of [
      ["GET", `/v1/licenses/${lic.id}`],
      ["GET", `/v1/licenses/${lic.id}/token`],
      ["POST", `/v1/licenses/${lic.id}/suspend`],
      ["POST", `/v1/licenses/${lic.id}/revoke`],
    ] as const) {
      expect((await t.call(method, path, { key: theirs })).status, path).toBe(404);
    }
    expect((await t.call("PATCH", `/v1/licenses/${lic.id}`, { key: theirs, body: { notes: "x" } })).status).toBe(404);
    const viaTheirOrg = await t.call("POST", "/v1/licenses", {
      key: theirs,
      body: { customerId, expiresAt: inAYear(), entitlements },
    });
    expect(viaTheirOrg.status).toBe(404);
    expect((await (await t.call("GET", `/v1/licenses/${lic.id}`, { key: viewer })).json()).state).toBe("active");
  });
});
