// runner-ctl: the appliance's command line. It hides Kubernetes: every command speaks of the
// appliance, its integrations and its machines. Exit codes: 0 ok, 1 failure, 2 usage error.
import { parseArgs } from "node:util";
import { backup, restore } from "./backup.ts";
import { configSetCa, configSetProxy } from "./configset.ts";
import { CliError, type Ctx, type Io, makeCtx, UsageError } from "./context.ts";
import { run } from "./exec.ts";
import { licenseShow, licenseVerify } from "./license.ts";
import { logs } from "./logs.ts";
import { preflight } from "./preflight.ts";
import { collectStatus, renderStatus } from "./status.ts";
import { supportBundle } from "./support.ts";
import { update } from "./update.ts";

export const VERSION = "1.0.0";

const HELP: Record<string, string> = {
  main: `runner-ctl ${VERSION}: look after the Camel Runner appliance

Usage: runner-ctl <command> [options]

Commands:
  status            the appliance at a glance (machines, service, integrations, cloud link, license, disk)
  logs <name>       the log of an integration (-f to follow)
  backup            write one encrypted backup file of everything
  restore <file>    bring the appliance back from a backup file
  update            install a new bundle: verify, back up, upgrade, check, roll back on failure
  support-bundle    collect a redacted file for your vendor's support
  preflight         check that the appliance is healthy
  license show      the installed license
  license verify    check a license token offline
  config set proxy  change the outbound proxy (re-applied at once)
  config set ca     trust an extra CA certificate (re-applied at once)
  worker-token      a short-lived token for adding a worker machine (advanced)
  version           print the version

Run 'runner-ctl <command> --help' for a command's options.
Exit codes: 0 success, 1 failure, 2 usage error.
`,
  status: `Usage: runner-ctl status [--json]

Shows the machines, the K3s service, the runner release, each integration with its Camel exchange
and failure counts, the link to the vendor's cloud, license and certificate expiry, and disk space.
  --json   machine-readable output
Exit codes: 0 when the appliance is ok, 1 when it is degraded or down, 2 usage error.
`,
  logs: `Usage: runner-ctl logs <integration> [-f] [--tail N] [--all]

  -f, --follow   keep printing new lines until Ctrl-C
  --tail N       only the last N lines
  --all          every running copy of the integration (lines prefixed with the copy's name)
`,
  backup: `Usage: runner-ctl backup [--output FILE] [--passphrase-file FILE] [--stop-workloads] [--json]

Writes one encrypted file (AES-256-GCM, key from your passphrase) with the settings, the license,
the cluster tokens and node identity, a copy of the cluster datastore, the runner's settings,
the integrations and every volume, with a manifest of checksums.
  --output FILE            where to write (default /var/lib/camel-runner/backups/runner-backup-<time>.crb)
  --passphrase-file FILE   the passphrase (or set RUNNER_BACKUP_PASSPHRASE); at least 12 characters
  --stop-workloads         stop integrations that use volumes while copying them (consistent copy, short outage)
  --json                   print {file, manifest}
`,
  restore: `Usage: runner-ctl restore <file> [--passphrase-file FILE] [--yes] [--full] [--timeout 10m]

Restores settings, license, the runner release with its integrations and the volume contents.
  --yes                    do not ask (needed when not run from a terminal)
  --full                   also restore the cluster datastore, tokens and node identity (same machine only)
  --passphrase-file FILE   the backup's passphrase (or RUNNER_BACKUP_PASSPHRASE)
`,
  update: `Usage: runner-ctl update --bundle FILE [--passphrase-file FILE] [--no-backup] [--timeout 10m] [--json]

Verifies the bundle's signature and checksums, backs up, upgrades, checks health and rolls back
by itself when the new version does not become healthy.
`,
  "support-bundle": `Usage: runner-ctl support-bundle [--output FILE] [--log-lines N]

Collects status, host facts, the K3s log, the runner's settings, cluster objects and integration
logs into one tar.gz. Tokens, passwords and keys are redacted before anything is written.
`,
  preflight: `Usage: runner-ctl preflight [--json]

Checks memory cgroup, clock, disk, the K3s service, the machines, the release, the license,
certificates and integrations. Exit code 1 when a check fails.
`,
  license: `Usage: runner-ctl license show [--json]
       runner-ctl license verify (--token TOKEN | --token-file FILE) [--jwks FILE] [--json]
`,
  config: `Usage: runner-ctl config set proxy <url|none> [--no-proxy LIST]
       runner-ctl config set ca <file.pem|none>

The new setting is written to /etc/camel-runner/runner.conf and applied at once (K3s is
restarted when its proxy changes; the agent gets the new proxy or CA).
NO_PROXY must contain ${"127.0.0.1,localhost,10.42.0.0/16,10.43.0.0/16,.svc,.cluster.local"}.
`,
  "worker-token": `Usage: runner-ctl worker-token [--ttl 1h]

Prints a short-lived join token (it pins this hub's certificate authority) and the command to run
on the new worker machine. The hub's own server token is never handed out.
`,
};

type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

function parse(
  args: string[],
  options: OptionSpec,
  positionals = true,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: positionals,
      strict: true,
    });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  io?: Io;
  signal?: AbortSignal;
  interactive?: boolean;
}

export async function main(argv: string[], o: RunOptions = {}): Promise<number> {
  const io: Io = o.io ?? { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };
  const env = o.env ?? process.env;
  const [cmd, ...rest] = argv;
  try {
    if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
      io.out(HELP.main ?? "");
      return cmd ? 0 : 2;
    }
    const ctx: Ctx = makeCtx(env, io);
    const help = (name: string) => {
      io.out(HELP[name] ?? "");
      return 0;
    };
    switch (cmd) {
      case "version":
        io.out(`runner-ctl ${VERSION}\n`);
        return 0;
      case "status": {
        const { values } = parse(rest, { json: { type: "boolean" } }, false);
        if (values.help) return help("status");
        const s = await collectStatus(ctx);
        io.out(values.json ? `${JSON.stringify(s, null, 2)}\n` : renderStatus(s));
        return s.overall === "ok" ? 0 : 1;
      }
      case "logs": {
        const { values, positionals } = parse(rest, {
          follow: { type: "boolean", short: "f" },
          tail: { type: "string" },
          all: { type: "boolean" },
        });
        if (values.help) return help("logs");
        const name = positionals[0];
        if (!name || positionals.length > 1) throw new UsageError("logs needs exactly one integration name");
        const tail = values.tail === undefined ? undefined : Number(values.tail);
        if (tail !== undefined && (!Number.isInteger(tail) || tail < 0))
          throw new UsageError("--tail needs a whole number");
        let signal = o.signal;
        if (!signal && values.follow) {
          const ac = new AbortController();
          process.once("SIGINT", () => ac.abort());
          signal = ac.signal;
        }
        return await logs(ctx, {
          integration: name,
          follow: Boolean(values.follow),
          tail,
          all: Boolean(values.all),
          signal,
        });
      }
      case "backup": {
        const { values } = parse(
          rest,
          {
            output: { type: "string", short: "o" },
            "passphrase-file": { type: "string" },
            "stop-workloads": { type: "boolean" },
            json: { type: "boolean" },
          },
          false,
        );
        if (values.help) return help("backup");
        const r = await backup(ctx, {
          output: values.output as string | undefined,
          passphraseFile: values["passphrase-file"] as string | undefined,
          stopWorkloads: Boolean(values["stop-workloads"]),
        });
        io.out(values.json ? `${JSON.stringify(r)}\n` : `${r.file}\n`);
        return 0;
      }
      case "restore": {
        const { values, positionals } = parse(rest, {
          "passphrase-file": { type: "string" },
          yes: { type: "boolean", short: "y" },
          full: { type: "boolean" },
          timeout: { type: "string" },
        });
        if (values.help) return help("restore");
        const file = positionals[0];
        if (!file) throw new UsageError("restore needs the backup file");
        return await restore(ctx, {
          archive: file,
          passphraseFile: values["passphrase-file"] as string | undefined,
          yes: Boolean(values.yes),
          full: Boolean(values.full),
          timeout: (values.timeout as string | undefined) ?? "10m",
          interactive: o.interactive ?? Boolean(process.stdin.isTTY),
        });
      }
      case "update": {
        const { values } = parse(
          rest,
          {
            bundle: { type: "string" },
            "passphrase-file": { type: "string" },
            "no-backup": { type: "boolean" },
            timeout: { type: "string" },
            json: { type: "boolean" },
          },
          false,
        );
        if (values.help) return help("update");
        if (!values.bundle) throw new UsageError("update needs --bundle <file>");
        return await update(ctx, {
          bundle: values.bundle as string,
          passphraseFile: values["passphrase-file"] as string | undefined,
          skipBackup: Boolean(values["no-backup"]),
          timeout: (values.timeout as string | undefined) ?? "10m",
          json: Boolean(values.json),
        });
      }
      case "support-bundle": {
        const { values } = parse(
          rest,
          { output: { type: "string", short: "o" }, "log-lines": { type: "string" } },
          false,
        );
        if (values.help) return help("support-bundle");
        const file = await supportBundle(ctx, {
          output: values.output as string | undefined,
          logLines: Number(values["log-lines"] ?? 2000),
        });
        io.out(`${file}\n`);
        io.err("Send this file to your vendor's support. Secrets were redacted.\n");
        return 0;
      }
      case "preflight": {
        const { values } = parse(rest, { json: { type: "boolean" } }, false);
        if (values.help) return help("preflight");
        return await preflight(ctx, Boolean(values.json));
      }
      case "license": {
        const { values, positionals } = parse(rest, {
          token: { type: "string" },
          "token-file": { type: "string" },
          jwks: { type: "string" },
          json: { type: "boolean" },
        });
        if (values.help) return help("license");
        if (positionals.length === 0) {
          help("license");
          return 2;
        }
        if (positionals[0] === "show") return await licenseShow(ctx, Boolean(values.json));
        if (positionals[0] === "verify") {
          return await licenseVerify(ctx, {
            token: values.token as string | undefined,
            tokenFile: values["token-file"] as string | undefined,
            jwks: values.jwks as string | undefined,
            json: Boolean(values.json),
          });
        }
        throw new UsageError(`unknown license command: ${positionals[0]} (show, verify)`);
      }
      case "config": {
        const { values, positionals } = parse(rest, { "no-proxy": { type: "string" }, timeout: { type: "string" } });
        if (values.help) return help("config");
        const [set, what, arg] = positionals;
        const timeout = (values.timeout as string | undefined) ?? "10m";
        if (set !== "set" || !what || !arg)
          throw new UsageError("usage: runner-ctl config set proxy <url|none> | config set ca <file|none>");
        if (what === "proxy") return await configSetProxy(ctx, arg, values["no-proxy"] as string | undefined, timeout);
        if (what === "ca") return await configSetCa(ctx, arg, timeout);
        throw new UsageError(`unknown setting: ${what} (proxy, ca)`);
      }
      case "worker-token": {
        const { values } = parse(rest, { ttl: { type: "string" } }, false);
        if (values.help) return help("worker-token");
        if (ctx.settings.role !== "hub") throw new CliError("run this on the hub");
        const ttl = (values.ttl as string | undefined) ?? "1h";
        if (!/^\d+[smh]$/.test(ttl)) throw new UsageError("--ttl looks like 30m, 1h or 24h");
        const r = await run(
          `${ctx.paths.binDir}/k3s`,
          ["token", "create", "--ttl", ttl, "--description", "camel-runner worker join"],
          {
            env: ctx.env,
            timeoutMs: 60_000,
          },
        );
        const token = r.stdout.trim();
        if (r.code !== 0 || !/^K10[0-9a-f]{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/.test(token)) {
          throw new CliError(`could not create a join token: ${r.stderr.trim() || token}`);
        }
        io.out(`${token}\n`);
        io.err(
          `This token is valid for ${ttl} and only lets a machine join as a worker. On the new machine run:\n` +
            `  sh install.sh --role worker --hub-ip <this hub's address> --token ${token}\n`,
        );
        return 0;
      }
      default:
        throw new UsageError(`unknown command: ${cmd}. Run 'runner-ctl --help'.`);
    }
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`error: ${e.message}\n`);
      return e.exitCode;
    }
    io.err(`error: ${(e as Error).message ?? String(e)}\n`);
    return 1;
  }
}
