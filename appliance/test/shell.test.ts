// Runs the installer's shell checks from the project's single test command: shellcheck over
// install.sh and the bats suite (install.sh in a throwaway root with stubbed system commands).
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");

function has(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

const inCi = process.env.CI === "true";
const hasBats = has("bats");
const hasShellcheck = has("shellcheck");
if (!inCi && (!hasBats || !hasShellcheck)) {
  console.warn(
    "appliance shell tests skipped: install 'bats' and 'shellcheck' (apt-get install -y bats shellcheck); CI runs them",
  );
}

describe("appliance/install.sh", () => {
  it.skipIf(!inCi && !hasShellcheck)("install.sh and make-bundle.sh pass shellcheck (POSIX sh)", () => {
    const res = spawnSync("shellcheck", ["--shell=sh", "appliance/install.sh", "appliance/make-bundle.sh"], {
      cwd: repo,
      encoding: "utf8",
    });
    expect(res.stdout + res.stderr).toBe("");
    expect(res.status).toBe(0);
  });

  it.skipIf(!inCi && !hasBats)(
    "passes the bats suite (appliance/test/*.bats)",
    () => {
      const res = spawnSync("bats", ["--jobs", "1", "appliance/test"], { cwd: repo, encoding: "utf8" });
      if (res.status !== 0) console.error(res.stdout, res.stderr);
      expect(res.error).toBeUndefined();
      expect(res.status).toBe(0);
    },
    600_000,
  );
});
