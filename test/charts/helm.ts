// Runs the real helm binaries (Helm 4 and Helm 3, pinned in .tools/) with a private, temporary home, and parses
// their output with the yaml package.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";

const run = promisify(execFile);
export const repoRoot = resolve(import.meta.dirname, "../..");
export const HELMS = {
  "helm4 (4.1.4)": join(repoRoot, ".tools/helm4/helm"),
  "helm3 (3.17.3)": join(repoRoot, ".tools/helm3/helm"),
} as const;
export type HelmName = keyof typeof HELMS;
export const chartDir = (name: "runner" | "cloud") => join(repoRoot, "charts", name);

let home: string | undefined;
/** A private HOME / HELM_*_HOME for this test process (removed by cleanupHelmHome). */
export function helmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  home ??= mkdtempSync(join(tmpdir(), "helm-home-"));
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    HELM_CACHE_HOME: join(home, "cache"),
    HELM_CONFIG_HOME: join(home, "config"),
    HELM_DATA_HOME: join(home, "data"),
    ...extra,
  };
}
export function cleanupHelmHome(): void {
  if (home) rmSync(home, { recursive: true, force: true });
  home = undefined;
}

export interface HelmRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function helm(bin: string, args: string[], env: Record<string, string> = {}): Promise<HelmRun> {
  try {
    const r = await run(bin, args, { env: helmEnv(env), maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === "number" ? err.code : 1,
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? String(e),
    };
  }
}

export type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are free-form; tests read nested fields
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  data?: any;
};

export function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`invalid YAML from helm: ${doc.errors[0]?.message}`);
    const v = doc.toJS() as Manifest | null;
    if (v && typeof v === "object") out.push(v);
  }
  return out;
}

/** helm template; throws with helm's stderr when rendering fails. */
export async function template(
  helmName: HelmName,
  chart: "runner" | "cloud",
  args: string[] = [],
  release = "rel",
  namespace = "camel",
): Promise<Manifest[]> {
  const r = await helm(HELMS[helmName], ["template", release, chartDir(chart), "--namespace", namespace, ...args]);
  if (r.code !== 0) throw new Error(`helm template failed (${helmName}): ${r.stderr}`);
  return parseManifests(r.stdout);
}

export const byKind = (ms: Manifest[], kind: string) => ms.filter((m) => m.kind === kind);
export const find = (ms: Manifest[], kind: string, name: string) =>
  ms.find((m) => m.kind === kind && m.metadata.name === name);
