// support-bundle: what the vendor needs to help, redacted (tokens, passwords and keys never appear).
import {
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
import { dirname, join } from "node:path";
import type { Ctx } from "./context.ts";
import { CliError } from "./context.ts";
import { run } from "./exec.ts";
import { helm } from "./helm.ts";
import { Kube } from "./kube.ts";
import { Redactor } from "./redact.ts";
import { collectStatus } from "./status.ts";

export interface SupportOptions {
  output?: string;
  logLines: number;
}

function readSecretFiles(dir: string, redactor: Redactor) {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isFile() && statSync(p).size < 1_000_000) redactor.addSecret(readFileSync(p, "utf8"));
  }
}

export async function supportBundle(ctx: Ctx, o: SupportOptions): Promise<string> {
  const p = ctx.paths;
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const out = o.output ?? join(p.stateDir, "support", `support-bundle-${stamp}.tar.gz`);
  const stage = mkdtempSync(join(ctx.env.TMPDIR ?? tmpdir(), "runner-support-"));
  const root = join(stage, `support-bundle-${stamp}`);
  const redactor = new Redactor();
  const notes: string[] = [];
  const put = (rel: string, text: string) => {
    const f = join(root, rel);
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, redactor.redact(text));
  };
  const step = async (what: string, fn: () => Promise<void>) => {
    ctx.io.err(`  collecting ${what}\n`);
    try {
      await fn();
    } catch (e) {
      notes.push(`${what}: ${(e as Error).message}`);
    }
  };
  try {
    // Every secret we know of, first: the redactor replaces them wherever they turn up.
    readSecretFiles(p.secretsDir, redactor);
    for (const f of [
      join(p.k3sData, "server", "token"),
      join(p.k3sData, "server", "agent-token"),
      join(p.root, "/etc/rancher/node/password"),
    ]) {
      if (existsSync(f)) redactor.addSecret(readFileSync(f, "utf8"));
    }
    redactor.addSecret(ctx.env.RUNNER_BACKUP_PASSPHRASE);
    let kube: Kube | undefined;
    try {
      kube = new Kube(ctx);
      const secrets = await kube.core.listNamespacedSecret({ namespace: kube.namespace });
      for (const s of secrets.items) {
        for (const v of Object.values(s.data ?? {})) redactor.addSecret(Buffer.from(v, "base64").toString("utf8"));
        for (const v of Object.values(s.stringData ?? {})) redactor.addSecret(v);
      }
      put(
        "cluster/secrets.txt",
        secrets.items
          .map((s) => `${s.metadata?.name} (${s.type ?? "Opaque"}): keys ${Object.keys(s.data ?? {}).join(", ")}`)
          .join("\n"),
      );
    } catch (e) {
      notes.push(`cluster: ${(e as Error).message}`);
      kube = undefined;
    }

    await step("status", async () => put("status.json", JSON.stringify(await collectStatus(ctx), null, 2)));
    await step("host facts", async () => {
      for (const [src, dest] of [
        ["/etc/os-release", "host/os-release"],
        ["/proc/meminfo", "host/meminfo"],
        ["/proc/cpuinfo", "host/cpuinfo"],
      ] as const) {
        if (existsSync(join(p.root, src))) put(dest, readFileSync(join(p.root, src), "utf8"));
      }
      if (existsSync(p.runnerConf)) put("host/runner.conf", readFileSync(p.runnerConf, "utf8"));
      if (existsSync(join(p.k3sEtc, "config.yaml")))
        put("host/k3s-config.yaml", readFileSync(join(p.k3sEtc, "config.yaml"), "utf8"));
      if (existsSync(join(p.confDir, "values-local.yaml")))
        put("host/values-local.yaml", readFileSync(join(p.confDir, "values-local.yaml"), "utf8"));
    });
    await step("K3s service log", async () => {
      const j = await run("journalctl", ["-u", ctx.settings.service, "-n", "5000", "--no-pager"], {
        env: ctx.env,
        timeoutMs: 30_000,
      });
      if (j.code === 0) put("host/k3s.log", j.stdout);
      else {
        const f = join(p.root, `/var/log/${ctx.settings.service}.log`);
        if (existsSync(f)) put("host/k3s.log", readFileSync(f, "utf8").split("\n").slice(-5000).join("\n"));
      }
    });
    await step("release", async () => {
      const values = await helm(ctx, ["get", "values", ctx.settings.release, "--all", "--output", "json"], 60_000);
      if (values.code === 0) put("release/values.json", values.stdout);
      const hist = await helm(ctx, ["history", ctx.settings.release, "--output", "json"], 60_000);
      if (hist.code === 0) put("release/history.json", hist.stdout);
    });
    if (kube) {
      const k = kube;
      await step("cluster objects", async () => {
        put("cluster/nodes.json", JSON.stringify((await k.core.listNode()).items, null, 2));
        put("cluster/pods.json", JSON.stringify(await k.pods(), null, 2));
        put("cluster/deployments.json", JSON.stringify(await k.deployments(), null, 2));
        put("cluster/statefulsets.json", JSON.stringify(await k.statefulSets(), null, 2));
        put(
          "cluster/events.json",
          JSON.stringify((await k.core.listNamespacedEvent({ namespace: k.namespace })).items, null, 2),
        );
        put(
          "cluster/pvcs.json",
          JSON.stringify((await k.core.listNamespacedPersistentVolumeClaim({ namespace: k.namespace })).items, null, 2),
        );
      });
      await step("logs", async () => {
        for (const pod of await k.pods()) {
          for (const c of pod.spec?.containers ?? []) {
            try {
              put(
                `logs/${pod.metadata?.name}_${c.name}.log`,
                await k.podLog(pod.metadata?.name ?? "", c.name, o.logLines),
              );
            } catch (e) {
              notes.push(`log of ${pod.metadata?.name}/${c.name}: ${(e as Error).message}`);
            }
          }
        }
      });
    }
    put(
      "README.txt",
      `Camel Runner support bundle, ${new Date().toISOString()}.\nSecrets were redacted before anything was written.\n${notes.length ? `\nNot collected:\n${notes.map((n) => `- ${n}`).join("\n")}\n` : ""}`,
    );
    mkdirSync(dirname(out), { recursive: true });
    const t = await run("tar", ["-czf", out, "-C", stage, `support-bundle-${stamp}`], { env: ctx.env });
    if (t.code !== 0) throw new CliError(`packing the support bundle failed: ${t.stderr.trim()}`);
    return out;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
