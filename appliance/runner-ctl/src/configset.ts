// config set proxy|ca: change a setting after installation and apply it (K3s environment, the
// agent's values), the same way install.sh writes it.
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { serviceCtl } from "./backup.ts";
import type { Ctx } from "./context.ts";
import { CliError, UsageError } from "./context.ts";
import { helm } from "./helm.ts";

export const CLUSTER_NO_PROXY = "127.0.0.1,localhost,::1,10.42.0.0/16,10.43.0.0/16,.svc,.cluster.local";
const REQUIRED_NO_PROXY = ["127.0.0.1", "localhost", "10.42.0.0/16", "10.43.0.0/16", ".svc", ".cluster.local"];

function readConf(ctx: Ctx): string[] {
  if (!existsSync(ctx.paths.runnerConf))
    throw new CliError(`${ctx.paths.runnerConf} not found: is the appliance installed?`);
  return readFileSync(ctx.paths.runnerConf, "utf8")
    .split("\n")
    .filter((l) => l !== "");
}

function writeConf(ctx: Ctx, lines: string[], changes: Record<string, string>) {
  const keep = lines.filter((l) => !Object.keys(changes).some((k) => l.startsWith(`${k}=`)));
  for (const [k, v] of Object.entries(changes)) keep.push(`${k}=${v}`);
  writeFileSync(ctx.paths.runnerConf, `${keep.join("\n")}\n`, { mode: 0o600 });
}

function proxyEnv(proxy: string, noProxy: string): string {
  if (!proxy) return "";
  return [
    `HTTP_PROXY=${proxy}`,
    `HTTPS_PROXY=${proxy}`,
    `NO_PROXY=${noProxy}`,
    `CONTAINERD_HTTP_PROXY=${proxy}`,
    `CONTAINERD_HTTPS_PROXY=${proxy}`,
    `CONTAINERD_NO_PROXY=${noProxy}`,
    "",
  ].join("\n");
}

async function reapplyRelease(ctx: Ctx, setArgs: string[], timeout: string) {
  if (ctx.settings.role !== "hub") return;
  const res = await helm(ctx, [
    "upgrade",
    ctx.settings.release,
    ctx.settings.chartDir,
    "--reuse-values",
    ...setArgs,
    "--wait",
    "--timeout",
    timeout,
    "--history-max",
    "10",
  ]);
  if (res.code !== 0) throw new CliError(`applying the setting to the runner failed: ${res.stderr.trim()}`);
}

export async function configSetProxy(
  ctx: Ctx,
  url: string,
  noProxyOpt: string | undefined,
  timeout: string,
): Promise<number> {
  const lines = readConf(ctx);
  const proxy = url === "none" ? "" : url;
  if (proxy && !/^https?:\/\/[^\s]+$/.test(proxy))
    throw new UsageError(`not a proxy URL: ${proxy} (expected http://host:port)`);
  const hubIp = ctx.settings.role === "worker" ? (lines.find((l) => l.startsWith("HUB_IP="))?.slice(7) ?? "") : "";
  const noProxy = proxy ? (noProxyOpt ?? `${CLUSTER_NO_PROXY}${hubIp ? `,${hubIp}` : ""}`) : "";
  if (proxy) {
    const have = noProxy.split(",").map((s) => s.trim());
    const missing = [...REQUIRED_NO_PROXY, ...(hubIp ? [hubIp] : [])].filter((n) => !have.includes(n));
    if (missing.length)
      throw new UsageError(`--no-proxy must contain ${missing.join(" ")} (start from: ${CLUSTER_NO_PROXY})`);
  }
  writeConf(ctx, lines, { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, NO_PROXY: noProxy });
  const envFile = join(ctx.paths.confDir, "k3s.env");
  const next = proxyEnv(proxy, noProxy);
  const prev = existsSync(envFile) ? readFileSync(envFile, "utf8") : "";
  if (next !== prev) {
    writeFileSync(envFile, next, { mode: 0o600 });
    ctx.io.err(`Restarting ${ctx.settings.service} with the new proxy settings\n`);
    await serviceCtl(ctx, "restart");
  }
  await reapplyRelease(
    ctx,
    [
      "--set-string",
      `agent.proxy.httpsProxy=${proxy},agent.proxy.httpProxy=${proxy}`,
      "--set-string",
      `agent.proxy.noProxy=${noProxy.replace(/,/g, "\\,")}`,
    ],
    timeout,
  );
  ctx.io.out(
    proxy ? `Proxy set to ${proxy.replace(/\/\/[^/@]*@/, "//***@")} and applied.\n` : "Proxy removed and applied.\n",
  );
  return 0;
}

export async function configSetCa(ctx: Ctx, file: string, timeout: string): Promise<number> {
  const lines = readConf(ctx);
  const dest = join(ctx.paths.confDir, "ca.pem");
  if (file === "none") {
    rmSync(dest, { force: true });
    writeConf(ctx, lines, { CA_FILE: "" });
    await reapplyRelease(ctx, ["--set-string", "agent.caBundle.pem="], timeout);
    ctx.io.out("Extra CA removed and applied.\n");
    return 0;
  }
  if (!existsSync(file)) throw new UsageError(`no file ${file}`);
  const pem = readFileSync(file, "utf8");
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new UsageError(`${file} is not a PEM certificate`);
  copyFileSync(file, dest);
  writeConf(ctx, lines, { CA_FILE: "/etc/camel-runner/ca.pem" });
  const sys = join(ctx.paths.root, "/usr/local/share/ca-certificates");
  if (existsSync(sys)) copyFileSync(file, join(sys, "camel-runner.crt"));
  await reapplyRelease(ctx, ["--set-file", `agent.caBundle.pem=${dest}`], timeout);
  ctx.io.out("CA certificate installed and applied.\n");
  return 0;
}
