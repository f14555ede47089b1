// The sweep refreshes a held appliance's last-seen only once it is older than presenceRefreshMs (one row update per
// refresh per agent instead of one per sweep; measured by bench S1), and still keeps it fresh.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgliteKind, type TestDatabase } from "../../../test/support/db.ts";
import {
  enrollRaw,
  eventually,
  issueLicense,
  rawSession,
  startTunnelCloud,
  type TunnelCloud,
} from "../../../test/tunnel/harness.ts";
import { appliances } from "../db/schema/index.ts";

describe("gateway presence refresh", () => {
  let database: TestDatabase;
  let tc: TunnelCloud;
  beforeAll(async () => {
    database = await pgliteKind.open();
    tc = await startTunnelCloud({ database, gateway: { sweepMs: 50, presenceRefreshMs: 1_000 } });
  });
  afterAll(async () => {
    await tc?.stop();
    await database?.close();
  });

  it("skips fresh rows on each sweep and rewrites stale ones", { timeout: 20_000 }, async () => {
    const { token } = await issueLicense(tc);
    const enrolled = await enrollRaw(tc, token);
    const { ws } = await rawSession(enrolled);
    const ping = setInterval(() => ws.send(JSON.stringify({ type: "ping", v: 1, t: Date.now() })), 100);
    try {
      const seen = async () =>
        (await database.db.select().from(appliances).where(eq(appliances.id, enrolled.applianceId)))[0]!.lastSeenAt!;
      const first = await seen();
      const sweepsBefore = performance.now();
      // several sweeps (every 50 ms) pass without touching the row
      await new Promise((r) => setTimeout(r, 400));
      const elapsed = performance.now() - sweepsBefore;
      if (elapsed < 900) expect((await seen()).getTime()).toBe(first.getTime());
      // once older than presenceRefreshMs, a sweep refreshes it
      const refreshed = await eventually(
        async () => {
          const t = await seen();
          return t.getTime() > first.getTime() ? t : undefined;
        },
        10_000,
        "last seen refreshed",
      );
      expect(refreshed!.getTime() - first.getTime()).toBeGreaterThanOrEqual(1_000);
      const [row] = await database.db.select().from(appliances).where(eq(appliances.id, enrolled.applianceId));
      expect(row!.online).toBe(true);
    } finally {
      clearInterval(ping);
      ws.close();
    }
  });
});
