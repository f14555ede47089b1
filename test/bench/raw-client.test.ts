// Cross-check of the bench's raw client against the real gateway: 20 raw clients and 2 real agents on one cloud.
// The raw client must be accepted exactly as the agent is (token, subprotocol, hello/welcome, heartbeat, commands,
// events), so the benchmarks cannot hide a protocol bug behind a client that the product would refuse.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import {
  clientFrame,
  type FrameKind,
  handshakeBytes,
  helloJson,
  PING_FRAME,
  RawConn,
  TimerWheel,
} from "../../bench/lib/raw-client.ts";
import { commands, telemetryEvents } from "../../cloud/src/db/schema/index.ts";
import { enqueueCommand } from "../../cloud/src/tunnel/commands.ts";
import { signAgentToken } from "../../shared/src/protocol/agent-token.ts";
import { pgliteKind, type TestDatabase } from "../support/db.ts";
import {
  enrollRaw,
  eventually,
  issueLicense,
  makeAgent,
  startTunnelCloud,
  type TestAgent,
  type TunnelCloud,
} from "../tunnel/harness.ts";

describe("bench raw client against the real gateway", () => {
  let database: TestDatabase;
  let tc: TunnelCloud;
  const agents: TestAgent[] = [];
  const conns: RawConn[] = [];
  beforeAll(async () => {
    database = await pgliteKind.open();
    tc = await startTunnelCloud({ database });
  });
  afterAll(async () => {
    for (const c of conns) c.end();
    await Promise.all(agents.map((a) => a.agent.stop()));
    await tc?.stop();
    await database?.close();
  });

  it("20 raw clients and 2 real agents are live; heartbeat, commands and events work", {
    timeout: 20_000,
  }, async () => {
    const { token } = await issueLicense(tc, { maxHubs: 30 });
    for (let i = 0; i < 2; i++) {
      const a = makeAgent(tc.url, token);
      agents.push(a);
      await a.agent.start();
    }
    const frames = new Map<RawConn, FrameKind[]>();
    const closed: number[] = [];
    const port = tc.port;
    // the harness's gateway expects a frame every 1.5 s: the bench's timer wheel keeps every client alive
    const wheel = new TimerWheel(200, 50);
    onTestFinished(() => wheel.stop());
    for (let i = 0; i < 20; i++) {
      const e = await enrollRaw(tc, token);
      const jwt = await signAgentToken({
        applianceId: e.applianceId,
        audience: e.audience,
        privateKey: e.key.privateKey,
      });
      const c = new RawConn(
        {
          id: e.applianceId,
          handshake: handshakeBytes("127.0.0.1", port, jwt),
          hello: clientFrame(helloJson(e.applianceId)),
        },
        {
          onFrame: (conn, kind, payload) => {
            frames.get(conn)!.push(kind);
            if (kind === "command") {
              const f = JSON.parse(payload.toString()) as { seq: number };
              conn.send(clientFrame(`{"type":"command.ack","v":1,"upTo":${f.seq}}`));
            }
          },
          onLive: (conn) => wheel.add(conn),
          onClosed: (_c, code) => closed.push(code),
        },
      );
      frames.set(c, []);
      conns.push(c);
      c.connect("127.0.0.1", port);
    }
    await eventually(() => conns.every((c) => c.state === "live"), 10_000, "raw clients live");
    await Promise.all(agents.map((a) => a.agent.whenConnected(10_000)));
    expect(tc.gateway.sessions.size).toBe(22);

    // heartbeat: the shared pre-masked ping gets a pong on every connection
    for (const c of conns) c.send(PING_FRAME);
    await eventually(() => conns.every((c) => frames.get(c)!.includes("pong")), 5_000, "pongs");

    // a command through the real outbox reaches the raw client, whose ack lands in the database
    const target = conns[0]!;
    const row = await enqueueCommand(database.db, {
      orgId: (await database.db.query.appliances.findFirst({ where: (t, { eq }) => eq(t.id, target.spec.id) }))!.orgId,
      applianceId: target.spec.id,
      type: "echo",
      args: {},
      createdBy: "test",
    });
    await eventually(
      async () => {
        const [r] = await database.db.select().from(commands).where(eq(commands.id, row.id));
        return r?.status === "delivered";
      },
      5_000,
      "command delivered and acked",
    );

    // events: committed, then acked
    const ev = `{"type":"events","v":1,"events":[{"seq":1,"kind":"bench.tick","at":"${new Date().toISOString()}","data":{"n":1}}]}`;
    target.send(clientFrame(ev));
    await eventually(() => frames.get(target)!.includes("events.ack"), 5_000, "events.ack");
    const stored = await database.db
      .select()
      .from(telemetryEvents)
      .where(eq(telemetryEvents.applianceId, target.spec.id));
    expect(stored).toHaveLength(1);
    // nothing was refused or closed by the gateway
    expect(closed).toEqual([]);
    expect(agents.every((a) => a.agent.status().phase !== "stopped")).toBe(true);
  });
});
