// Heartbeats over a real socket: a ping is answered with its own t (fast path), and a ping the schema refuses still
// closes the session as before (the full parser decides).
import { describe, expect, it } from "vitest";
import { CloseCode } from "../../shared/src/protocol/frames.ts";
import { testDbKinds } from "../support/db.ts";
import { useDatabaseAndCleanups } from "../support/per-test.ts";
import { enrollRaw, issueLicense, rawSession, startTunnelCloud } from "./harness.ts";

describe.each(testDbKinds)("heartbeat ($name)", (kind) => {
  const t = useDatabaseAndCleanups(kind);

  it("answers pings with their t, and a ping with a bad t closes the session with PROTOCOL_ERROR", async () => {
    const tc = await startTunnelCloud({ database: t.database });
    t.cleanups.push(() => tc.stop());
    const { token } = await issueLicense(tc);
    const e = await enrollRaw(tc, token);
    const s = await rawSession(e);
    const pongs: unknown[] = [];
    s.ws.on("message", (d) => {
      const f = JSON.parse(d.toString()) as { type: string };
      if (f.type === "pong") pongs.push(f);
    });
    s.ws.send('{"type":"ping","t":123.5,"v":1}');
    s.ws.send('{"v":1,"type":"ping","t":7}');
    // an extra field is ignored by the schema: the full parser still answers it
    s.ws.send('{"type":"ping","t":8,"v":1,"note":"x"}');
    await new Promise((r) => setTimeout(r, 300));
    expect(pongs).toEqual([
      { type: "pong", t: 123.5, v: 1 },
      { type: "pong", t: 7, v: 1 },
      { type: "pong", t: 8, v: 1 },
    ]);
    s.ws.send('{"type":"ping","t":"soon","v":1}');
    expect((await s.closed).code).toBe(CloseCode.PROTOCOL_ERROR);
  });
});
