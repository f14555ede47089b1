// Done-when: following a pod's logs through the tunnel never delays heartbeats. A real cloud (gateway and API on
// Postgres and on PGlite), the real agent with its Kubernetes ClusterPort against the API simulator, over real
// sockets; the operator follows through the API's event stream, stops it, and cannot read what is not theirs.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createAgent } from "../../agent/src/agent.ts";
import { MemoryKeyStore } from "../../agent/src/keystore.ts";
import { MemoryStateStore } from "../../agent/src/state-store.ts";
import { createOrganisation } from "../../cloud/src/services/organisations.ts";
import type { KubeSim } from "../k8s-sim/sim.ts";
import { type TestDatabase, testDbKinds } from "../support/db.ts";
import { startThrottleProxy, type ThrottleProxy } from "../support/throttle-proxy.ts";
import {
  enrollRaw,
  eventually,
  fastAgent,
  issueLicense,
  rawSession,
  startTunnelCloud,
  type TunnelCloud,
} from "../tunnel/harness.ts";
import { type ClusterUnderTest, makeCluster, quietLogger, startSim } from "./harness.ts";

vi.setConfig({ testTimeout: 120_000 });

const UPLINK_BYTES_PER_SEC = 1_000_000;

interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

/** Reads an SSE response incrementally, as EventSource would; `events` grows as they arrive. */
function readSse(res: Response) {
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buf = "";
  const done = (async () => {
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let cut = buf.indexOf("\n\n");
      while (cut >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        cut = buf.indexOf("\n\n");
        const ev: SseEvent = { event: "message", data: "" };
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const i = line.indexOf(":");
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
          if (field === "event") ev.event = value;
          else if (field === "id") ev.id = value;
          else if (field === "data") data.push(value);
        }
        if (data.length === 0 && ev.event === "message") continue;
        ev.data = data.join("\n");
        events.push(ev);
      }
    }
  })().catch((err: Error) => {
    // the cloud stopped while a reader was open (end of the file's tests): what was read is kept
    events.push({ event: "aborted", data: err.message });
  });
  const text = () =>
    events
      .filter((e) => e.event === "chunk")
      .map((e) => `${e.data}\n`)
      .join("");
  return { events, done, text };
}

describe.each(testDbKinds)("log follow through the tunnel ($name)", (kind) => {
  let database: TestDatabase;
  let tc: TunnelCloud;
  let sim: KubeSim;
  let cut: ClusterUnderTest;
  let agent: ReturnType<typeof createAgent>;
  let applianceId: string;
  let uplink: ThrottleProxy;
  const pod = "orders-0";

  const support = (key: string, action: string, body: unknown) =>
    fetch(`${tc.url}/v1/appliances/${applianceId}/support/${action}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  const follow = async (args: Record<string, unknown> = {}) => {
    const res = await support(tc.adminKey, "logs", {
      args: { pod, follow: true, tailLines: 1, maxSeconds: 120, ...args },
      waitMs: 0,
    });
    expect(res.status).toBe(202);
    return (await res.json()).command as { id: string; status: string };
  };
  const openStream = (commandId: string, key = tc.adminKey, headers: Record<string, string> = {}) =>
    fetch(`${tc.url}/v1/commands/${commandId}/stream`, {
      headers: { authorization: `Bearer ${key}`, ...headers },
      signal: AbortSignal.timeout(100_000),
    });
  const stop = (commandId: string, key = tc.adminKey) =>
    fetch(`${tc.url}/v1/commands/${commandId}/stream`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${key}` },
    });

  beforeAll(async () => {
    database = await kind.open();
    [tc, sim] = await Promise.all([startTunnelCloud({ database }), startSim()]);
    sim.seed({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: pod, namespace: "default", labels: { app: "orders" } },
      spec: { containers: [{ name: "camel", image: "camel-runner:4" }] },
    });
    await sim.waitFor("Pod", "default", pod, (p) => p.status?.phase === "Running");
    cut = await makeCluster(sim, { helm: 4, release: "logs" });
    const { token } = await issueLicense(tc);
    // the appliance's uplink: 1 MB/s towards the cloud, so what the agent queues is what a heartbeat waits behind
    uplink = await startThrottleProxy({ host: "127.0.0.1", port: tc.port }, UPLINK_BYTES_PER_SEC);
    agent = createAgent({
      cloudUrl: uplink.url,
      licenseToken: token,
      cluster: cut.cluster,
      keyStore: new MemoryKeyStore(),
      stateStore: new MemoryStateStore(),
      logger: quietLogger,
      ...fastAgent,
      telemetryIntervalMs: 60_000,
    });
    await agent.start();
    await agent.whenConnected(15_000);
    applianceId = agent.status().applianceId!;
  });
  afterAll(async () => {
    await agent?.stop();
    await tc?.stop();
    await database?.close();
    await sim?.stop();
    await cut?.cleanup();
    await uplink?.close();
  });

  it("streams a pod's log lines in order, redacted, while heartbeats keep their pace", async () => {
    sim.writePodLog("default", pod, "camel", "before the follow\nlast line before\n");
    const cmd = await follow();
    const res = await openStream(cmd.id);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const sse = readSse(res);
    await eventually(() => sse.text().includes("last line before"), 20_000, "the tail line");
    expect(sse.text()).not.toContain("before the follow");

    // The flood: 4.4 MB of log lines in 66 kB bursts, over four seconds of the uplink; without the credit the agent
    // would queue it all in its socket and every heartbeat would wait seconds behind it.
    const heartbeatMs = tc.gateway.options.heartbeatMs;
    const before = agent.status();
    const line = (i: number) =>
      `${String(i).padStart(7, "0")} order accepted token=sk-${i}-secret ${"x".repeat(180)}\n`;
    const perBurst = 300;
    const bursts = 67;
    let maxGap = 0;
    let lastPongs = before.link!.pongs;
    let lastChange = performance.now();
    const watch = setInterval(() => {
      const l = agent.status().link;
      if (!l) return;
      const now = performance.now();
      if (l.pongs !== lastPongs) {
        maxGap = Math.max(maxGap, now - lastChange);
        lastPongs = l.pongs;
        lastChange = now;
      }
    }, 10);
    const started = performance.now();
    for (let b = 0; b < bursts; b++) {
      let text = "";
      for (let i = 0; i < perBurst; i++) text += line(b * perBurst + i);
      sim.writePodLog("default", pod, "camel", text);
      await new Promise((r) => setTimeout(r, 5));
    }
    const total = bursts * perBurst;
    await eventually(() => sse.text().includes(line(total - 1).slice(0, 22)), 90_000, "the last flooded line");
    const floodMs = performance.now() - started;
    clearInterval(watch);
    maxGap = Math.max(maxGap, performance.now() - lastChange);

    const after = agent.status();
    console.info(
      `${kind.name}: ${total} lines (${(total * line(0).length) / 1e6} MB) followed in ${Math.round(floodMs)} ms; ` +
        `longest wait for a pong ${Math.round(maxGap)} ms`,
    );
    // every line arrived, once, in order, with its secret redacted
    const got = sse
      .text()
      .split("\n")
      .filter((l) => /^\d{7} order/.test(l));
    expect(got).toHaveLength(total);
    expect(got.every((l, i) => l.startsWith(String(i).padStart(7, "0")))).toBe(true);
    expect(sse.text()).not.toMatch(/sk-\d+-secret/);
    // chunk ids count up from 1 without gaps
    const ids = sse.events.filter((e) => e.event === "chunk").map((e) => Number(e.id));
    expect(ids).toEqual(ids.map((_, i) => i + 1));

    // heartbeats were answered throughout: same session, a pong at least every few heartbeat periods
    expect(after.connects).toBe(before.connects);
    expect(after.sessionId).toBe(before.sessionId);
    expect(after.link!.pongs - before.link!.pongs).toBeGreaterThanOrEqual(Math.floor(floodMs / heartbeatMs / 4));
    expect(maxGap).toBeLessThan(tc.gateway.options.deadAfterMs / 2);
    expect(after.link!.rttMs).toBeLessThan(1_000);
    expect(floodMs).toBeGreaterThan(((total * line(0).length) / UPLINK_BYTES_PER_SEC) * 1000 * 0.8);

    // the operator stops it: the agent ends the follow, the stream ends with the command's result, audited
    const stopped = await stop(cmd.id);
    expect(stopped.status).toBe(202);
    expect(await stopped.json()).toMatchObject({ id: cmd.id, stopping: true });
    await sse.done;
    const end = sse.events.at(-1)!;
    expect(end.event).toBe("end");
    const finished = JSON.parse(end.data);
    expect(finished).toMatchObject({ id: cmd.id, status: "succeeded" });
    expect(finished.result).toMatchObject({ followed: true, ended: "cancelled by an operator" });
    expect(finished.result.lines).toBeGreaterThanOrEqual(total);
    const audit = await tc.api("GET", "/v1/audit?limit=50");
    expect(
      audit.items.some(
        (a: { action: string; targetId: string }) => a.action === "command.stream.stop" && a.targetId === cmd.id,
      ),
    ).toBe(true);
    // stopping again changes nothing
    expect(await (await stop(cmd.id)).json()).toMatchObject({ stopping: false, status: "succeeded" });
  });

  it("resumes a reader from Last-Event-ID and replays a finished stream", async () => {
    const cmd = await follow({ tailLines: 1, maxSeconds: 2 });
    await eventually(async () => (await tc.api("GET", `/v1/commands/${cmd.id}`)).status === "running", 20_000);
    sim.writePodLog("default", pod, "camel", "one\n");
    await new Promise((r) => setTimeout(r, 300));
    sim.writePodLog("default", pod, "camel", "two\n");
    const done = await eventually(
      async () => {
        const c = await tc.api("GET", `/v1/commands/${cmd.id}`);
        return c.status === "succeeded" ? c : undefined;
      },
      30_000,
      "the follow to reach its time limit",
    );
    expect(done.result).toMatchObject({ ended: "time limit" });
    const all = readSse(await openStream(cmd.id));
    await all.done;
    expect(all.text()).toContain("one\n");
    expect(all.text()).toContain("two\n");
    expect(all.events.at(-1)?.event).toBe("end");
    const firstId = all.events.find((e) => e.event === "chunk")!.id!;
    const resumed = readSse(await openStream(cmd.id, tc.adminKey, { "last-event-id": firstId }));
    await resumed.done;
    expect(resumed.events.filter((e) => e.event === "chunk").length).toBe(
      all.events.filter((e) => e.event === "chunk").length - 1,
    );
  });

  it("refuses what has no stream, what the role does not allow, and other organisations' commands", async () => {
    const tail = await support(tc.adminKey, "logs", { args: { pod, tailLines: 5 }, waitMs: 0 });
    const tailId = (await tail.json()).command.id;
    const noStream = await openStream(tailId);
    expect(noStream.status).toBe(409);
    expect((await noStream.json()).error.message).toMatch(/has no stream/);
    expect((await openStream("cmd_nope")).status).toBe(404);

    const cmd = await follow({ maxSeconds: 5 });
    const viewer = await tc.api("POST", "/v1/api-keys", { name: "viewer", role: "viewer" });
    expect((await openStream(cmd.id, viewer.secret)).status).toBe(403);
    expect((await stop(cmd.id, viewer.secret)).status).toBe(403);
    expect((await fetch(`${tc.url}/v1/commands/${cmd.id}/stream`)).status).toBe(401);
    const other = await createOrganisation(database.db, { name: "other org", actorName: "test", at: new Date() });
    expect((await openStream(cmd.id, other.secret)).status).toBe(404);
    expect((await stop(cmd.id, other.secret)).status).toBe(404);
    await stop(cmd.id);
  });

  it("refuses chunks an appliance sends for another appliance's command, storing nothing", async () => {
    const cmd = await follow({ maxSeconds: 5 });
    const { token } = await issueLicense(tc);
    const enrolled = await enrollRaw(tc, token);
    const intruder = await rawSession(enrolled);
    const frames: Array<Record<string, unknown>> = [];
    intruder.ws.on("message", (d) => frames.push(JSON.parse(d.toString())));
    intruder.ws.send(JSON.stringify({ type: "stream.data", v: 1, id: cmd.id, seq: 1, data: "forged line\n" }));
    const cancel = await eventually(() => frames.find((f) => f.type === "stream.cancel"), 10_000, "stream.cancel");
    expect(cancel).toMatchObject({ id: cmd.id, reason: "unknown stream" });
    expect(frames.some((f) => f.type === "stream.credit")).toBe(false);
    // a chunk beyond the credit (the window before any credit is 8) ends the session: it could fill the gateway
    intruder.ws.send(JSON.stringify({ type: "stream.data", v: 1, id: "cmd_other", seq: 9, data: "x\n" }));
    expect(await intruder.closed).toMatchObject({ code: 4400, reason: expect.stringMatching(/beyond the credit/) });
    await stop(cmd.id);
    const sse = readSse(await openStream(cmd.id));
    await sse.done;
    expect(sse.text()).not.toContain("forged line");
  });
});
