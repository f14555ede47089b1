// Group commit: concurrent items share one write, same-key items never share one, a failed batch is retried item by
// item so one bad item fails alone.
import { describe, expect, it } from "vitest";
import { GroupCommit } from "./group-commit.ts";

describe("GroupCommit", () => {
  it("writes concurrent items in one batch and answers each with its own outcome", async () => {
    const calls: number[][] = [];
    const g = new GroupCommit<number, number>(
      async (items) => {
        calls.push(items);
        return items.map((i) => i * 10);
      },
      { windowMs: 5, maxItems: 100 },
    );
    expect(await Promise.all([g.add(1), g.add(2), g.add(3)])).toEqual([10, 20, 30]);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  it("writes at once when maxItems are waiting, and the rest in the next batch", async () => {
    const calls: number[][] = [];
    const g = new GroupCommit<number, number>(
      async (items) => {
        calls.push(items);
        return items;
      },
      { windowMs: 60_000, maxItems: 2 },
    );
    const out = await Promise.all([g.add(1), g.add(2), g.add(3), g.add(4)]);
    expect(out).toEqual([1, 2, 3, 4]);
    expect(calls).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("never puts two items with the same key in one batch", async () => {
    const calls: string[][] = [];
    const g = new GroupCommit<string, string>(
      async (items) => {
        calls.push(items);
        return items;
      },
      { windowMs: 1, maxItems: 100, keyOf: (s) => s.split(":")[0]! },
    );
    await Promise.all([g.add("a:1"), g.add("b:1"), g.add("a:2")]);
    expect(calls).toEqual([["a:1", "b:1"], ["a:2"]]);
  });

  it("a failing batch is retried item by item: only the bad item fails", async () => {
    const g = new GroupCommit<number, number>(
      async (items) => {
        if (items.includes(13)) throw new Error("bad item");
        return items;
      },
      { windowMs: 1, maxItems: 100 },
    );
    const out = await Promise.allSettled([g.add(1), g.add(13), g.add(2)]);
    expect(out.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(g.stats.retriedAlone).toBe(3);
  });
});
