// The cloud's configuration: one zod schema, parsed once in main from the environment.
import { z } from "zod";

const roles = ["api", "gateway", "scheduler"] as const;

const baseSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  PUBLIC_URL: z.url().optional().describe("URL agents and browsers use to reach this cloud"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must start with postgres:// or postgresql://")
    .optional()
    .describe("Postgres connection string; when unset the embedded PGlite database is used"),
  DATA_DIR: z.string().default("./.data").describe("PGlite data directory and generated secrets (embedded mode)"),
  KEY_ENCRYPTION_KEY: z
    .string()
    .regex(/^[A-Za-z0-9+/=_-]{43,88}$/, "must be 32 random bytes, base64 or base64url encoded")
    .optional()
    .describe("Encrypts signing keys at rest; generated into DATA_DIR in embedded mode"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  ROLES: z
    .string()
    .default("api,gateway,scheduler")
    .transform((s) => s.split(",").map((r) => r.trim()))
    .pipe(z.array(z.enum(roles)).min(1)),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(1_048_576),
  DB_POOL_SIZE: z.coerce.number().int().positive().default(10),
  AUTH_FAILURE_LIMIT: z.coerce
    .number()
    .int()
    .positive()
    .default(10)
    .describe("failed authentications per client IP or key prefix before answering 429"),
  AUTH_FAILURE_WINDOW_SECONDS: z.coerce.number().int().positive().default(300).describe("window of AUTH_FAILURE_LIMIT"),
  TRUST_PROXY: z
    .enum(["true", "false", "1", "0"])
    .default("false")
    .transform((v) => v === "true" || v === "1")
    .describe("take the client IP from X-Forwarded-For (only behind a trusted reverse proxy)"),
  BOOTSTRAP_ORG_NAME: z
    .string()
    .min(1)
    .max(200)
    .default("Default organisation")
    .describe("name of the organisation created on first start"),
});

export const configSchema = baseSchema.superRefine((c, ctx) => {
  if (c.DATABASE_URL && !c.KEY_ENCRYPTION_KEY) {
    ctx.addIssue({
      code: "custom",
      path: ["KEY_ENCRYPTION_KEY"],
      message: "required with DATABASE_URL (generate one with `openssl rand -base64 32`)",
    });
  }
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.issues = issues;
  }
}

/** Parses configuration from an environment-like record; throws ConfigError naming every bad field. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`));
  }
  return parsed.data;
}
