// main.ts as a real child process: bad configuration exits 1 naming each field; on an empty database the first start
// prints the URL and the admin key once, SIGTERM stops it cleanly; two processes migrating one empty Postgres at the
// same moment both come up (TEST_DATABASE_URL).
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { freshPostgresUrl, realPostgresUrl } from "../../test/support/db.ts";

const root = resolve(import.meta.dirname, "../..");
const tsx = join(root, "node_modules/.bin/tsx");

interface Child {
  proc: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
}

function startMain(env: Record<string, string>): Child {
  const proc = spawn(tsx, ["cloud/src/main.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  proc.stderr!.on("data", (d) => {
    err += d;
  });
  proc.stdout!.resume();
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  return { proc, stderr: () => err, exited };
}

async function urlOf(child: Child, timeoutMs = 150_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = /listening on (http:\/\/\S+)/.exec(child.stderr());
    if (m) return m[1]!;
    if (child.proc.exitCode !== null) throw new Error(`exited ${child.proc.exitCode}: ${child.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready in time: ${child.stderr()}`);
}

const keyIn = (text: string) => /\b(cok_[0-9A-Za-z]{8}_[0-9A-Za-z]{32})\b/.exec(text)?.[1];

describe("main.ts", () => {
  it("exits 1 and names every bad field", async () => {
    const child = startMain({ PORT: "not-a-port", DATABASE_URL: "mysql://nope", LOG_LEVEL: "loud" });
    expect(await child.exited).toBe(1);
    const err = child.stderr();
    expect(err).toMatch(/PORT:/);
    expect(err).toMatch(/DATABASE_URL:/);
    expect(err).toMatch(/LOG_LEVEL:/);
  });

  it("first start prints the URL and an admin key once; SIGTERM exits 0; a restart prints no key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "camelops-main-"));
    try {
      const first = startMain({ DATA_DIR: dir });
      const url = await urlOf(first);
      const key = keyIn(first.stderr());
      expect(key).toBeDefined();
      const me = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
      expect(me.status).toBe(200);
      first.proc.kill("SIGTERM");
      expect(await first.exited).toBe(0);

      const second = startMain({ DATA_DIR: dir, LOG_LEVEL: "info" });
      const url2 = await urlOf(second);
      expect(keyIn(second.stderr())).toBeUndefined();
      expect((await fetch(`${url2}/v1/me`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
      second.proc.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it.skipIf(!realPostgresUrl)(
    "two processes migrating the same empty Postgres at the same moment both come up",
    async () => {
      const { url, drop } = await freshPostgresUrl();
      const env = { DATABASE_URL: url, KEY_ENCRYPTION_KEY: randomBytes(32).toString("base64"), DB_POOL_SIZE: "2" };
      const a = startMain(env);
      const b = startMain(env);
      try {
        const [urlA, urlB] = await Promise.all([urlOf(a), urlOf(b)]);
        for (const u of [urlA, urlB]) expect((await fetch(`${u}/readyz`)).status).toBe(200);
        // exactly one of them bootstrapped the first organisation
        const keys = [keyIn(a.stderr()), keyIn(b.stderr())].filter(Boolean);
        expect(keys).toHaveLength(1);
        for (const u of [urlA, urlB]) {
          expect((await fetch(`${u}/v1/me`, { headers: { authorization: `Bearer ${keys[0]}` } })).status).toBe(200);
        }
      } finally {
        a.proc.kill("SIGTERM");
        b.proc.kill("SIGTERM");
        expect(await a.exited).toBe(0);
        expect(await b.exited).toBe(0);
        await drop();
      }
    },
    180_000,
  );
});
