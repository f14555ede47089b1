// Public entry of the Kubernetes API simulator for tests: `import { KubeSim } from "../test/k8s-sim/index.ts"`.

export type { ControllerSwitches, Fault } from "./controllers.ts";
export { KubeSim, type KubeSimOptions } from "./sim.ts";
export type { Obj } from "./util.ts";
