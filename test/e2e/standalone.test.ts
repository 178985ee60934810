import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apply,
  deleteNamespace,
  eventually,
  getJson,
  kubectl,
  namespaceWithFlinkAccount,
  pods,
  running,
} from "./helpers";

/** Standalone session cluster whose TaskManagers each get a volume claim from the default StorageClass. */
describe("standalone mode with volumeClaimTemplates", () => {
  let ns: string;
  const name = "standalone-pvc";
  beforeAll(async () => {
    ns = await namespaceWithFlinkAccount("e2e-standalone");
    await apply({
      apiVersion: "flink.apache.org/v1beta1",
      kind: "FlinkDeployment",
      metadata: { name, namespace: ns },
      spec: {
        image: "flink:1.20",
        flinkVersion: "v1_20",
        mode: "standalone",
        serviceAccount: "flink",
        flinkConfiguration: { "taskmanager.numberOfTaskSlots": "1" },
        jobManager: { resource: { memory: "1024m", cpu: 0.25 } },
        taskManager: {
          replicas: 1,
          volumeClaimTemplates: [
            {
              metadata: { name: "data" },
              spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
            },
          ],
          resource: { memory: "1024m", cpu: 0.25 },
          podTemplate: {
            spec: {
              containers: [
                {
                  name: "flink-main-container",
                  volumeMounts: [{ name: "data", mountPath: "/data" }],
                },
              ],
            },
          },
        },
      },
    });
  });
  afterAll(() => deleteNamespace(ns));

  it("binds each TaskManager's claim and keeps a file written there across a pod restart", async () => {
    const tm = await eventually(
      "a running TaskManager",
      async () => (await pods(ns, `app=${name},component=taskmanager`)).find(running),
      180_000,
    );
    const pvcs = (await getJson("pvc", "-n", ns)).items;
    expect(pvcs.map((p: { status: { phase: string } }) => p.status.phase)).toEqual(["Bound"]);
    await kubectl(
      "exec",
      "-n",
      ns,
      tm.metadata.name,
      "-c",
      "flink-main-container",
      "--",
      "bash",
      "-c",
      "echo kept > /data/probe",
    );
    await kubectl("delete", "pod", tm.metadata.name, "-n", ns, "--wait=true", "--timeout=120s");
    const again = await eventually(
      "the TaskManager back",
      async () =>
        (await pods(ns, `app=${name},component=taskmanager`)).find(
          p => running(p) && p.metadata.uid !== tm.metadata.uid,
        ),
      180_000,
    );
    expect(again.metadata.name).toBe(tm.metadata.name);
    const content = await kubectl(
      "exec",
      "-n",
      ns,
      again.metadata.name,
      "-c",
      "flink-main-container",
      "--",
      "cat",
      "/data/probe",
    );
    expect(content).toBe("kept");
  });
});
