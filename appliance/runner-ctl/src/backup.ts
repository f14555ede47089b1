// backup / restore: one encrypted archive with everything needed to bring the appliance back.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { readEncryptedArchive, writeEncryptedArchive } from "./archive.ts";
import { listFiles, sha256File } from "./bundle.ts";
import type { Ctx } from "./context.ts";
import { CliError, UsageError } from "./context.ts";
import { run } from "./exec.ts";
import { releaseStatus, releaseValues, upgradeInstall } from "./helm.ts";
import { INTEGRATION_LABEL, Kube } from "./kube.ts";

export const BACKUP_FORMAT = 1;

export interface Manifest {
  format: number;
  product: "camel-runner";
  createdAt: string;
  bundleVersion: string;
  nodeName: string;
  role: string;
  release: { name: string; namespace: string; chart: string; revision: number } | null;
  integrations: string[];
  volumes: Array<{ namespace: string; pvc: string; dir: string; files: number; bytes: number }>;
  consistency: "live" | "stopped";
  files: Record<string, string>;
}

export function passphrase(ctx: Ctx, file?: string): string {
  const p = file ? readFileSync(file, "utf8").replace(/\r?\n$/, "") : ctx.env.RUNNER_BACKUP_PASSPHRASE;
  if (!p) {
    throw new UsageError(
      "a passphrase is needed: --passphrase-file <file> or RUNNER_BACKUP_PASSPHRASE. Keep it safe: without it the backup cannot be restored",
    );
  }
  if (p.length < 12) throw new UsageError("the passphrase must have at least 12 characters");
  return p;
}

/** local-path volume directories: pvc-<uid>_<namespace>_<claim>. */
export function localVolumes(storageDir: string): Array<{ dir: string; namespace: string; pvc: string }> {
  if (!existsSync(storageDir)) return [];
  const out: Array<{ dir: string; namespace: string; pvc: string }> = [];
  for (const e of readdirSync(storageDir, { withFileTypes: true })) {
    const m = /^(pvc-[^_]+)_([^_]+)_([^_]+)$/.exec(e.name);
    if (e.isDirectory() && m?.[2] && m[3]) out.push({ dir: e.name, namespace: m[2], pvc: m[3] });
  }
  return out.sort((a, b) => a.dir.localeCompare(b.dir));
}

function dirStats(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const f of listFiles(dir)) {
    files++;
    bytes += statSync(join(dir, f)).size;
  }
  return { files, bytes };
}

function copyIfExists(src: string, dest: string): boolean {
  if (!existsSync(src)) return false;
  mkdirSync(join(dest, ".."), { recursive: true });
  cpSync(src, dest, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  return true;
}

function progress(ctx: Ctx, step: number, total: number, text: string) {
  ctx.io.err(`[${step}/${total}] ${text}\n`);
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export interface BackupOptions {
  output?: string;
  passphraseFile?: string;
  stopWorkloads: boolean;
}

export async function backup(ctx: Ctx, o: BackupOptions): Promise<{ file: string; manifest: Manifest }> {
  const pass = passphrase(ctx, o.passphraseFile);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const out = o.output ?? join(ctx.paths.backupsDir, `runner-backup-${stamp}.crb`);
  mkdirSync(join(out, ".."), { recursive: true, mode: 0o700 });
  const stage = mkdtempSync(join(ctx.env.TMPDIR ?? tmpdir(), "runner-backup-"));
  const total = 7;
  try {
    const p = ctx.paths;
    progress(ctx, 1, total, "settings, license and tokens");
    copyIfExists(p.confDir, join(stage, "config", "camel-runner"));
    copyIfExists(join(p.k3sEtc, "config.yaml"), join(stage, "config", "rancher-k3s", "config.yaml"));
    copyIfExists(join(p.k3sEtc, "config.yaml.d"), join(stage, "config", "rancher-k3s", "config.yaml.d"));
    copyIfExists(join(p.k3sEtc, "registries.yaml"), join(stage, "config", "rancher-k3s", "registries.yaml"));
    copyIfExists(join(p.k3sData, "server", "token"), join(stage, "k3s", "server-token"));

    progress(ctx, 2, total, "node identity");
    copyIfExists(join(p.root, "/etc/rancher/node/password"), join(stage, "k3s", "node-password"));

    progress(ctx, 3, total, "cluster datastore");
    const db = join(p.k3sData, "server", "db");
    if (existsSync(join(db, "state.db"))) {
      mkdirSync(join(stage, "k3s", "db"), { recursive: true });
      const r = await run("sqlite3", [join(db, "state.db"), `.backup '${join(stage, "k3s", "db", "state.db")}'`], {
        env: ctx.env,
        timeoutMs: 10 * 60_000,
      });
      if (r.code !== 0) copyIfExists(db, join(stage, "k3s", "db"));
    } else {
      copyIfExists(db, join(stage, "k3s", "db"));
    }

    progress(ctx, 4, total, "release settings (Helm values)");
    const rel = await releaseStatus(ctx);
    let integrations: string[] = [];
    if (rel) {
      mkdirSync(join(stage, "helm"), { recursive: true });
      writeFileSync(join(stage, "helm", "values.json"), JSON.stringify(await releaseValues(ctx), null, 2));
      writeFileSync(join(stage, "helm", "release.json"), JSON.stringify(rel, null, 2));
    }

    progress(ctx, 5, total, "integrations");
    const kube = new Kube(ctx);
    const cms = await kube.core.listNamespacedConfigMap({
      namespace: kube.namespace,
      labelSelector: INTEGRATION_LABEL,
    });
    const deps = await kube.deployments(INTEGRATION_LABEL);
    integrations = [...new Set(deps.map((d) => d.metadata?.labels?.[INTEGRATION_LABEL] ?? ""))].filter(Boolean).sort();
    mkdirSync(join(stage, "kube"), { recursive: true });
    writeFileSync(
      join(stage, "kube", "integrations.json"),
      JSON.stringify(
        { configMaps: cms.items.map((c) => ({ name: c.metadata?.name, labels: c.metadata?.labels, data: c.data })) },
        null,
        2,
      ),
    );
    const pvcs = await kube.core.listNamespacedPersistentVolumeClaim({ namespace: kube.namespace });
    writeFileSync(
      join(stage, "kube", "pvcs.json"),
      JSON.stringify(
        pvcs.items.map((c) => ({ name: c.metadata?.name, spec: c.spec })),
        null,
        2,
      ),
    );

    progress(ctx, 6, total, "volumes");
    const stopped = o.stopWorkloads ? await scaleDown(ctx, kube) : [];
    const volumes: Manifest["volumes"] = [];
    try {
      for (const v of localVolumes(p.storageDir)) {
        const src = join(p.storageDir, v.dir);
        const st = dirStats(src);
        ctx.io.err(`      ${v.namespace}/${v.pvc}: ${st.files} files, ${mib(st.bytes)}\n`);
        cpSync(src, join(stage, "volumes", v.namespace, v.pvc), {
          recursive: true,
          preserveTimestamps: true,
          verbatimSymlinks: true,
        });
        volumes.push({ ...v, ...st });
      }
    } finally {
      await scaleUp(kube, stopped);
    }

    progress(ctx, 7, total, "manifest and encryption");
    const files: Record<string, string> = {};
    for (const f of listFiles(stage)) files[f] = await sha256File(join(stage, f));
    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      product: "camel-runner",
      createdAt: new Date().toISOString(),
      bundleVersion: ctx.settings.bundleVersion,
      nodeName: ctx.settings.nodeName,
      role: ctx.settings.role,
      release: rel
        ? { name: rel.name, namespace: ctx.settings.namespace, chart: rel.chart, revision: rel.revision }
        : null,
      integrations,
      volumes,
      consistency: o.stopWorkloads ? "stopped" : "live",
      files,
    };
    writeFileSync(join(stage, "manifest.json"), JSON.stringify(manifest, null, 2));
    await writeEncryptedArchive(stage, out, pass, ctx.env);
    ctx.io.err(
      `Backup written: ${out} (${mib(statSync(out).size)}, ${volumes.length} volumes, ${integrations.length} integrations)\n`,
    );
    return { file: out, manifest };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

async function scaleDown(
  ctx: Ctx,
  kube: Kube,
): Promise<Array<{ kind: "Deployment" | "StatefulSet"; name: string; replicas: number }>> {
  const stopped: Array<{ kind: "Deployment" | "StatefulSet"; name: string; replicas: number }> = [];
  for (const d of await kube.deployments()) {
    const n = d.spec?.replicas ?? 1;
    const hasPvc = (d.spec?.template.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim);
    if (n > 0 && hasPvc && d.metadata?.name) {
      await kube.scale("Deployment", d.metadata.name, 0);
      stopped.push({ kind: "Deployment", name: d.metadata.name, replicas: n });
    }
  }
  for (const s of await kube.statefulSets()) {
    const n = s.spec?.replicas ?? 1;
    if (n > 0 && s.metadata?.name) {
      await kube.scale("StatefulSet", s.metadata.name, 0);
      stopped.push({ kind: "StatefulSet", name: s.metadata.name, replicas: n });
    }
  }
  // wait until their pods are gone
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const pods = await kube.pods();
    const names = new Set(stopped.map((s) => s.name));
    const left = pods.filter((p) =>
      (p.metadata?.ownerReferences ?? []).some(
        (r) => names.has(r.name) || [...names].some((n) => r.name.startsWith(`${n}-`)),
      ),
    );
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (stopped.length) ctx.io.err(`      stopped ${stopped.length} workloads while copying volumes\n`);
  return stopped;
}

async function scaleUp(
  kube: Kube,
  stopped: Array<{ kind: "Deployment" | "StatefulSet"; name: string; replicas: number }>,
) {
  for (const s of stopped) await kube.scale(s.kind, s.name, s.replicas);
}

export async function waitWorkloadsReady(kube: Kube, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const notReady: string[] = [];
    for (const d of [...(await kube.deployments()), ...(await kube.statefulSets())]) {
      const want = d.spec?.replicas ?? 1;
      if ((d.status?.readyReplicas ?? 0) < want) notReady.push(d.metadata?.name ?? "?");
    }
    if (notReady.length === 0 || Date.now() > deadline) return notReady;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface RestoreOptions {
  archive: string;
  passphraseFile?: string;
  full: boolean;
  yes: boolean;
  timeout: string;
  interactive: boolean;
}

export async function restore(ctx: Ctx, o: RestoreOptions): Promise<number> {
  const pass = passphrase(ctx, o.passphraseFile);
  if (!existsSync(o.archive)) throw new CliError(`no backup at ${o.archive}`);
  const stage = mkdtempSync(join(ctx.env.TMPDIR ?? tmpdir(), "runner-restore-"));
  try {
    ctx.io.err("[1/6] decrypting and checking the backup\n");
    await readEncryptedArchive(o.archive, stage, pass, ctx.env);
    const manifest = JSON.parse(readFileSync(join(stage, "manifest.json"), "utf8")) as Manifest;
    if (manifest.format !== BACKUP_FORMAT || manifest.product !== "camel-runner") {
      throw new CliError("this is not a Camel Runner appliance backup of a known format");
    }
    for (const [f, sum] of Object.entries(manifest.files)) {
      if (!existsSync(join(stage, f)) || (await sha256File(join(stage, f))) !== sum) {
        throw new CliError(`the backup is damaged: ${f} does not match its checksum`);
      }
    }
    ctx.io.out(
      `Backup of ${manifest.createdAt} (bundle ${manifest.bundleVersion}): ${manifest.integrations.length} integrations (${manifest.integrations.join(", ") || "none"}), ${manifest.volumes.length} volumes.\n` +
        "Restoring replaces the settings, the runner release and the content of these volumes on this machine.\n",
    );
    if (!o.yes) {
      if (!o.interactive) throw new CliError("refusing to restore without confirmation; run with --yes");
      throw new CliError("confirmation needed: run again with --yes");
    }
    const p = ctx.paths;

    ctx.io.err("[2/6] settings and license\n");
    // Without --full this machine keeps its own cluster identity: its K3s settings (addresses) and
    // agent token stay; the appliance's settings, license and CA come from the backup.
    const conf = join(stage, "config", "camel-runner");
    const agentToken = join("secrets", "agent-token");
    if (existsSync(conf)) {
      cpSync(conf, p.confDir, {
        recursive: true,
        preserveTimestamps: true,
        filter: (src) => o.full || !src.endsWith(agentToken) || !existsSync(join(p.confDir, agentToken)),
      });
    }

    if (o.full) {
      const k3sConf = join(stage, "config", "rancher-k3s");
      if (existsSync(k3sConf)) cpSync(k3sConf, p.k3sEtc, { recursive: true, preserveTimestamps: true });
      ctx.io.err("      full restore: cluster datastore, server token and node identity (K3s is stopped meanwhile)\n");
      await serviceCtl(ctx, "stop");
      copyIfExists(join(stage, "k3s", "server-token"), join(p.k3sData, "server", "token"));
      copyIfExists(join(stage, "k3s", "node-password"), join(p.root, "/etc/rancher/node/password"));
      const db = join(stage, "k3s", "db");
      if (existsSync(db)) {
        rmSync(join(p.k3sData, "server", "db"), { recursive: true, force: true });
        copyIfExists(db, join(p.k3sData, "server", "db"));
      }
      await serviceCtl(ctx, "start");
    }

    ctx.io.err("[3/6] runner release and integrations\n");
    const valuesFile = join(stage, "helm", "values.json");
    if (existsSync(valuesFile)) {
      const res = await upgradeInstall(ctx, {
        chartDir: ctx.settings.chartDir,
        valuesFiles: [valuesFile],
        timeout: o.timeout,
      });
      if (res.code !== 0) throw new CliError(`reinstalling the runner failed: ${res.stderr.trim()}`);
    }

    ctx.io.err("[4/6] stopping workloads that use volumes\n");
    const kube = new Kube(ctx);
    const stopped = await scaleDown(ctx, kube);

    ctx.io.err("[5/6] volumes\n");
    try {
      for (const v of manifest.volumes) {
        const target = await volumeTarget(ctx, kube, v);
        rmSync(target, { recursive: true, force: true });
        cpSync(join(stage, "volumes", v.namespace, v.pvc), target, {
          recursive: true,
          preserveTimestamps: true,
          verbatimSymlinks: true,
        });
        ctx.io.err(`      ${v.namespace}/${v.pvc}: ${v.files} files, ${mib(v.bytes)} -> ${basename(target)}\n`);
      }
    } finally {
      await scaleUp(kube, stopped);
    }

    ctx.io.err("[6/6] waiting for the integrations\n");
    const notReady = await waitWorkloadsReady(kube, 5 * 60_000);
    if (notReady.length) {
      ctx.io.out(`Restored, but not ready yet: ${notReady.join(", ")}. Check with: runner-ctl status\n`);
      return 1;
    }
    ctx.io.out("Restore complete. Check with: runner-ctl status\n");
    return 0;
  } finally {
    rmSync(stage, { recursive: true, force: true });
    rmSync(`${stage}.tar.gz`, { force: true });
  }
}

/** Where a volume's data goes: the directory local-path uses for the claim as it exists now. */
async function volumeTarget(ctx: Ctx, kube: Kube, v: Manifest["volumes"][number]): Promise<string> {
  const existing = localVolumes(ctx.paths.storageDir).find((x) => x.namespace === v.namespace && x.pvc === v.pvc);
  if (existing) return join(ctx.paths.storageDir, existing.dir);
  try {
    const pvc = await kube.core.readNamespacedPersistentVolumeClaim({ name: v.pvc, namespace: v.namespace });
    if (pvc.metadata?.uid) return join(ctx.paths.storageDir, `pvc-${pvc.metadata.uid}_${v.namespace}_${v.pvc}`);
  } catch {
    // the claim is gone: keep the original directory name
  }
  return join(ctx.paths.storageDir, v.dir);
}

export async function serviceCtl(ctx: Ctx, action: "stop" | "start" | "restart"): Promise<void> {
  const { init, service } = ctx.settings;
  const r =
    init === "openrc"
      ? await run("rc-service", [service, action], { env: ctx.env, timeoutMs: 120_000 })
      : init === "systemd"
        ? await run("systemctl", [action, service], { env: ctx.env, timeoutMs: 120_000 })
        : { code: 0, stdout: "", stderr: "" };
  if (r.code !== 0) throw new CliError(`could not ${action} the ${service} service: ${r.stderr.trim()}`);
}
