// Done-when 3: fencing, revocation, token checks and frame errors, each over real sockets; the gateway keeps
// serving everyone else throughout.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generateAgentKey } from "../../agent/src/keystore.ts";
import { signAgentToken } from "../../shared/src/protocol/agent-token.ts";
import { CloseCode } from "../../shared/src/protocol/frames.ts";
import { type TestDatabase, testDbKinds } from "../support/db.ts";
import {
  enrollRaw,
  eventually,
  helloFor,
  issueLicense,
  makeAgent,
  rawSession,
  startTunnelCloud,
  type TunnelCloud,
  tryUpgrade,
} from "./harness.ts";

describe.each(testDbKinds)("tunnel security ($name)", (kind) => {
  let database: TestDatabase;
  let tc: TunnelCloud;
  beforeAll(async () => {
    database = await kind.open();
    tc = await startTunnelCloud({ database });
  });
  afterAll(async () => {
    await tc?.stop();
    await database?.close();
  });
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    cleanups.length = 0;
  });

  it("a second connection with the same identity supersedes the first", async () => {
    const { token } = await issueLicense(tc);
    const e = await enrollRaw(tc, token);
    const first = await rawSession(e);
    const second = await rawSession(e);
    const closed = await first.closed;
    expect(closed.code).toBe(CloseCode.SUPERSEDED);
    expect((second.welcome.epoch as number) > (first.welcome.epoch as number)).toBe(true);
    expect(second.ws.readyState).toBe(second.ws.OPEN);
    // the superseded session did not mark the appliance offline
    await new Promise((r) => setTimeout(r, 200));
    expect((await tc.api("GET", `/v1/appliances/${e.applianceId}`)).presence.status).toBe("online");
    second.ws.close();
  });

  it("revoking the license disconnects the agent within seconds and keeps it out", async () => {
    const { token, licenseId } = await issueLicense(tc);
    const a = makeAgent(tc.url, token);
    cleanups.push(() => a.agent.stop());
    await a.agent.start();
    await a.agent.whenConnected();
    const closed = new Promise<{ code: number }>((r) => a.agent.events.once("disconnected", r));
    const t0 = Date.now();
    await tc.api("POST", `/v1/licenses/${licenseId}/revoke`, { reason: "test" });
    expect((await closed).code).toBe(CloseCode.REVOKED);
    expect(Date.now() - t0).toBeLessThan(3_000);
    const refused = await new Promise<{ status?: number }>((r) => a.agent.events.once("refused", r));
    expect(refused.status).toBe(403);
    expect(a.agent.status().phase).not.toBe("connected");
    await eventually(
      async () => (await tc.api("GET", `/v1/appliances/${a.applianceId()}`)).presence.status === "offline",
    );
  });

  it("disabling the appliance closes its session; enabling lets it back", async () => {
    const { token } = await issueLicense(tc);
    const a = makeAgent(tc.url, token, { backoff: { baseMs: 20, maxMs: 200 } });
    cleanups.push(() => a.agent.stop());
    await a.agent.start();
    await a.agent.whenConnected();
    const closed = new Promise<{ code: number }>((r) => a.agent.events.once("disconnected", r));
    await tc.api("POST", `/v1/appliances/${a.applianceId()}/disable`, {});
    expect((await closed).code).toBe(CloseCode.REVOKED);
    await tc.api("POST", `/v1/appliances/${a.applianceId()}/enable`, {});
    await a.agent.whenConnected(10_000);
  });

  it("refuses expired, forged, replayed, wrong-audience, over-long and missing tokens before the upgrade", async () => {
    const { token } = await issueLicense(tc);
    const e = await enrollRaw(tc, token);
    const sign = (o: Partial<Parameters<typeof signAgentToken>[0]> = {}) =>
      signAgentToken({ applianceId: e.applianceId, audience: e.audience, privateKey: e.key.privateKey, ...o });

    const expired = await tryUpgrade(e.tunnelUrl, await sign({ now: new Date(Date.now() - 10 * 60_000) }));
    expect(expired).toMatchObject({ open: false, status: 401, reason: "expired" });

    const forged = await tryUpgrade(e.tunnelUrl, await sign({ privateKey: generateAgentKey().privateKey }));
    expect(forged).toMatchObject({ open: false, status: 401, reason: "bad-signature" });

    const wrongAud = await tryUpgrade(e.tunnelUrl, await sign({ audience: "https://evil.example/v1/tunnel" }));
    expect(wrongAud).toMatchObject({ open: false, status: 401, reason: "bad-aud" });

    const tooLong = await tryUpgrade(e.tunnelUrl, await sign({ ttlSeconds: 3600 }));
    expect(tooLong).toMatchObject({ open: false, status: 401, reason: "ttl-too-long" });

    const unknown = await tryUpgrade(e.tunnelUrl, await sign({ applianceId: "apl_01JD6Z8Q3W5Y2M4N6P8R0T2V4X" }));
    expect(unknown).toMatchObject({ open: false, status: 401 });

    expect(await tryUpgrade(e.tunnelUrl, undefined)).toMatchObject({ open: false, status: 401 });
    expect(await tryUpgrade(e.tunnelUrl, "not-a-jwt")).toMatchObject({ open: false, status: 401 });
    expect(await tryUpgrade(e.tunnelUrl, await sign(), "some-other-protocol")).toMatchObject({
      open: false,
      status: 426,
    });

    const once = await sign();
    const first = await tryUpgrade(e.tunnelUrl, once);
    expect(first.open).toBe(true);
    if (first.open) first.ws.close();
    expect(await tryUpgrade(e.tunnelUrl, once)).toMatchObject({ open: false, status: 401, reason: "replayed" });
  });

  it("malformed, unknown, out-of-order and oversized frames get their close codes; others keep being served", async () => {
    const { token } = await issueLicense(tc);
    // a bystander agent that must not notice anything
    const bystander = makeAgent(tc.url, token);
    cleanups.push(() => bystander.agent.stop());
    await bystander.agent.start();
    await bystander.agent.whenConnected();
    const bystanderConnects = bystander.agent.status().connects;

    const { token: t2 } = await issueLicense(tc);
    const e = await enrollRaw(tc, t2);
    const cases: Array<[string, (ws: import("ws").WebSocket) => void, number]> = [
      ["not JSON", (ws) => ws.send("{nope"), CloseCode.PROTOCOL_ERROR],
      ["no type", (ws) => ws.send(JSON.stringify({ v: 1 })), CloseCode.PROTOCOL_ERROR],
      ["unknown type", (ws) => ws.send(JSON.stringify({ type: "teleport", v: 1 })), CloseCode.UNKNOWN_FRAME],
      ["unknown version", (ws) => ws.send(JSON.stringify({ type: "ping", v: 99, t: 1 })), CloseCode.UNKNOWN_FRAME],
      [
        "bad schema",
        (ws) => ws.send(JSON.stringify({ type: "command.ack", v: 1, upTo: "x" })),
        CloseCode.PROTOCOL_ERROR,
      ],
      [
        "per-type limit",
        (ws) => ws.send(JSON.stringify({ type: "ping", v: 1, t: 1, pad: "x".repeat(1000) })),
        CloseCode.FRAME_TOO_LARGE,
      ],
      ["over maxPayload", (ws) => ws.send("x".repeat(1_100_000)), CloseCode.MESSAGE_TOO_BIG],
      ["binary", (ws) => ws.send(Buffer.from([1, 2, 3])), CloseCode.PROTOCOL_ERROR],
      ["second hello", (ws) => ws.send(JSON.stringify(helloFor(e.applianceId))), CloseCode.PROTOCOL_ERROR],
    ];
    for (const [name, act, code] of cases) {
      const s = await rawSession(e);
      act(s.ws);
      const closed = await s.closed;
      expect({ name, code: closed.code }).toEqual({ name, code });
    }

    // A first frame that is not hello.
    const pre = await tryUpgrade(
      e.tunnelUrl,
      await signAgentToken({ applianceId: e.applianceId, audience: e.audience, privateKey: e.key.privateKey }),
    );
    if (!pre.open) throw new Error("upgrade refused");
    const preClosed = new Promise<number>((r) => pre.ws.once("close", (c) => r(c)));
    pre.ws.send(JSON.stringify({ type: "ping", v: 1, t: 1 }));
    expect(await preClosed).toBe(CloseCode.PROTOCOL_ERROR);

    // A silent session is closed for heartbeat timeout.
    const silent = await rawSession(e);
    expect((await silent.closed).code).toBe(CloseCode.HEARTBEAT_TIMEOUT);

    // The bystander never noticed and still works.
    expect(bystander.agent.status().connects).toBe(bystanderConnects);
    expect(bystander.agent.status().phase).toBe("connected");
    const cmd = await tc.api("POST", `/v1/appliances/${bystander.applianceId()}/commands`, {
      type: "echo",
      args: { ok: 1 },
    });
    await eventually(async () => (await tc.api("GET", `/v1/commands/${cmd.id}`)).status === "succeeded");
  });

  it("the admission limit answers 429 with a randomised Retry-After", async () => {
    const limited = await startTunnelCloud({
      database,
      gateway: { admission: { ratePerSec: 1, burst: 2, retryAfterMs: [1_000, 5_000] } },
    });
    cleanups.push(() => limited.stop());
    const { token } = await issueLicense(limited);
    const e = await enrollRaw(limited, token);
    const url = e.tunnelUrl.replace(/:\d+\//, `:${limited.port}/`);
    const retry: number[] = [];
    for (let i = 0; i < 8; i++) {
      const t = await signAgentToken({
        applianceId: e.applianceId,
        audience: e.audience,
        privateKey: e.key.privateKey,
      });
      const out = await tryUpgrade(url, t);
      if (out.open) out.ws.close();
      else if (out.status === 429) retry.push(out.retryAfterMs ?? 0);
    }
    expect(retry.length).toBeGreaterThanOrEqual(4);
    for (const ms of retry) expect(ms).toBeGreaterThanOrEqual(1_000);
    expect(new Set(retry).size).toBeGreaterThan(1);
  });
});
