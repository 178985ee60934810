import { defineConfig } from "vitest/config";

// Projects run one after another: the machine has 2 cores and the integration suites start real servers.
export default defineConfig({
  test: {
    fileParallelism: false,
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
    ],
  },
});
