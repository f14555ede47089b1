// Every table of the cloud, by aggregate. Add a line per aggregate file.
export * from "./licenses.ts";
export * from "./organisations.ts";
