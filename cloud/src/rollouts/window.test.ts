import { describe, expect, it } from "vitest";
import { checkWindow, validateWindow } from "./window.ts";

describe("checkWindow", () => {
  // Saturdays 02:00 in Berlin for two hours (01:00Z in winter)
  const w = { cron: "0 2 * * 6", timeZone: "Europe/Berlin", durationMinutes: 120 };

  it("is open from the start for the duration, in the customer's time zone", () => {
    expect(checkWindow(w, new Date("2026-11-28T01:00:00Z")).open).toBe(true);
    expect(checkWindow(w, new Date("2026-11-28T02:59:00Z")).open).toBe(true);
  });

  it("is closed outside and names the next opening", () => {
    const before = checkWindow(w, new Date("2026-11-28T00:59:00Z"));
    expect(before.open).toBe(false);
    expect(before.nextOpensAt?.toISOString()).toBe("2026-11-28T01:00:00.000Z");
    const after = checkWindow(w, new Date("2026-11-28T03:01:00Z"));
    expect(after.open).toBe(false);
    expect(after.nextOpensAt?.toISOString()).toBe("2026-12-05T01:00:00.000Z");
  });

  it("is always open without a window, and closed for an unreadable one", () => {
    expect(checkWindow(null, new Date()).open).toBe(true);
    expect(checkWindow({ cron: "nonsense", timeZone: "UTC", durationMinutes: 60 }, new Date()).open).toBe(false);
    expect(() => validateWindow({ cron: "nonsense", timeZone: "UTC", durationMinutes: 60 })).toThrow();
    expect(() => validateWindow({ cron: "0 2 * * 6", timeZone: "Mars/Olympus", durationMinutes: 60 })).toThrow();
  });
});
