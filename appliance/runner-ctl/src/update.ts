// update --bundle <file>: verify, back up, upgrade, check health, roll back by itself on failure.
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { backup, serviceCtl, waitWorkloadsReady } from "./backup.ts";
import { extractAndVerifyBundle, sha256File } from "./bundle.ts";
import type { Ctx } from "./context.ts";
import { CliError } from "./context.ts";
import { releaseStatus, releaseValues, rollback, upgradeInstall } from "./helm.ts";
import { Kube } from "./kube.ts";

export interface UpdateOptions {
  bundle: string;
  passphraseFile?: string;
  skipBackup: boolean;
  timeout: string;
  json: boolean;
}

interface Swap {
  dest: string;
  prev: string;
  existed: boolean;
}

async function swapFile(src: string, dest: string, mode: number): Promise<Swap | undefined> {
  if (existsSync(dest) && (await sha256File(src)) === (await sha256File(dest))) return undefined;
  const prev = `${dest}.prev`;
  const existed = existsSync(dest);
  if (existed) copyFileSync(dest, prev);
  mkdirSync(join(dest, ".."), { recursive: true });
  copyFileSync(src, `${dest}.new`);
  chmodSync(`${dest}.new`, mode);
  renameSync(`${dest}.new`, dest);
  return { dest, prev, existed };
}

function undoSwaps(swaps: Swap[]) {
  for (const s of swaps.reverse()) {
    if (!s.existed) rmSync(s.dest, { force: true });
    else if (existsSync(s.prev)) renameSync(s.prev, s.dest);
  }
}

function setConf(ctx: Ctx, key: string, value: string) {
  const f = ctx.paths.runnerConf;
  if (!existsSync(f)) return;
  const lines = readFileSync(f, "utf8")
    .split("\n")
    .filter((l) => !l.startsWith(`${key}=`) && l !== "");
  lines.push(`${key}=${value}`);
  writeFileSync(f, `${lines.join("\n")}\n`, { mode: 0o600 });
}

export async function update(ctx: Ctx, o: UpdateOptions): Promise<number> {
  const say = (s: string) => ctx.io.err(`${s}\n`);
  say("[1/5] verifying the bundle");
  const b = await extractAndVerifyBundle(ctx, o.bundle);
  try {
    const before = await releaseStatus(ctx);
    if (!before) throw new CliError("the runner is not installed here; use install.sh for a first installation");
    if (before.status !== "deployed") {
      throw new CliError(
        `the runner release is '${before.status}'; fix that first (runner-ctl support-bundle helps your vendor)`,
      );
    }
    say(`      bundle ${b.version}; installed: ${ctx.settings.bundleVersion} (release revision ${before.revision})`);

    let backupFile: string | undefined;
    if (o.skipBackup) say("[2/5] backup skipped (--no-backup)");
    else {
      say("[2/5] backing up first");
      backupFile = (await backup(ctx, { passphraseFile: o.passphraseFile, stopWorkloads: false })).file;
    }

    say("[3/5] upgrading");
    const p = ctx.paths;
    const swaps: Swap[] = [];
    let k3sChanged = false;
    const k3s = await swapFile(join(b.dir, "bin", "k3s"), join(p.binDir, "k3s"), 0o755);
    if (k3s) {
      swaps.push(k3s);
      k3sChanged = true;
    }
    for (const [src, dest, mode] of [
      [join(b.dir, "bin", "helm"), join(p.binDir, "helm"), 0o755],
      [join(b.dir, "runner-ctl.mjs"), join(p.libDir, "runner-ctl.mjs"), 0o644],
      [join(b.dir, "jwks.json"), join(p.libDir, "jwks.json"), 0o644],
    ] as const) {
      if (!existsSync(src) || (dest.endsWith("helm") && ctx.env.RUNNER_HELM)) continue;
      const s = await swapFile(src, dest, mode);
      if (s) swaps.push(s);
    }
    // new images: K3s imports tarballs from agent/images at start (and while running, since v1.32)
    const images = join(b.dir, "images");
    if (existsSync(images)) {
      for (const f of readdirSync(images)) {
        const s = await swapFile(join(images, f), join(p.k3sData, "agent", "images", f), 0o644);
        if (s) {
          swaps.push(s);
          k3sChanged = true;
        }
      }
    }
    const chartDir = ctx.settings.chartDir;
    const prevChart = `${chartDir}.prev`;
    rmSync(prevChart, { recursive: true, force: true });
    if (existsSync(chartDir)) cpSync(chartDir, prevChart, { recursive: true });
    rmSync(chartDir, { recursive: true, force: true });
    cpSync(join(b.dir, "charts", "runner"), chartDir, { recursive: true });
    if (k3sChanged) {
      say("      new K3s version: restarting K3s");
      await serviceCtl(ctx, "restart");
    }

    const current = join(b.dir, "current-values.json");
    writeFileSync(current, JSON.stringify(await releaseValues(ctx)), { mode: 0o600 });
    const valuesFiles = [current];
    if (existsSync(join(chartDir, "values-appliance.yaml"))) valuesFiles.push(join(chartDir, "values-appliance.yaml"));
    if (existsSync(join(p.confDir, "values-local.yaml"))) valuesFiles.push(join(p.confDir, "values-local.yaml"));
    const res = await upgradeInstall(ctx, { chartDir, valuesFiles, timeout: o.timeout });

    say("[4/5] checking health");
    let failure = res.code === 0 ? "" : res.stderr.trim().split("\n").slice(-3).join(" ");
    if (!failure) {
      const notReady = await waitWorkloadsReady(new Kube(ctx), 60_000);
      if (notReady.length) failure = `not ready: ${notReady.join(", ")}`;
    }
    if (!failure) {
      setConf(ctx, "BUNDLE_VERSION", b.version);
      for (const s of swaps) rmSync(s.prev, { force: true });
      rmSync(prevChart, { recursive: true, force: true });
      const after = await releaseStatus(ctx);
      say("[5/5] done");
      const result = {
        updated: true,
        from: ctx.settings.bundleVersion,
        to: b.version,
        revision: after?.revision,
        backup: backupFile,
      };
      ctx.io.out(
        o.json ? `${JSON.stringify(result)}\n` : `Updated to ${b.version} (release revision ${after?.revision}).\n`,
      );
      return 0;
    }

    say(`[5/5] the update failed (${failure}); rolling back to revision ${before.revision}`);
    const rb = await rollback(ctx, before.revision, o.timeout);
    undoSwaps(swaps);
    rmSync(chartDir, { recursive: true, force: true });
    if (existsSync(prevChart)) renameSync(prevChart, chartDir);
    if (k3sChanged) await serviceCtl(ctx, "restart");
    const after = await releaseStatus(ctx);
    const result = {
      updated: false,
      rolledBack: rb.code === 0,
      reason: failure,
      revision: after?.revision,
      status: after?.status,
      backup: backupFile,
    };
    if (o.json) ctx.io.out(`${JSON.stringify(result)}\n`);
    if (rb.code !== 0) {
      throw new CliError(
        `the update failed (${failure}) and the rollback failed too (${rb.stderr.trim()}). Restore the backup with: runner-ctl restore ${backupFile ?? "<backup>"}`,
      );
    }
    ctx.io.err(
      `Rolled back: the appliance runs the previous version again (release revision ${after?.revision}). Nothing was lost.\n`,
    );
    return 1;
  } finally {
    rmSync(b.dir, { recursive: true, force: true });
  }
}
