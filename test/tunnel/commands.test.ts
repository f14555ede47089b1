// Done-when 2: commands run exactly once across offline periods, dropped connections and a cloud crash/restart;
// events stream across the crash with nothing lost and nothing duplicated.
import { describe, expect, it } from "vitest";
import { SimCluster } from "../../agent/src/sim-cluster.ts";
import { type AgentState, MemoryStateStore } from "../../agent/src/state-store.ts";
import { testDbKinds } from "../support/db.ts";
import { useDatabaseAndCleanups } from "../support/per-test.ts";
import { eventually, issueLicense, makeAgent, startTunnelCloud, type TunnelCloud } from "./harness.ts";

/** A state store that runs a hook before each save (to cut the link at an exact point). */
class HookedStateStore extends MemoryStateStore {
  beforeSave?: (s: AgentState) => void;
  override async save(state: AgentState) {
    this.beforeSave?.(state);
    return super.save(state);
  }
}

describe.each(testDbKinds)("commands ($name)", (kind) => {
  // One database per kind (opening PGlite is the slow part); every test makes its own organisation data.
  const t = useDatabaseAndCleanups(kind);

  async function setup(): Promise<{ tc: TunnelCloud; database: Awaited<ReturnType<typeof kind.open>> }> {
    const tc = await startTunnelCloud({ database: t.database });
    t.cleanups.push(() => tc.stop());
    return { tc, database: t.database };
  }

  async function enrolledAgent(tc: TunnelCloud, opts: Parameters<typeof makeAgent>[2] = {}) {
    const { token } = await issueLicense(tc);
    const a = makeAgent(tc.url, token, opts);
    t.cleanups.push(() => a.agent.stop());
    await a.agent.start();
    await a.agent.whenConnected();
    return { a, token, id: a.applianceId() };
  }

  const runs = (c: SimCluster, nonce: string) => c.executions.filter((e) => e.args.nonce === nonce).length;
  const finished = (tc: TunnelCloud, cmdId: string) =>
    eventually(
      async () => {
        const c = await tc.api("GET", `/v1/commands/${cmdId}`);
        return ["succeeded", "failed", "expired"].includes(c.status) ? c : undefined;
      },
      15_000,
      `command ${cmdId} finished`,
    );

  it("a command created while the agent is offline runs exactly once when it returns", async () => {
    const { tc } = await setup();
    const { a, id, token } = await enrolledAgent(tc);
    await a.agent.stop();
    await eventually(async () => (await tc.api("GET", `/v1/appliances/${id}`)).presence.status === "offline");

    const cmd = await tc.api("POST", `/v1/appliances/${id}/commands`, { type: "echo", args: { nonce: "offline-1" } });
    expect(cmd.status).toBe("queued");
    expect(cmd.seq).toBe(1);

    // The same appliance comes back (same key and state).
    const back = makeAgent(tc.url, token, { keyStore: a.keyStore, stateStore: a.stateStore, cluster: a.cluster });
    t.cleanups.push(() => back.agent.stop());
    await back.agent.start();
    const done = await finished(tc, cmd.id);
    expect(done.status).toBe("succeeded");
    expect(done.result).toEqual({ echo: { nonce: "offline-1" } });
    expect(done.deliveredAt).not.toBeNull();
    // reconnect again: the finished command is not replayed nor re-run
    back.agent.dropConnection();
    await back.agent.whenConnected();
    await new Promise((r) => setTimeout(r, 300));
    expect(runs(a.cluster, "offline-1")).toBe(1);
    const list = await tc.api("GET", `/v1/appliances/${id}/commands`);
    expect(list.items.map((c: { id: string }) => c.id)).toEqual([cmd.id]);
  });

  it("a link dropped after receipt but before the ack still gives one execution and a stored result", async () => {
    const { tc } = await setup();
    const stateStore = new HookedStateStore();
    const { a, id } = await enrolledAgent(tc, { stateStore });
    let cut = false;
    stateStore.beforeSave = (s) => {
      const rec = Object.values(s.executed).find((r) => r.status === "running");
      if (rec && !cut) {
        cut = true;
        a.agent.dropConnection(); // the ack that follows this save goes nowhere
      }
    };
    const cmd = await tc.api("POST", `/v1/appliances/${id}/commands`, { type: "echo", args: { nonce: "pre-ack" } });
    const done = await finished(tc, cmd.id);
    expect(cut).toBe(true);
    expect(done.status).toBe("succeeded");
    expect(runs(a.cluster, "pre-ack")).toBe(1);
    expect(a.agent.status().connects).toBeGreaterThanOrEqual(2);
  });

  it("a link dropped after the ack, before the result, still gives one execution and a stored result", async () => {
    const { tc } = await setup();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const cluster = new SimCluster({
      commands: {
        echo: async (args) => {
          await gate;
          return { echo: args };
        },
      },
    });
    const { a, id } = await enrolledAgent(tc, { cluster });
    const cmd = await tc.api("POST", `/v1/appliances/${id}/commands`, { type: "echo", args: { nonce: "post-ack" } });
    await eventually(
      async () => (await tc.api("GET", `/v1/commands/${cmd.id}`)).status === "running",
      10_000,
      "running",
    );
    a.agent.dropConnection();
    await eventually(() => a.agent.status().connects >= 2, 10_000, "reconnected");
    release();
    const done = await finished(tc, cmd.id);
    expect(done.status).toBe("succeeded");
    expect(runs(cluster, "post-ack")).toBe(1);

    // And with the result finished while offline: the replay makes the agent re-send its stored result.
    let release2: () => void = () => {};
    const gate2 = new Promise<void>((r) => {
      release2 = r;
    });
    cluster.options.commands!.echo = async (args) => {
      await gate2;
      return { echo: args };
    };
    const cmd2 = await tc.api("POST", `/v1/appliances/${id}/commands`, { type: "echo", args: { nonce: "post-ack-2" } });
    await eventually(
      async () => (await tc.api("GET", `/v1/commands/${cmd2.id}`)).status === "running",
      10_000,
      "running 2",
    );
    await a.agent.stop();
    release2();
    await eventually(() => a.stateStore.load().then((s) => s.executed[cmd2.id]?.status === "succeeded"), 5_000, "ran");
    const back = makeAgent(tc.url, "unused", { keyStore: a.keyStore, stateStore: a.stateStore, cluster });
    t.cleanups.push(() => back.agent.stop());
    await back.agent.start();
    expect((await finished(tc, cmd2.id)).result).toEqual({ echo: { nonce: "post-ack-2" } });
    expect(runs(cluster, "post-ack-2")).toBe(1);
  });

  it("an expired command is never run and shows as expired", async () => {
    const { tc } = await setup();
    const { a, id } = await enrolledAgent(tc);
    await a.agent.stop();
    const cmd = await tc.api("POST", `/v1/appliances/${id}/commands`, {
      type: "echo",
      args: { nonce: "exp" },
      ttlSeconds: 1,
    });
    await eventually(
      async () => (await tc.api("GET", `/v1/commands/${cmd.id}`)).status === "expired",
      5_000,
      "expired",
    );
    expect(runs(a.cluster, "exp")).toBe(0);
  });

  it("the cloud killed and restarted mid-stream loses nothing and duplicates nothing", async () => {
    const first = await startTunnelCloud({ database: t.database, onStop: "kill" });
    const { token } = await issueLicense(first);
    const a = makeAgent(first.url, token);
    t.cleanups.push(() => a.agent.stop());
    await a.agent.start();
    await a.agent.whenConnected();
    const id = a.applianceId();

    const cmds = [];
    for (let i = 0; i < 5; i++) {
      cmds.push(
        await first.api("POST", `/v1/appliances/${id}/commands`, {
          type: "echo",
          args: { nonce: `k${i}`, delayMs: 30 },
        }),
      );
    }
    // a steady stream of events while the cloud dies
    let emitted = 0;
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        await a.agent.emitEvent("stream", { i: emitted });
        emitted++;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await eventually(() => emitted > 100, 10_000, "stream started");
    await first.stop(); // kill: sockets cut, queued telemetry discarded unwritten
    await new Promise((r) => setTimeout(r, 100));
    const second = await startTunnelCloud({ database: t.database, port: first.port, adminKey: first.adminKey });
    t.cleanups.push(() => second.stop());
    for (let i = 5; i < 8; i++) {
      cmds.push(await second.api("POST", `/v1/appliances/${id}/commands`, { type: "echo", args: { nonce: `k${i}` } }));
    }
    await eventually(() => a.agent.status().connects >= 2, 15_000, "reconnected");
    await eventually(() => emitted > 300, 10_000, "more events");
    streaming = false;
    await stream;

    for (const c of cmds) expect((await finished(second, c.id)).status).toBe("succeeded");
    for (let i = 0; i < 8; i++) expect(runs(a.cluster, `k${i}`)).toBe(1);
    await eventually(() => a.agent.status().eventsBuffered === 0, 15_000, "all events acked");
    const seqs: number[] = [];
    let after = 0;
    for (;;) {
      const page = await second.api("GET", `/v1/appliances/${id}/events?kind=stream&limit=1000&afterSeq=${after}`);
      if (page.items.length === 0) break;
      for (const e of page.items) seqs.push(e.data.i);
      after = page.items[page.items.length - 1].seq;
    }
    expect(seqs.length).toBe(emitted);
    expect(seqs).toEqual(Array.from({ length: emitted }, (_, i) => i));
  });
});
