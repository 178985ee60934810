import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { FlinkRestClient } from "../../lib/flink/client";
import { waitForJobState } from "../../lib/flink/operations";
import { resolveRestEndpoint } from "../../lib/reconcile/cluster-info";
import { ensureFlinkRuntime } from "../../scripts/sandbox/flink-runtime";
import {
  apply,
  deleteNamespace,
  compatExample,
  eventually,
  getJson,
  namespaceWithFlinkAccount,
  pods,
  running,
} from "./helpers";

process.env.KUBECONFIG = inject("kubeconfig");

/** The reference's session cluster example (image flink:2.2, unchanged): TaskManagers come when a job asks. */
describe("a native session cluster", () => {
  let ns: string;
  const name = "basic-session-deployment-only-example";
  beforeAll(async () => {
    ns = await namespaceWithFlinkAccount("e2e-session");
    const dep = compatExample("basic-session-deployment-only.yaml");
    await apply({ ...dep, metadata: { ...dep.metadata, namespace: ns } });
  });
  afterAll(() => deleteNamespace(ns));

  it("starts with no TaskManager, and Flink creates one when a submitted job needs slots", async () => {
    await eventually(
      "the session cluster READY",
      async () => {
        const d = await getJson("flinkdep", name, "-n", ns);
        return d.status?.jobManagerDeploymentStatus === "READY";
      },
      180_000,
    );
    expect(await pods(ns, `app=${name},component=taskmanager`)).toEqual([]);

    const endpoint = await resolveRestEndpoint("proxy", {
      name: `${name}-rest`,
      namespace: ns,
      port: 8081,
    });
    const client = new FlinkRestClient({ ...endpoint, timeoutMs: 30_000 });
    const { stateMachineJar, release } = await ensureFlinkRuntime("2.2");
    const { jarId } = await client.uploadJarFile(stateMachineJar);
    const jobId = await client.runJar(jarId, {
      entryClass: release.examples.stateMachineClass,
      parallelism: 2,
    });
    const tm = await eventually(
      "a TaskManager pod that Flink created",
      async () => (await pods(ns, `app=${name},component=taskmanager`)).find(running),
      180_000,
    );
    expect(tm.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Deployment", name });
    await waitForJobState(client, jobId, ["RUNNING"], { timeoutMs: 120_000 });
  });
});
