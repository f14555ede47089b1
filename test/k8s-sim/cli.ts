// Runs the simulator by hand: `npx tsx test/k8s-sim/cli.ts --port 0 --kubeconfig /tmp/kc [--http] [--ready-delay 100]`.

import { parseArgs } from "node:util";
import { KubeSim } from "./sim.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    kubeconfig: { type: "string" },
    http: { type: "boolean", default: false },
    "ready-delay": { type: "string", default: "500" },
    "git-version": { type: "string" },
    token: { type: "string" },
    verbose: { type: "boolean", short: "v", default: false },
  },
});

const sim = await KubeSim.start({
  port: Number(values.port),
  https: !values.http,
  kubeconfigPath: values.kubeconfig,
  readyDelayMs: Number(values["ready-delay"]),
  gitVersion: values["git-version"],
  token: values.token,
  log: values.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
});
process.stdout.write(`k8s-sim listening on ${sim.url}\nkubeconfig: ${sim.kubeconfigPath}\n`);
process.stdout.write(`try: kubectl --kubeconfig ${sim.kubeconfigPath} get nodes\n`);

const shutdown = (): void => {
  sim.stop().then(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
