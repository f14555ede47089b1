// Admin CLI (`npm run admin -- <command>`): creates organisations and API keys directly in the database, for the
// first key of a new organisation or when every admin key is lost. Uses the same configuration as the server.
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config.ts";
import { DataDirLockedError, migrateDatabase, openDatabase } from "./db/client.ts";
import { getOrganisation, listApiKeys, listOrganisations } from "./db/queries/organisations.ts";
import { systemClock } from "./lib/clock.ts";
import { type Role, roles } from "./lib/context.ts";
import { CloudEvents } from "./lib/events.ts";
import { createLogger } from "./server.ts";
import { createApiKey, createOrganisation, revokeApiKey } from "./services/organisations.ts";

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

const usage = `Usage: npm run admin -- <command> [options]

Commands:
  create-org  --name <name> [--key-name <name>]       create an organisation and its first admin key
  list-orgs                                           list organisations
  create-key  --org <org id> --role <admin|operator|viewer> [--name <name>]
                                                      create an API key (the secret is printed once)
  list-keys   --org <org id>                          list an organisation's API keys (never secrets)
  revoke-key  --org <org id> --id <key id>            revoke an API key

Options:
  --json      machine-readable output on stdout
  -h, --help  this help

Configuration comes from the environment, as for the server (DATABASE_URL or DATA_DIR, ...).
With the embedded database (PGlite) stop the server first: one process at a time may open the data directory.
Exit codes: 0 success, 1 failure, 2 usage error.`;

class UsageError extends Error {}

interface Output {
  json: boolean;
  print(human: string, data: unknown): void;
}

function need(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`missing ${flag}`);
  return value;
}

const parse = (args: string[]) =>
  parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      "key-name": { type: "string" },
      org: { type: "string" },
      role: { type: "string" },
      id: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });

/** Runs one CLI command; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function runAdminCli(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}\n`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command) {
    (values.help ? process.stdout : process.stderr).write(`${usage}\n`);
    return values.help ? EXIT_OK : EXIT_USAGE;
  }
  const out: Output = {
    json: values.json === true,
    print(human, data) {
      process.stdout.write(this.json ? `${JSON.stringify(data, null, 2)}\n` : `${human}\n`);
    },
  };
  const known = ["create-org", "list-orgs", "create-key", "list-keys", "revoke-key"];
  if (!known.includes(command)) {
    process.stderr.write(`unknown command "${command}"\n\n${usage}\n`);
    return EXIT_USAGE;
  }

  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ ...env, LOG_LEVEL: env.LOG_LEVEL ?? "warn" });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT_FAILURE;
    }
    throw err;
  }

  let database: Awaited<ReturnType<typeof openDatabase>> | undefined;
  try {
    // Validate arguments before touching the database.
    const { name, org, role, id } = values;
    if (command === "create-org") need(name, "--name");
    if (command === "create-key" || command === "list-keys" || command === "revoke-key") need(org, "--org");
    if (command === "create-key" && !roles.includes(need(role, "--role") as Role)) {
      throw new UsageError(`--role must be one of ${roles.join(", ")}`);
    }
    if (command === "revoke-key") need(id, "--id");

    database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 2 });
    await migrateDatabase(database);
    const db = database.db;
    const at = systemClock.now();
    const actorFor = (orgId: string) => ({ orgId, keyId: "", role: "admin" as const, name: "cli" });
    const deps = {
      db,
      clock: systemClock,
      events: new CloudEvents(),
      keyEncryptionKey: Buffer.alloc(32), // key commands never touch signing keys
      logger: createLogger(config),
    };
    const keyJson = (k: {
      id: string;
      name: string;
      prefix: string;
      role: string;
      createdAt: Date;
      lastUsedAt: Date | null;
      revokedAt: Date | null;
    }) => ({
      id: k.id,
      name: k.name,
      prefix: k.prefix,
      role: k.role,
      createdAt: k.createdAt.toISOString(),
      lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
      revokedAt: k.revokedAt?.toISOString() ?? null,
    });

    switch (command) {
      case "create-org": {
        const created = await createOrganisation(db, {
          name: name!,
          adminKeyName: values["key-name"] ?? "first admin key",
          actorName: "cli",
          at,
        });
        out.print(
          `Created organisation ${created.organisation.id} ("${created.organisation.name}").\nAdmin API key (shown once, store it now):\n\n    ${created.secret}\n`,
          {
            organisation: { id: created.organisation.id, name: created.organisation.name },
            apiKey: { ...keyJson(created.apiKey), secret: created.secret },
          },
        );
        break;
      }
      case "list-orgs": {
        const orgs = await listOrganisations(db);
        out.print(
          orgs.map((o) => `${o.id}  ${o.name}`).join("\n") || "(no organisations)",
          orgs.map((o) => ({ id: o.id, name: o.name, createdAt: o.createdAt.toISOString() })),
        );
        break;
      }
      case "create-key": {
        if (!(await getOrganisation(db, org!))) throw new Error(`no organisation ${org}`);
        const { row, secret } = await createApiKey({
          ctx: { deps, actor: actorFor(org!) },
          input: { name: name ?? `${role} key`, role: role as Role },
        });
        out.print(`Created ${row.role} key ${row.id} (${row.prefix}). Shown once, store it now:\n\n    ${secret}\n`, {
          ...keyJson(row),
          secret,
        });
        break;
      }
      case "list-keys": {
        if (!(await getOrganisation(db, org!))) throw new Error(`no organisation ${org}`);
        const keys = await listApiKeys(db, { orgId: org!, limit: 10_000 });
        out.print(
          keys
            .map((k) => `${k.id}  ${k.prefix}…  ${k.role.padEnd(8)}  ${k.revokedAt ? "revoked" : "active "}  ${k.name}`)
            .join("\n") || "(no keys)",
          keys.map(keyJson),
        );
        break;
      }
      case "revoke-key": {
        const row = await revokeApiKey({ ctx: { deps, actor: actorFor(org!) }, input: { id: id! } });
        out.print(`Revoked ${row.id} (${row.prefix}).`, keyJson(row));
        break;
      }
    }
    return EXIT_OK;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${usage}\n`);
      return EXIT_USAGE;
    }
    const message = err instanceof DataDirLockedError ? err.message : `error: ${(err as Error).message}`;
    if (out.json) process.stdout.write(`${JSON.stringify({ error: message })}\n`);
    process.stderr.write(`${message}\n`);
    return EXIT_FAILURE;
  } finally {
    await database?.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("admin-cli.ts")) {
  process.exitCode = await runAdminCli(process.argv.slice(2), process.env);
}
