// Done-when 5: several cloud replicas on one Postgres. A command (or desired state, or a revocation) made through
// replica A reaches the agent connected to replica B promptly, with LISTEN/NOTIFY as the only wake-up
// (B's periodic sweep is switched off here); a session on A fences the older one on B.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../cloud/src/db/client.ts";
import { openDatabase } from "../../cloud/src/db/client.ts";
import { CloseCode } from "../../shared/src/protocol/frames.ts";
import { type TestDatabase, testDbKinds } from "../support/db.ts";
import {
  enrollRaw,
  eventually,
  issueLicense,
  makeAgent,
  rawSession,
  startTunnelCloud,
  type TunnelCloud,
} from "./harness.ts";

const noSweep = { sweepMs: 600_000 };

describe.each(testDbKinds)("replicas ($name)", (kind) => {
  let database: TestDatabase;
  let second: Database;
  let A: TunnelCloud;
  let B: TunnelCloud;
  beforeAll(async () => {
    database = await kind.open();
    // Postgres: replica B has its own pool and LISTEN connection; PGlite: one in-process database for both.
    second = database.url ? await openDatabase({ databaseUrl: database.url, poolSize: 4 }) : database;
    // Replicas share one public URL (the agents' token audience) behind a load balancer.
    const publicUrl = "http://cloud.replicas.test";
    A = await startTunnelCloud({ database, gateway: noSweep, publicUrl });
    B = await startTunnelCloud({ database: second, gateway: noSweep, adminKey: A.adminKey, publicUrl });
  });
  afterAll(async () => {
    await B?.stop();
    await A?.stop();
    if (second !== database) await second?.close();
    await database?.close();
  });
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    cleanups.length = 0;
  });

  it("a command created through replica A reaches the agent on replica B promptly", async () => {
    const { token } = await issueLicense(A);
    const a = makeAgent(B.url, token);
    cleanups.push(() => a.agent.stop());
    await a.agent.start();
    await a.agent.whenConnected();
    const id = a.applianceId();
    expect(B.gateway.sessions.has(id)).toBe(true);
    expect(A.gateway.sessions.has(id)).toBe(false);

    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const cmd = await A.api("POST", `/v1/appliances/${id}/commands`, { type: "echo", args: { i } });
      const done = await eventually(async () => {
        const c = await A.api("GET", `/v1/commands/${cmd.id}`);
        return c.status === "succeeded" ? c : undefined;
      }, 5_000);
      expect(done.result).toEqual({ echo: { i } });
      expect(Date.now() - t0).toBeLessThan(3_000);
    }

    // Desired state written through A is applied by the agent on B.
    await A.api("PUT", `/v1/appliances/${id}/desired-state`, {
      release: { id: "rel_test", chartVersion: "1.2.3", chartDigest: "sha256:00", chartUrl: "http://example/c.tgz" },
      values: { replicas: 2 },
      valuesDigest: "v1",
    });
    await eventually(() => a.cluster.applies.length === 1, 5_000, "applied");
    const apl = await eventually(async () => {
      const r = await A.api("GET", `/v1/appliances/${id}`);
      return r.observedGeneration === 1 && r.lastApply ? r : undefined;
    }, 5_000);
    expect(apl.lastApply.outcome).toBe("healthy");
  });

  it("a session on A fences the older one on B, and a revocation through A closes the session on B", async () => {
    const { token } = await issueLicense(A);
    const e = await enrollRaw(A, token);
    const onB = await rawSession({ ...e, tunnelUrl: `${B.url.replace("http", "ws")}/v1/tunnel` });
    const onA = await rawSession({ ...e, tunnelUrl: `${A.url.replace("http", "ws")}/v1/tunnel` });
    expect((await onB.closed).code).toBe(CloseCode.SUPERSEDED);
    onA.ws.close();

    const a = makeAgent(B.url, (await issueLicense(A)).token);
    cleanups.push(() => a.agent.stop());
    await a.agent.start();
    await a.agent.whenConnected();
    const lic = (await A.api("GET", `/v1/appliances/${a.applianceId()}`)).licenseId;
    expect(B.gateway.sessions.has(a.applianceId())).toBe(true);
    const closed = new Promise<{ code: number }>((r) => a.agent.events.once("disconnected", r));
    const t0 = Date.now();
    await A.api("POST", `/v1/licenses/${lic}/suspend`, { reason: "replica test" });
    expect((await closed).code).toBe(CloseCode.REVOKED);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });
});
