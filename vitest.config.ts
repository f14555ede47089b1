import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{cloud,agent,shared,appliance,test,scripts}/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/.data/**"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
