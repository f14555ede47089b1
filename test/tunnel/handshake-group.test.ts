// Group-committed handshakes: concurrent upgrades share their lookups, jti inserts and hello updates, and still
// refuse a token used twice at once and give two sessions of one appliance distinct epochs (the older one fenced).
import { describe, expect, it } from "vitest";
import { signAgentToken } from "../../shared/src/protocol/agent-token.ts";
import { CloseCode } from "../../shared/src/protocol/frames.ts";
import { testDbKinds } from "../support/db.ts";
import { useDatabaseAndCleanups } from "../support/per-test.ts";
import { enrollRaw, issueLicense, rawSession, startTunnelCloud, tryUpgrade } from "./harness.ts";

describe.each(testDbKinds)("group-committed handshakes ($name)", (kind) => {
  const t = useDatabaseAndCleanups(kind);

  it("one token used by two upgrades at once opens exactly one session", async () => {
    // a long window so both upgrades land in the same batch
    const tc = await startTunnelCloud({ database: t.database, gateway: { handshakeGroupMs: 50 } });
    t.cleanups.push(() => tc.stop());
    const { token } = await issueLicense(tc);
    const e = await enrollRaw(tc, token);
    const jwt = await signAgentToken({
      applianceId: e.applianceId,
      audience: e.audience,
      privateKey: e.key.privateKey,
    });
    const outcomes = await Promise.all([tryUpgrade(e.tunnelUrl, jwt), tryUpgrade(e.tunnelUrl, jwt)]);
    expect(outcomes.filter((o) => o.open)).toHaveLength(1);
    const refused = outcomes.find((o) => !o.open);
    expect(refused).toMatchObject({ open: false, status: 401, reason: "replayed" });
    for (const o of outcomes) if (o.open) o.ws.close();
  });

  it("many appliances connecting at once are all welcomed with their own epochs; a second session fences the first", async () => {
    const tc = await startTunnelCloud({ database: t.database, gateway: { handshakeGroupMs: 20 } });
    t.cleanups.push(() => tc.stop());
    const { token } = await issueLicense(tc, { maxHubs: 6 });
    const enrolled = await Promise.all(Array.from({ length: 6 }, () => enrollRaw(tc, token)));
    const sessions = await Promise.all(enrolled.map((e) => rawSession(e)));
    expect(sessions.every((s) => s.welcome.type === "welcome" && s.welcome.epoch === 1)).toBe(true);
    // the same appliance twice at once: both hellos cannot share a statement, so each takes its own epoch
    const [a, b] = await Promise.all([rawSession(enrolled[0]!), rawSession(enrolled[0]!)]);
    expect(new Set([a!.welcome.epoch, b!.welcome.epoch])).toEqual(new Set([2, 3]));
    const older = a!.welcome.epoch === 2 ? a! : b!;
    expect((await older.closed).code).toBe(CloseCode.SUPERSEDED);
    expect((await sessions[0]!.closed).code).toBe(CloseCode.SUPERSEDED);
    for (const s of [...sessions.slice(1), a!, b!]) s.ws.close();
  });
});
