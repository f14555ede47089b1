// Done-when 1: an agent enrolls with a license token, connects, shows as online, and its telemetry is queryable.
import { describe, expect, it } from "vitest";
import { testDbKinds } from "../support/db.ts";
import { useDatabaseAndCleanups } from "../support/per-test.ts";
import {
  enrollRaw,
  eventually,
  issueLicense,
  makeAgent,
  rawSession,
  startTunnelCloud,
  type TestAgent,
  type TunnelCloud,
} from "./harness.ts";

describe.each(testDbKinds)("enroll, connect, telemetry ($name)", (kind) => {
  // One database per kind (opening PGlite is the slow part); every test makes its own organisation data.
  const t = useDatabaseAndCleanups(kind);

  async function setup() {
    const tc = await startTunnelCloud({ database: t.database });
    t.cleanups.push(() => tc.stop());
    return tc;
  }
  function agentFor(tc: TunnelCloud, token: string, opts?: Parameters<typeof makeAgent>[2]): TestAgent {
    const a = makeAgent(tc.url, token, opts);
    t.cleanups.unshift(() => a.agent.stop());
    return a;
  }

  it("enrolls, shows online with its version, and its events and metrics are queryable", async () => {
    const tc = await setup();
    const { token, licenseId } = await issueLicense(tc);
    const a = agentFor(tc, token, { agentVersion: "9.9.9-test" });
    await a.agent.start();
    await a.agent.whenConnected(10_000);
    const id = a.applianceId();

    const apl = await eventually(async () => {
      const r = await tc.api("GET", `/v1/appliances/${id}`);
      return r.presence.status === "online" ? r : undefined;
    });
    expect(apl.licenseId).toBe(licenseId);
    expect(apl.presence.agentVersion).toBe("9.9.9-test");
    expect(apl.facts.distribution).toBe("k3s");

    const seq = await a.agent.emitEvent("test.hello", { n: 1 });
    await a.agent.emitEvent("test.hello", { n: 2, tricky: 'quote " backslash \\ braces {a,b} NULL ü' });
    const events = await eventually(async () => {
      const r = await tc.api("GET", `/v1/appliances/${id}/events?kind=test.hello`);
      return r.items.length === 2 ? r.items : undefined;
    });
    expect(events.map((e: { seq: number }) => e.seq)).toEqual([seq, seq + 1]);
    expect(events[1].data).toEqual({ n: 2, tricky: 'quote " backslash \\ braces {a,b} NULL ü' });
    // acknowledged after the commit: the agent's buffer empties
    await eventually(() => a.agent.status().eventsBuffered === 0, 5_000, "events acked");

    const metrics = await eventually(async () => {
      const r = await tc.api("GET", `/v1/appliances/${id}/metrics?name=camel.exchangesTotal`);
      return r.items.length >= 2 ? r.items : undefined;
    });
    expect(typeof metrics[0].value).toBe("number");

    const list = await tc.api("GET", "/v1/appliances");
    expect(list.items.map((x: { id: string }) => x.id)).toContain(id);

    await a.agent.stop();
    await eventually(
      async () => {
        const r = await tc.api("GET", `/v1/appliances/${id}`);
        return r.presence.status === "offline";
      },
      5_000,
      "offline after stop",
    );
  });

  it("welcome tells the highest committed event seq (read from the events, not a per-flush counter)", async () => {
    const tc = await setup();
    const { token } = await issueLicense(tc);
    const e = await enrollRaw(tc, token);
    const first = await rawSession(e);
    expect(first.welcome.lastEventSeq).toBe(0);
    const acked = new Promise<unknown>((resolve) =>
      first.ws.on("message", (d) => {
        const f = JSON.parse(d.toString()) as { type: string; upTo?: number };
        if (f.type === "events.ack" && f.upTo === 12) resolve(f);
      }),
    );
    const ev = (seq: number) => ({ seq, kind: "test.seq", at: new Date().toISOString(), data: {} });
    first.ws.send(JSON.stringify({ type: "events", v: 1, events: [ev(3), ev(12), ev(5)] }));
    await acked;
    first.ws.close();
    await first.closed;
    const second = await rawSession(e);
    expect(second.welcome.lastEventSeq).toBe(12);
    second.ws.close();
  });

  it("enrolling again with the same key is idempotent; a second key is refused beyond maxHubs", async () => {
    const tc = await setup();
    const { token } = await issueLicense(tc, { maxHubs: 1 });
    const a = agentFor(tc, token);
    await a.agent.start();
    await a.agent.whenConnected();
    const id = a.applianceId();
    await a.agent.stop();

    // Same key, fresh state: enrolls to the same appliance.
    const again = agentFor(tc, token, { keyStore: a.keyStore });
    await again.agent.start();
    await again.agent.whenConnected();
    expect(again.applianceId()).toBe(id);

    // Another key under a one-hub license: 403.
    const key = (await import("../../agent/src/keystore.ts")).generateAgentKey();
    const res = await fetch(`${tc.url}/v1/enroll`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        licenseToken: token,
        publicKey: key.publicJwk,
        facts: { kubernetesVersion: "v1.31", distribution: "k3s", nodeCount: 1, namespace: "x", mode: "appliance" },
      }),
    });
    expect(res.status).toBe(403);
    expect((await res.json()).error.details.reason).toBe("max-hubs");

    const bad = await fetch(`${tc.url}/v1/enroll`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        licenseToken: `${token.slice(0, -4)}AAAA`,
        publicKey: key.publicJwk,
        facts: { kubernetesVersion: "v1.31", distribution: "k3s", nodeCount: 1, namespace: "x", mode: "appliance" },
      }),
    });
    expect(bad.status).toBe(401);
  });
});
