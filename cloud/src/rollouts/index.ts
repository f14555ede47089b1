// Wiring: the routers of releases, rollouts, fleet and webhooks (mounted by createApp), and an attach hook that
// runs the scheduler role (rollout engine, fleet sync, alert scan, webhook delivery) beside the server:
//   startCloud(config, { routers: tunnelRouters, attach: [attachTunnel(), attachScheduler()] })
import type { Clock } from "../lib/clock.ts";
import type { AppDeps } from "../lib/context.ts";
import { fleetRouter } from "../routes/fleet/index.ts";
import { releasesRouter } from "../routes/releases/index.ts";
import { rolloutsRouter } from "../routes/rollouts/index.ts";
import { webhooksRouter } from "../routes/webhooks/index.ts";
import { type Scheduler, type SchedulerOptions, startScheduler } from "./scheduler.ts";

export const rolloutRouters = [releasesRouter, rolloutsRouter, fleetRouter, webhooksRouter];

export interface AttachSchedulerOptions
  extends Partial<Pick<SchedulerOptions, "intervalMs" | "fleetSyncEveryMs" | "alertScanEveryMs" | "alerts" | "fetch">> {
  onScheduler?: (s: Scheduler) => void;
  /** the scheduler's own clock (tests move it to pass soak times); the app's clock by default */
  clock?: Clock;
}

export function attachScheduler(options: AttachSchedulerOptions = {}) {
  const { onScheduler, clock, ...rest } = options;
  return (_server: unknown, deps: AppDeps) => {
    const scheduler = startScheduler({
      database: deps.database,
      clock: clock ?? deps.clock,
      // read at each pass: startCloud learns the port (and so the public URL) after the hooks are built
      get publicUrl() {
        return deps.publicUrl;
      },
      keyEncryptionKey: deps.keyEncryptionKey,
      logger: deps.logger,
      ...rest,
    });
    onScheduler?.(scheduler);
    return () => scheduler.stop();
  };
}

export { runSchedulerTick } from "./engine.ts";
export { startScheduler } from "./scheduler.ts";
