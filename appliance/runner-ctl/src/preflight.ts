// preflight: the health checks an administrator (or a script) runs before an update or when in doubt.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Ctx } from "./context.ts";
import { run } from "./exec.ts";
import { collectStatus } from "./status.ts";

export interface Check {
  name: string;
  result: "pass" | "warn" | "fail";
  detail: string;
}

export async function preflightChecks(ctx: Ctx): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, result: Check["result"], detail: string) => checks.push({ name, result, detail });
  const r = ctx.paths.root;
  const cg2 = join(r, "/sys/fs/cgroup/cgroup.controllers");
  const memCg = existsSync(cg2)
    ? /\bmemory\b/.test(readFileSync(cg2, "utf8"))
    : existsSync(join(r, "/proc/cgroups")) &&
      /^memory\s+\S+\s+\S+\s+1/m.test(readFileSync(join(r, "/proc/cgroups"), "utf8"));
  add(
    "memory cgroup",
    memCg ? "pass" : "fail",
    memCg ? "enabled" : "not enabled: add 'cgroup_enable=memory cgroup_memory=1' to the kernel command line",
  );
  const t = await run("timedatectl", ["show", "-p", "NTPSynchronized", "--value"], { env: ctx.env, timeoutMs: 5000 });
  const synced = t.stdout.trim();
  add(
    "time",
    synced === "yes" ? "pass" : "warn",
    synced === "yes" ? "synchronised" : synced === "no" ? "the clock is not synchronised" : "could not tell",
  );
  const s = await collectStatus(ctx);
  if (s.disk) {
    const freeGib = s.disk.freeBytes / 1024 ** 3;
    add(
      "disk",
      freeGib < 5 || s.disk.usedPercent >= 90 ? "fail" : freeGib < 10 || s.disk.usedPercent >= 80 ? "warn" : "pass",
      `${freeGib.toFixed(1)} GiB free, ${s.disk.usedPercent}% used`,
    );
  }
  add(
    `service ${s.service.name}`,
    s.service.state === "active" ? "pass" : s.service.state === "unknown" ? "warn" : "fail",
    s.service.state,
  );
  if (s.nodes.length === 0) add("machines", "fail", "the cluster does not answer");
  for (const n of s.nodes)
    add(
      `machine ${n.name}`,
      n.ready && n.pressure.length === 0 ? "pass" : "fail",
      n.ready ? n.pressure.join(", ") || "ready" : "not ready",
    );
  add(
    "runner release",
    s.release?.status === "deployed" ? "pass" : "fail",
    s.release ? `${s.release.status}, revision ${s.release.revision}` : "not installed",
  );
  if (s.license) {
    const days = s.license.daysLeft ?? 0;
    add(
      "license",
      !s.license.valid ? "fail" : days < 30 ? "warn" : "pass",
      s.license.valid ? `${days} days left` : (s.license.error ?? "invalid"),
    );
  }
  if (s.certificates) {
    const d = s.certificates.daysLeft;
    add(
      "certificates",
      d < 7 ? "fail" : d < 30 ? "warn" : "pass",
      `${d} days left${d < 90 ? " (a K3s restart renews them)" : ""}`,
    );
  }
  for (const i of s.integrations) {
    add(
      `integration ${i.name}`,
      i.state === "running" || i.state === "stopped" ? "pass" : i.state === "starting" ? "warn" : "fail",
      `${i.state}, ${i.ready}/${i.desired} ready`,
    );
  }
  return checks;
}

export async function preflight(ctx: Ctx, json: boolean): Promise<number> {
  const checks = await preflightChecks(ctx);
  const failed = checks.filter((c) => c.result === "fail").length;
  if (json) ctx.io.out(`${JSON.stringify({ ok: failed === 0, checks })}\n`);
  else {
    for (const c of checks) ctx.io.out(`  [${c.result === "fail" ? "FAIL" : c.result}] ${c.name}: ${c.detail}\n`);
    const warned = checks.filter((c) => c.result === "warn").length;
    ctx.io.out(`Preflight: ${checks.length - failed - warned} passed, ${warned} warnings, ${failed} failed.\n`);
  }
  return failed ? 1 : 0;
}
