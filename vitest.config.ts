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
      {
        test: {
          name: "k8s",
          include: ["test/integration/k8s/**/*.test.ts"],
          environment: "node",
          // Starts one control plane and the module for the project (building the binaries on first use).
          globalSetup: ["test/integration/k8s/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "flink",
          include: ["test/integration/flink/**/*.test.ts"],
          environment: "node",
          // Each file starts a real Flink (fetched from Maven Central on first use) and stops it in afterAll.
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          // A control plane with the real node (root) and the operator; first use builds the node and images.
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 1_800_000,
        },
      },
    ],
  },
});
