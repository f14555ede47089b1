// Liveness during a slow hello: a session's silence clock starts when it is welcomed, so a hello whose database
// round trip took longer than deadAfterMs (a saturated pool in a reconnect storm) does not end in HEARTBEAT_TIMEOUT
// right after welcome, before the agent's first ping is due.
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { signAgentToken } from "../../shared/src/protocol/agent-token.ts";
import { CloseCode } from "../../shared/src/protocol/frames.ts";
import { testDbKinds } from "../support/db.ts";
import { useDatabaseAndCleanups } from "../support/per-test.ts";
import { enrollRaw, fastGateway, helloFor, issueLicense, startTunnelCloud, tryUpgrade } from "./harness.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventuallyTrue(fn: () => boolean, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > until) throw new Error("timed out");
    await sleep(10);
  }
}

describe.each(testDbKinds)("liveness during a slow hello ($name)", (kind) => {
  const t = useDatabaseAndCleanups(kind);

  it("a session welcomed after a hello slower than deadAfterMs is not closed before its first ping is due", {
    timeout: 20_000,
  }, async () => {
    const tc = await startTunnelCloud({ database: t.database });
    t.cleanups.push(() => tc.stop());
    const { token } = await issueLicense(tc);
    const e = await enrollRaw(tc, token);
    const jwt = await signAgentToken({
      applianceId: e.applianceId,
      audience: e.audience,
      privateKey: e.key.privateKey,
    });
    const up = await tryUpgrade(e.tunnelUrl, jwt);
    if (!up.open) throw new Error(`refused ${up.status}`);
    const ws = up.ws;
    let welcomedAt = 0;
    ws.on("message", (d) => {
      const f = JSON.parse(d.toString()) as { type: string };
      if (f.type === "welcome") welcomedAt = Date.now();
    });
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    const deadAfterMs = fastGateway.deadAfterMs!;
    // Hold the appliance row (on PGlite: the one connection) for longer than deadAfterMs while the hello arrives.
    let holding!: () => void;
    const held = new Promise<void>((r) => {
      holding = r;
    });
    const lock = t.database.db.transaction(async (tx) => {
      await tx.execute(sql`select id from appliances where id = ${e.applianceId} for update`);
      holding();
      await sleep(deadAfterMs + 700);
    });
    await held;
    ws.send(JSON.stringify(helloFor(e.applianceId)));
    await lock;
    await eventuallyTrue(() => welcomedAt > 0, 5_000);
    let closedAt = 0;
    void closed.then(() => {
      closedAt = Date.now();
    });
    // Silent (as an agent is until its first ping, heartbeatMs after welcome) for half of deadAfterMs: still open.
    await sleep(deadAfterMs / 2);
    expect(closedAt).toBe(0);
    expect(ws.readyState).toBe(ws.OPEN);
    // Silence past deadAfterMs counted from welcome still ends the session.
    expect(await Promise.race([closed, sleep(deadAfterMs * 2).then(() => 0)])).toBe(CloseCode.HEARTBEAT_TIMEOUT);
    expect(closedAt - welcomedAt).toBeGreaterThanOrEqual(deadAfterMs - 50);
  });
});
