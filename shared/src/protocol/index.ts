// The tunnel contract shared by cloud and agent.
export * from "./agent-token.ts";
export * from "./enroll.ts";
export * from "./frames.ts";
