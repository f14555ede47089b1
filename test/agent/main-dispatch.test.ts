// The agent binary's entry points: the agent itself, and `upgrade-job <dir>` for the one-shot self-upgrade Job.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ["--import", "tsx", "agent/src/main.ts", ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
  });

describe("agent entry points", () => {
  it("without configuration, the agent names the missing field and exits 1", () => {
    const r = run([]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid agent configuration[\s\S]*cloudUrl/);
  });

  it("upgrade-job without its directory is a usage error (exit 2)", () => {
    const r = run(["upgrade-job"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: agent upgrade-job <dir/);
  });

  it("upgrade-job goes to the upgrade job, which explains a missing cluster in one line (exit 1, no stack)", () => {
    const r = run(["upgrade-job", "/nonexistent"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^upgrade job failed: .*Kubernetes/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
