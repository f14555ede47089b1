// Wiring for startCloud: the tunnel's routers and an attach hook that puts the gateway on the http server.
//   startCloud(config, { routers: tunnelRouters, attach: [attachTunnel({ heartbeatMs: 50 })] })
// The hook's cleanup drains (goaway to every agent), stops the gateway and marks its sessions offline.
import type { Server } from "node:http";
import type { DeepPartialGatewayOptions, Gateway } from "../gateway/gateway.ts";
import { createGateway } from "../gateway/gateway.ts";
import type { AppDeps } from "../lib/context.ts";
import { appliancesRouter } from "../routes/appliances/index.ts";
import { commandsRouter } from "../routes/commands/index.ts";
import { enrollRouter } from "../routes/enroll/index.ts";

export const tunnelRouters = [enrollRouter, appliancesRouter, commandsRouter];

export interface AttachTunnelOptions extends DeepPartialGatewayOptions {
  /** receives the gateway once it runs (tests, main's SIGTERM handler) */
  onGateway?: (g: Gateway) => void;
  /** on stop: "drain" (goaway, default), "close" (terminate sockets, flush telemetry), "kill" (like a crash) */
  onStop?: "drain" | "close" | "kill";
}

export function attachTunnel(options: AttachTunnelOptions = {}) {
  const { onGateway, onStop = "drain", ...gatewayOptions } = options;
  return async (server: unknown, deps: AppDeps) => {
    const gateway = createGateway(
      {
        database: deps.database,
        logger: deps.logger,
        clock: deps.clock,
        publicUrl: deps.publicUrl,
        events: deps.events,
      },
      gatewayOptions,
    );
    await gateway.start();
    gateway.attach(server as Server);
    onGateway?.(gateway);
    return async () => {
      if (onStop === "kill") return gateway.kill();
      if (onStop === "drain") await gateway.drain();
      await gateway.close();
      await gateway.markReplicaOffline().catch(() => {});
    };
  };
}

export { enqueueCommand } from "./commands.ts";
export { getDesiredState, setDesiredState } from "./desired-state.ts";
