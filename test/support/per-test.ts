// The set-up most tunnel suites share: one database of the kind per describe block, and cleanups (clouds stopped,
// sockets closed) that each test registers and that run, newest first, after it.
import { afterAll, afterEach, beforeAll } from "vitest";
import type { TestDatabase, TestDbKind } from "./db.ts";

export interface PerTest {
  /** opened before the block's first test */
  readonly database: TestDatabase;
  /** run after each test, newest first; a failing cleanup does not hide the others */
  readonly cleanups: Array<() => Promise<void>>;
}

export function useDatabaseAndCleanups(kind: TestDbKind): PerTest {
  let database: TestDatabase | undefined;
  const cleanups: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    database = await kind.open();
  });
  afterAll(() => database?.close());
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    cleanups.length = 0;
  });
  return {
    get database() {
      if (!database) throw new Error("the test database is opened in beforeAll");
      return database;
    },
    cleanups,
  };
}
