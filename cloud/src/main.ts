// The cloud process: parse config (each bad field printed, exit 1), open + migrate the database, bootstrap an empty one,
// serve, print the URL (and, on first start only, the admin key), and stop cleanly on SIGTERM / SIGINT.
import { ConfigError, loadConfig } from "./config.ts";
import { DataDirLockedError } from "./db/client.ts";
import { attachScheduler } from "./rollouts/index.ts";
import { createLogger, startCloud } from "./server.ts";
import { attachTunnel, tunnelRouters } from "./tunnel/index.ts";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config);
  let cloud: Awaited<ReturnType<typeof startCloud>>;
  try {
    // The roles this process runs: the API (stateless routes), the gateway (agents' WebSockets) and the scheduler
    // (rollout engine, fleet sync, alerts; one active replica at a time under an advisory lock).
    cloud = await startCloud(config, {
      logger,
      routers: config.ROLES.includes("api") || config.ROLES.includes("gateway") ? tunnelRouters : [],
      attach: [
        ...(config.ROLES.includes("gateway") ? [attachTunnel()] : []),
        ...(config.ROLES.includes("scheduler") ? [attachScheduler()] : []),
      ],
    });
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    logger.fatal({ err }, "start-up failed");
    process.exit(1);
  }

  // Human-facing lines go to stderr so stdout stays pure JSON logs; the secret is written once, never logged.
  const lines = [`Camel Ops cloud listening on ${cloud.url}  (API reference: ${cloud.url}/docs)`];
  if (cloud.bootstrap) {
    lines.push(
      "",
      `First start: created organisation "${cloud.bootstrap.organisation.name}" (${cloud.bootstrap.organisation.id}) and an admin API key.`,
      "It is shown ONCE; store it now:",
      "",
      `    ${cloud.bootstrap.secret}`,
      "",
      `Try: curl -H "Authorization: Bearer <key>" ${cloud.url}/v1/me`,
    );
  }
  process.stderr.write(`${lines.join("\n")}\n`);

  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      logger.error("shutdown took longer than 15 s; exiting");
      process.exit(1);
    }, 15_000);
    force.unref();
    cloud.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

await main();
