// startCloud end to end on a real port: a person's first session (customer, license, token) verified with jose's
// createRemoteJWKSet against the running server, then a stop and a re-open that keeps every object — on a PGlite
// directory, and on real Postgres when TEST_DATABASE_URL is set.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRemoteJWKSet, jwtVerify } from "jose";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { LICENSE_AUDIENCE, LICENSE_ISSUER, verifyLicenseToken } from "../../shared/src/license.ts";
import { freshPostgresUrl, realPostgresUrl } from "../../test/support/db.ts";
import { loadConfig } from "./config.ts";
import { type RunningCloud, startCloud } from "./server.ts";

const silent = pino({ level: "silent" });

async function api(cloud: RunningCloud, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${cloud.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

async function firstSession(cloud: RunningCloud, key: string) {
  const customer = await api(cloud, key, "POST", "/v1/customers", { name: "ACME" });
  expect(customer.status).toBe(201);
  const license = await api(cloud, key, "POST", "/v1/licenses", {
    customerId: customer.body.id,
    expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    entitlements: { maxWorkerNodes: 5, updateChannel: "stable", features: ["remote-support"] },
  });
  expect(license.status).toBe(201);
  const token = await api(cloud, key, "GET", `/v1/licenses/${license.body.id}/token`);
  expect(token.status).toBe(200);
  return {
    customerId: customer.body.id as string,
    licenseId: license.body.id as string,
    token: token.body.token as string,
  };
}

async function verifyRemotely(cloud: RunningCloud, token: string) {
  const jwks = createRemoteJWKSet(new URL(`${cloud.url}/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: LICENSE_ISSUER,
    audience: LICENSE_AUDIENCE,
    algorithms: ["EdDSA"],
  });
  expect(protectedHeader.alg).toBe("EdDSA");
  return payload;
}

async function journeyWithRestart(env: Record<string, string>) {
  const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "silent", ...env });
  const first = await startCloud(config, { logger: silent });
  let second: RunningCloud | undefined;
  try {
    expect(first.bootstrap).not.toBeNull();
    const admin = first.bootstrap!.secret;
    const s = await firstSession(first, admin);
    const payload = await verifyRemotely(first, s.token);
    expect(payload).toMatchObject({ sub: s.licenseId, customer: { id: s.customerId, name: "ACME" } });
    expect(payload.exp).toBeGreaterThan(Date.now() / 1000);
    const jwks = await (await fetch(`${first.url}/.well-known/jwks.json`)).json();
    await expect(verifyLicenseToken(s.token, jwks)).resolves.toMatchObject({ sub: s.licenseId });
    const auditBefore = await api(first, admin, "GET", "/v1/audit?limit=200");
    await first.stop();

    second = await startCloud(config, { logger: silent });
    expect(second.bootstrap).toBeNull(); // no second organisation, no new key printed
    expect((await api(second, admin, "GET", `/v1/customers/${s.customerId}`)).body.name).toBe("ACME");
    expect((await api(second, admin, "GET", `/v1/licenses/${s.licenseId}`)).body.state).toBe("active");
    expect((await api(second, admin, "GET", "/v1/audit?limit=200")).body).toEqual(auditBefore.body);
    // the signing key survived (decrypted with the same key-encryption key): old and new tokens verify
    await verifyRemotely(second, s.token);
    const again = await api(second, admin, "GET", `/v1/licenses/${s.licenseId}/token`);
    await verifyRemotely(second, again.body.token);
  } finally {
    await first.stop();
    await second?.stop();
  }
}

describe("startCloud", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("on a PGlite directory: serves the first session, and a restart keeps every object", async () => {
    const dir = mkdtempSync(join(tmpdir(), "camelops-"));
    dirs.push(dir);
    await journeyWithRestart({ DATA_DIR: dir });
  }, 240_000);

  it("runs attach hooks (cleanup on stop) and refuses a PGlite directory that another start holds", async () => {
    const dir = mkdtempSync(join(tmpdir(), "camelops-"));
    dirs.push(dir);
    const calls: string[] = [];
    const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: dir });
    const cloud = await startCloud(config, {
      logger: silent,
      attach: [
        (server, deps) => {
          calls.push(`attach:${typeof server.address}:${typeof deps.db}`);
          return () => {
            calls.push("cleanup");
          };
        },
      ],
    });
    try {
      await expect(startCloud(config, { logger: silent })).rejects.toThrow(/already open|in use/);
    } finally {
      await cloud.stop();
    }
    expect(calls).toEqual(["attach:function:object", "cleanup"]);
  }, 240_000);

  it.skipIf(!realPostgresUrl)(
    "on Postgres: serves the first session, and a restart keeps every object",
    async () => {
      const { url, drop } = await freshPostgresUrl();
      try {
        await journeyWithRestart({ DATABASE_URL: url, KEY_ENCRYPTION_KEY: randomBytes(32).toString("base64") });
      } finally {
        await drop();
      }
    },
    120_000,
  );
});
