// The real helm 4.1.4 (server-side apply, kstatus waiter) against the simulator.

import { HELM4, helmScenario } from "./helm-scenario.ts";

helmScenario("helm 4", HELM4);
