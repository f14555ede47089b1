// Recovery of a release left `pending-*` by a killed helm (SIGKILL, OOM, node loss): Helm's only lock is that
// status, and no CLI flag clears it. Runs only while we hold the helm Lease, so a pending status is stale.
import { gunzipSync, gzipSync } from "node:zlib";
import type { KubeCore } from "../cluster/kube.ts";
import {
  type HelmEnv,
  HelmError,
  type HelmRevision,
  helmHistory,
  rollbackArgs,
  runHelm,
  uninstallArgs,
} from "./helm-cli.ts";

export interface RecoveryReport {
  /** what was found and done; null when the release was not pending */
  action: null | "rolled-back" | "uninstalled" | "marked-failed";
  fromStatus?: string;
  fromRevision?: number;
  toRevision?: number;
  detail?: string;
}

export interface RecoveryDeps {
  helm: HelmEnv;
  core: KubeCore;
  release: string;
  namespace: string;
  timeoutSeconds: number;
  historyMax: number;
  serverSide: boolean;
  signal: AbortSignal;
  onSpawn?: (pid: number) => void;
  onExit?: (pid: number) => void;
}

const PENDING = /^pending-(install|upgrade|rollback)$/;

export function lastGoodRevision(history: HelmRevision[], below: number): HelmRevision | undefined {
  return [...history]
    .reverse()
    .find((h) => h.revision < below && (h.status === "deployed" || h.status === "superseded"));
}

export async function recoverPending(d: RecoveryDeps): Promise<RecoveryReport> {
  const history = await helmHistory(d.helm, d.release, d.namespace);
  const latest = history.at(-1);
  if (!latest || !PENDING.test(latest.status)) return { action: null };
  const good = lastGoodRevision(history, latest.revision);

  if (!good) {
    // A first install that never finished: nothing to go back to, so remove it and let the upgrade install.
    const args = uninstallArgs(d.helm.major, d.release, d.namespace, d.timeoutSeconds);
    const r = await runHelm(d.helm, args, { signal: d.signal, onSpawn: d.onSpawn, onExit: d.onExit });
    if (r.code !== 0) throw new HelmError(args, r);
    return { action: "uninstalled", fromStatus: latest.status, fromRevision: latest.revision };
  }

  // Flux's unlock: mark the stranded revision failed in Helm's own storage, then roll back to the last good one
  // so the cluster runs a known revision before anything new is tried.
  await markRevisionFailed(d.core, d.namespace, d.release, latest.revision, "stranded by an interrupted helm process");
  const args = rollbackArgs(d.helm.major, {
    release: d.release,
    namespace: d.namespace,
    revision: good.revision,
    timeoutSeconds: d.timeoutSeconds,
    historyMax: d.historyMax,
    serverSide: d.serverSide,
    wait: true,
  });
  const r = await runHelm(d.helm, args, { signal: d.signal, onSpawn: d.onSpawn, onExit: d.onExit });
  if (r.code !== 0) {
    return {
      action: "marked-failed",
      fromStatus: latest.status,
      fromRevision: latest.revision,
      detail: `rollback to ${good.revision} failed: ${r.stderr.trim()}`,
    };
  }
  return { action: "rolled-back", fromStatus: latest.status, fromRevision: latest.revision, toRevision: good.revision };
}

export const releaseSecretName = (release: string, revision: number) => `sh.helm.release.v1.${release}.v${revision}`;

/** Helm stores a release as base64(gzip(JSON)) in the Secret's `release` key (itself base64 in the API). */
export function decodeRelease(data: string): Record<string, unknown> {
  const raw = Buffer.from(Buffer.from(data, "base64").toString("utf8"), "base64");
  const json = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw).toString("utf8") : raw.toString("utf8");
  return JSON.parse(json) as Record<string, unknown>;
}

export function encodeRelease(rel: Record<string, unknown>): string {
  const gz = gzipSync(Buffer.from(JSON.stringify(rel)));
  return Buffer.from(gz.toString("base64")).toString("base64");
}

export async function markRevisionFailed(
  core: KubeCore,
  namespace: string,
  release: string,
  revision: number,
  description: string,
): Promise<void> {
  const name = releaseSecretName(release, revision);
  const secret = await core.readNamespacedSecret({ name, namespace });
  const data = secret.data?.release;
  if (!data) throw new Error(`release secret ${name} has no release data`);
  const rel = decodeRelease(data);
  const info = (rel.info ?? {}) as Record<string, unknown>;
  info.status = "failed";
  info.description = description;
  rel.info = info;
  await core.replaceNamespacedSecret({
    name,
    namespace,
    body: {
      ...secret,
      metadata: { ...secret.metadata, labels: { ...secret.metadata?.labels, status: "failed" } },
      data: { ...secret.data, release: encodeRelease(rel) },
    },
  });
}
