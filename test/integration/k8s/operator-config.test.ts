import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  deleteNamespaces,
  eventually,
  kubectl,
  runKubectl,
  uniqueNamespace,
  webhookInPath,
} from "./kubectl";

/** The operator ConfigMap the module reads (lib/reconcile/operator-config.ts defaults). */
const OPERATOR_CONFIG = { namespace: "pepr-system", name: "flink-operator-config" };
const ns = uniqueNamespace("opconf");
const other = uniqueNamespace("opconf-other");

/** A savepoint-mode application without checkpoint or savepoint directories of its own. */
const stateful = (namespace: string, flinkConfiguration: Record<string, string> = {}) => ({
  apiVersion: "flink.apache.org/v1beta1",
  kind: "FlinkDeployment",
  metadata: { name: "needs-dirs", namespace },
  spec: {
    image: "flink:2.2",
    flinkVersion: "v2_2",
    serviceAccount: "default",
    flinkConfiguration,
    jobManager: { resource: { memory: "1024m", cpu: 0.5 } },
    taskManager: { resource: { memory: "1024m", cpu: 0.5 } },
    job: {
      jarURI: "local:///opt/flink/examples/streaming/StateMachineExample.jar",
      parallelism: 1,
      upgradeMode: "savepoint",
    },
  },
});

const dryRun = (obj: object) =>
  runKubectl(["create", "--dry-run=server", "-f", "-"], JSON.stringify(obj));

const applyOperatorConfig = (config: Record<string, string>) =>
  kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: OPERATOR_CONFIG,
      data: { "config.yaml": stringify(config) },
    }),
  );

const deleteOperatorConfig = () =>
  kubectl([
    "delete",
    "configmap",
    OPERATOR_CONFIG.name,
    "-n",
    OPERATOR_CONFIG.namespace,
    "--ignore-not-found",
  ]);

const DIRS = {
  "execution.checkpointing.dir": "s3://ops/checkpoints",
  "execution.checkpointing.savepoint-dir": "s3://ops/savepoints",
};

beforeAll(async () => {
  await deleteOperatorConfig();
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "namespace", other]);
  await webhookInPath(ns);
});

afterAll(async () => {
  await deleteOperatorConfig();
  await deleteNamespaces([ns, other]);
});

describe("admission reads the operator ConfigMap", () => {
  it("denies a savepoint-mode job without directories while the operator ConfigMap has none", async () => {
    const r = await eventually("a denial without the ConfigMap's directories", async () => {
      const res = await dryRun(stateful(ns));
      return res.code !== 0 ? res : undefined;
    });
    expect(r.stderr).toContain(
      "spec.job.upgradeMode: savepoint upgrade mode needs a savepoint directory",
    );
    expect(r.stderr).toContain(
      "spec.job.upgradeMode: savepoint upgrades need a checkpoint directory",
    );
  });

  it("admits it through the apiserver once the operator ConfigMap sets the directories", async () => {
    await applyOperatorConfig(DIRS);
    const started = Date.now();
    await eventually(
      "admission with the ConfigMap's directories",
      async () => (await dryRun(stateful(ns))).code === 0,
      30_000,
    );
    process.stdout.write(
      `[measure] operator ConfigMap edit to admission: ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    const created = await runKubectl(["create", "-f", "-"], JSON.stringify(stateful(ns)));
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    // The defaults stay in the ConfigMap: nothing of them is written into the resource.
    const stored = JSON.parse(
      await kubectl(["get", "flinkdeployment", "needs-dirs", "-n", ns, "-o", "json"]),
    );
    expect(stored.spec.flinkConfiguration ?? {}).toEqual({});
  });

  it("applies a namespace's section of the ConfigMap to that namespace only", async () => {
    await applyOperatorConfig(
      Object.fromEntries(
        Object.entries(DIRS).map(([k, v]) => [
          `kubernetes.operator.default-configuration.namespace.${other}.${k}`,
          v,
        ]),
      ),
    );
    await eventually(
      "the namespace section to take effect",
      async () =>
        (await dryRun(stateful(other))).code === 0 && (await dryRun(stateful(ns))).code !== 0,
      30_000,
    );
  });

  it("admits an option the operator does not implement yet with a warning that names it", async () => {
    const r = await dryRun({
      ...stateful(ns, { ...DIRS, "kubernetes.operator.exception.stacktrace.enabled": "true" }),
      metadata: { name: "warned", namespace: ns },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      'Warning: spec.flinkConfiguration["kubernetes.operator.exception.stacktrace.enabled"]: is not implemented by this operator yet, so it has no effect',
    );
  });

  it("still deletes a resource admitted under the ConfigMap after the ConfigMap lost its directories", async () => {
    // Removing the finalizer is an update of a spec that would no longer pass; it must not be denied.
    await deleteOperatorConfig();
    await eventually(
      "admission without the ConfigMap's directories",
      async () => (await dryRun(stateful(other))).code !== 0,
      30_000,
    );
    await kubectl(["delete", "flinkdeployment", "needs-dirs", "-n", ns, "--timeout=60s"]);
    expect(
      await kubectl(["get", "flinkdeployment", "-n", ns, "--ignore-not-found", "-o", "name"]),
    ).toBe("");
  });
});
