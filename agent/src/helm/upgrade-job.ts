// Self-upgrade out of band: when the release contains the agent's own pod, helm must not run inside the pod it
// replaces (fleet#637). The agent hands the verified chart and values to a one-shot Job running the same image,
// which takes the Lease and runs the executor; the result comes back in a ConfigMap the agent (old or new) reads.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import type { KubeBatch, KubeCore } from "../cluster/kube.ts";
import type { ApplyResult, DesiredState } from "../cluster-port.ts";
import { sha256Hex } from "./chart-source.ts";
import type { HelmExecutor } from "./executor.ts";
import { statusOf } from "./helm-lease.ts";

export const UPGRADE_MOUNT = "/upgrade";
export const jobNameFor = (release: string, generation: number) => `${release}-upgrade-g${generation}`.slice(0, 63);
export const resultNameFor = (release: string, generation: number) =>
  `${release}-upgrade-result-g${generation}`.slice(0, 63);

export interface UpgradeJobDeps {
  core: KubeCore;
  batch: KubeBatch;
  namespace: string;
  release: string;
  /** the agent's own pod: image, service account and environment of the Job are copied from it */
  podName: string;
  timeoutSeconds: number;
  pollMs?: number;
}

/** The Job spec: same image, service account, env and security context as the agent; one attempt only. */
export function upgradeJobSpec(pod: V1Pod, d: UpgradeJobDeps, generation: number): V1Job {
  const agent = pod.spec?.containers?.find((c) => c.name === "agent") ?? pod.spec?.containers?.[0];
  if (!agent?.image) throw new Error("cannot find the agent container in its own pod");
  const name = jobNameFor(d.release, generation);
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: d.namespace,
      labels: {
        "app.kubernetes.io/part-of": "camel-ops",
        "app.kubernetes.io/component": "upgrader",
        "camel-ops.io/generation": String(generation),
      },
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: d.timeoutSeconds + 120,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: { "app.kubernetes.io/part-of": "camel-ops", "app.kubernetes.io/component": "upgrader" } },
        spec: {
          restartPolicy: "Never",
          serviceAccountName: pod.spec?.serviceAccountName,
          automountServiceAccountToken: true,
          securityContext: pod.spec?.securityContext,
          imagePullSecrets: pod.spec?.imagePullSecrets,
          terminationGracePeriodSeconds: 120,
          containers: [
            {
              name: "upgrader",
              image: agent.image,
              imagePullPolicy: agent.imagePullPolicy,
              command: ["node", "--max-old-space-size=96", "/app/agent.mjs"],
              args: ["upgrade-job", UPGRADE_MOUNT],
              env: [
                ...(agent.env ?? []).filter((e) => e.name !== "CAMEL_OPS_POD_NAME"),
                { name: "CAMEL_OPS_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              ],
              securityContext: agent.securityContext,
              resources: agent.resources,
              volumeMounts: [
                { name: "tmp", mountPath: "/tmp" },
                { name: "upgrade", mountPath: UPGRADE_MOUNT, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
            { name: "upgrade", secret: { secretName: name } },
          ],
        },
      },
    },
  };
}

/**
 * Starts (or finds, after an agent restart) the upgrade Job of a generation and waits for its result. The chart
 * archive was verified by the caller; the Job verifies it again against the digest before helm sees it.
 */
export async function applyThroughJob(
  d: UpgradeJobDeps,
  desired: DesiredState,
  chartBytes: Uint8Array,
  signal: AbortSignal,
): Promise<ApplyResult> {
  const name = jobNameFor(d.release, desired.generation);
  const existing = await d.batch.readNamespacedJob({ name, namespace: d.namespace }).catch((e: unknown) => {
    if (statusOf(e) === 404) return undefined;
    throw e;
  });
  if (!existing) {
    const pod = await d.core.readNamespacedPod({ name: d.podName, namespace: d.namespace });
    const job = upgradeJobSpec(pod, d, desired.generation);
    const handoff = {
      ...desired,
      release: desired.release && { ...desired.release, chartUrl: `file://${UPGRADE_MOUNT}/chart.tgz` },
    };
    await d.core
      .createNamespacedSecret({
        namespace: d.namespace,
        body: {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name, namespace: d.namespace, labels: job.metadata?.labels },
          type: "Opaque",
          data: {
            "chart.tgz": Buffer.from(chartBytes).toString("base64"),
            "desired.json": Buffer.from(JSON.stringify(handoff)).toString("base64"),
          },
        },
      })
      .catch((e: unknown) => {
        if (statusOf(e) !== 409) throw e;
      });
    await d.batch.createNamespacedJob({ namespace: d.namespace, body: job }).catch((e: unknown) => {
      if (statusOf(e) !== 409) throw e;
    });
  }
  const deadline = Date.now() + (d.timeoutSeconds + 180) * 1000;
  for (;;) {
    signal.throwIfAborted();
    const result = await readResult(d, desired.generation);
    if (result) return result;
    const job = await d.batch.readNamespacedJob({ name, namespace: d.namespace }).catch(() => undefined);
    const failed = job?.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
    if (failed || Date.now() > deadline) {
      return {
        generation: desired.generation,
        outcome: "failed",
        message:
          `the upgrade Job ${name} ${failed ? `failed: ${failed.reason ?? ""} ${failed.message ?? ""}` : "gave no result in time"}`.trim(),
      };
    }
    await new Promise((r) => setTimeout(r, d.pollMs ?? 2000));
  }
}

async function readResult(d: UpgradeJobDeps, generation: number): Promise<ApplyResult | undefined> {
  const cm = await d.core
    .readNamespacedConfigMap({ name: resultNameFor(d.release, generation), namespace: d.namespace })
    .catch(() => undefined);
  const raw = cm?.data?.["result.json"];
  return raw ? (JSON.parse(raw) as ApplyResult) : undefined;
}

/** The Job's side: read the hand-off, run the executor (Lease, recovery, upgrade, health, rollback), store the result. */
export async function runUpgradeJob(opts: {
  dir: string;
  executor: HelmExecutor;
  core: KubeCore;
  namespace: string;
  release: string;
  signal: AbortSignal;
}): Promise<ApplyResult> {
  const handed = JSON.parse(await readFile(join(opts.dir, "desired.json"), "utf8")) as DesiredState;
  // the chart is read from wherever the hand-off is mounted
  const desired: DesiredState = {
    ...handed,
    release: handed.release && { ...handed.release, chartUrl: pathToFileURL(join(opts.dir, "chart.tgz")).href },
  };
  if (desired.release) {
    // verify before anything else (the executor verifies again when it reads the file)
    const bytes = await readFile(join(opts.dir, "chart.tgz"));
    if (sha256Hex(bytes) !== desired.release.chartDigest.replace(/^sha256:/, "").toLowerCase()) {
      throw new Error("the handed-off chart does not match its digest");
    }
  }
  const result = await opts.executor.apply(desired, () => {}, opts.signal);
  await opts.core.createNamespacedConfigMap({
    namespace: opts.namespace,
    body: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: resultNameFor(opts.release, desired.generation),
        namespace: opts.namespace,
        labels: { "app.kubernetes.io/part-of": "camel-ops" },
      },
      data: { "result.json": JSON.stringify(result) },
    },
  });
  return result;
}

/** A scratch copy of the hand-off directory for tests and local runs. */
export async function writeHandoff(dir: string, secretData: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [k, v] of Object.entries(secretData)) await writeFile(join(dir, k), Buffer.from(v, "base64"));
}
