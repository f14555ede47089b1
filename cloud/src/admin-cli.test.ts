// The admin CLI in-process against a PGlite directory: help and usage errors (exit 2), creating an organisation and
// keys with --json, listing and revoking, and a clear failure (exit 1) for an unknown organisation.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runAdminCli } from "./admin-cli.ts";

let dir: string;
let env: Record<string, string>;

async function run(...args: string[]) {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await runAdminCli(args, env);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "camelops-cli-"));
  env = { DATA_DIR: dir, LOG_LEVEL: "silent" };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("admin CLI", () => {
  it("prints help (exit 0) and refuses bad usage (exit 2) without opening the database", async () => {
    const help = await run("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("create-org");
    expect((await run()).code).toBe(2);
    expect((await run("frobnicate")).code).toBe(2);
    const missing = await run("create-key", "--org", "org_x");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--role");
    expect((await run("create-key", "--org", "org_x", "--role", "root")).code).toBe(2);
    expect((await run("create-org", "--bogus")).code).toBe(2);
  });

  it("creates an organisation and keys, lists and revokes them (--json)", async () => {
    const org = await run("create-org", "--name", "Vendor Two", "--json");
    expect(org.code).toBe(0);
    const created = JSON.parse(org.stdout);
    expect(created.organisation.name).toBe("Vendor Two");
    expect(created.apiKey.secret).toMatch(/^cok_/);
    expect(created.apiKey.role).toBe("admin");
    const orgId = created.organisation.id;

    const key = JSON.parse(
      (await run("create-key", "--org", orgId, "--role", "viewer", "--name", "grafana", "--json")).stdout,
    );
    expect(key).toMatchObject({ role: "viewer", name: "grafana" });
    expect(key.secret).toMatch(/^cok_/);

    const listed = JSON.parse((await run("list-keys", "--org", orgId, "--json")).stdout);
    expect(listed.map((k: { id: string }) => k.id).sort()).toEqual([created.apiKey.id, key.id].sort());
    expect(JSON.stringify(listed)).not.toContain(key.secret);

    const human = await run("list-orgs");
    expect(human.stdout).toContain("Vendor Two");

    const revoked = await run("revoke-key", "--org", orgId, "--id", key.id, "--json");
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout).revokedAt).not.toBeNull();
    const lastAdmin = await run("revoke-key", "--org", orgId, "--id", created.apiKey.id);
    expect(lastAdmin.code).toBe(1);
    expect(lastAdmin.stderr).toContain("last admin key");
  }, 240_000);

  it("fails with exit 1 for an unknown organisation", async () => {
    const res = await run("create-key", "--org", "org_nope", "--role", "viewer");
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("no organisation org_nope");
  }, 120_000);
});
