// Every table of the cloud, by aggregate. Add a line per aggregate file.

export * from "./appliances.ts";
export * from "./commands.ts";
export * from "./licenses.ts";
export * from "./organisations.ts";
export * from "./releases.ts";
export * from "./rollouts.ts";
export * from "./telemetry.ts";
export * from "./webhooks.ts";
