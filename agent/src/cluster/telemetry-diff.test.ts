import { expect, it } from "vitest";
import { applyMergePatch, diffSnapshot, type Json, TelemetryDiffer } from "./telemetry-diff.ts";

it("sends a full snapshot first, then only changes, then nothing when idle", () => {
  const d = new TelemetryDiffer(100);
  const a = { nodes: [{ name: "n1", ready: true }], release: { revision: 3, status: "deployed" }, x: 1 };
  expect(d.next(a)).toEqual({ kind: "full", data: a });
  expect(d.next(a)).toBeNull();
  const b = { nodes: [{ name: "n1", ready: true }], release: { revision: 4, status: "deployed" } };
  expect(d.next(b)).toEqual({ kind: "patch", data: { release: { revision: 4 }, x: null } });
});

it("a patch applied to the previous snapshot gives the next one", () => {
  const prev = { a: { b: 1, c: [1, 2] }, d: "x", e: { f: { g: 1 } } };
  const next = { a: { b: 2, c: [1, 2, 3] }, e: { f: {} }, h: true };
  const patch = diffSnapshot(prev, next)!;
  expect(applyMergePatch(prev as Json, patch)).toEqual(next);
});

it("starts over with a full snapshot after reset or every N ticks", () => {
  const d = new TelemetryDiffer(2);
  d.next({ a: 1 });
  d.next({ a: 2 });
  d.next({ a: 3 });
  expect(d.next({ a: 4 })?.kind).toBe("full");
  d.reset();
  expect(d.next({ a: 4 })?.kind).toBe("full");
});
