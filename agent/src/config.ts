// The agent process's own configuration (the tunnel side): one zod schema over the environment, parsed once in
// main. The chart's CAMEL_OPS_* names win; the short names (CLOUD_URL, LICENSE_TOKEN, ...) work outside a chart.
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { z } from "zod";

export const agentConfigSchema = z.object({
  cloudUrl: z.url().describe("CAMEL_OPS_CLOUD_URL or CLOUD_URL: the cloud's public URL"),
  licenseToken: z.string().min(20).optional(),
  namespace: z.string().min(1).default("default"),
  keySecret: z.string().min(1).optional().describe("Secret holding the agent key (in a cluster)"),
  stateDir: z.string().min(1).default("/tmp/camel-ops"),
  httpsProxy: z.string().optional(),
  httpProxy: z.string().optional(),
  noProxy: z.string().optional(),
  caFile: z.string().optional(),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  inCluster: z.boolean(),
});
export type AgentConfig = z.infer<typeof agentConfigSchema> & { ca?: string[] };

export class AgentConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`invalid agent configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.issues = issues;
  }
}

const pick = (env: Record<string, string | undefined>, ...names: string[]) => {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v !== "") return v;
  }
  return undefined;
};

/** Reads the environment (and LICENSE_TOKEN_FILE / CA_FILE); throws AgentConfigError naming every bad field. */
export function loadAgentConfig(env: Record<string, string | undefined>): AgentConfig {
  const issues: string[] = [];
  let licenseToken = pick(env, "CAMEL_OPS_LICENSE_TOKEN", "LICENSE_TOKEN");
  const tokenFile = pick(env, "CAMEL_OPS_LICENSE_TOKEN_FILE", "LICENSE_TOKEN_FILE");
  if (!licenseToken && tokenFile) {
    try {
      licenseToken = readFileSync(tokenFile, "utf8").trim();
    } catch (err) {
      issues.push(`LICENSE_TOKEN_FILE: cannot read ${tokenFile}: ${(err as Error).message}`);
    }
  }
  const parsed = agentConfigSchema.safeParse({
    cloudUrl: pick(env, "CAMEL_OPS_CLOUD_URL", "CLOUD_URL"),
    licenseToken,
    namespace: pick(env, "CAMEL_OPS_NAMESPACE", "AGENT_NAMESPACE"),
    keySecret: pick(env, "CAMEL_OPS_KEY_SECRET", "AGENT_KEY_SECRET"),
    stateDir: pick(env, "CAMEL_OPS_STATE_DIR", "STATE_DIR"),
    httpsProxy: pick(env, "HTTPS_PROXY", "https_proxy"),
    httpProxy: pick(env, "HTTP_PROXY", "http_proxy"),
    noProxy: pick(env, "NO_PROXY", "no_proxy"),
    caFile: pick(env, "CAMEL_OPS_CA_FILE", "CA_FILE"),
    logLevel: pick(env, "CAMEL_OPS_LOG_LEVEL", "LOG_LEVEL"),
    port: pick(env, "CAMEL_OPS_PORT"),
    inCluster: !!env.KUBERNETES_SERVICE_HOST,
  });
  if (!parsed.success) {
    for (const i of parsed.error.issues) issues.push(`${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  if (issues.length > 0 || !parsed.success) throw new AgentConfigError(issues);
  const config: AgentConfig = parsed.data;
  if (config.caFile) {
    try {
      // A custom bundle is added to the public roots (enterprise proxies re-sign TLS); NODE_EXTRA_CA_CERTS
      // keeps working as Node applies it to the defaults.
      config.ca = [...rootCertificates, readFileSync(config.caFile, "utf8")];
    } catch (err) {
      throw new AgentConfigError([`CA_FILE: cannot read ${config.caFile}: ${(err as Error).message}`]);
    }
  }
  return config;
}

/** The proxy for the cloud URL's scheme (HTTPS_PROXY for https, HTTP_PROXY for http). */
export function proxyFor(config: AgentConfig): string | undefined {
  return new URL(config.cloudUrl).protocol === "https:" ? config.httpsProxy : config.httpProxy;
}
