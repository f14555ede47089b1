// The real helm 3.17.3 (client-side three-way strategic merge, legacy ready checker) against the simulator.

import { HELM3, helmScenario } from "./helm-scenario.ts";

helmScenario("helm 3", HELM3);
