import { FlinkRestClient } from "../../lib/flink/client";
import { resolveRestEndpoint } from "../../lib/reconcile/cluster-info";
import { eventually, getJson, kubectl, pods, type Json } from "./helpers";

/**
 * The reference's StateMachineExample as an application with checkpoints every 2 s into a host directory
 * shared by the JobManager and TaskManager pods (one node), with Kubernetes HA for last-state.
 */
export function stateMachine(
  name: string,
  ns: string,
  dataDir: string,
  flink: { image: string; flinkVersion: string },
  upgradeMode: string,
): Json {
  return {
    apiVersion: "flink.apache.org/v1beta1",
    kind: "FlinkDeployment",
    metadata: { name, namespace: ns },
    spec: {
      ...flink,
      serviceAccount: "flink",
      flinkConfiguration: {
        "taskmanager.numberOfTaskSlots": "2",
        "execution.checkpointing.interval": "2 s",
        "execution.checkpointing.dir": "file:///flink-data/checkpoints",
        "execution.checkpointing.savepoint-dir": "file:///flink-data/savepoints",
        // Flink 2.x's StateMachineExample keeps async state, whose operators cannot write canonical savepoints
        // ("Not supported yet"); the reference's own 2.x example asks for NATIVE too.
        "kubernetes.operator.savepoint.format.type":
          flink.flinkVersion === "v1_20" ? "CANONICAL" : "NATIVE",
        ...(upgradeMode === "last-state"
          ? {
              "high-availability.type": "kubernetes",
              "high-availability.storageDir": "file:///flink-data/ha",
            }
          : {}),
      },
      jobManager: { resource: { memory: "1024m", cpu: 1 } },
      taskManager: { resource: { memory: "1024m", cpu: 0.5 } },
      podTemplate: {
        spec: {
          containers: [
            {
              name: "flink-main-container",
              volumeMounts: [{ mountPath: "/flink-data", name: "flink-data" }],
            },
          ],
          volumes: [{ name: "flink-data", hostPath: { path: dataDir, type: "Directory" } }],
        },
      },
      job: {
        jarURI: "local:///opt/flink/examples/streaming/StateMachineExample.jar",
        parallelism: 1,
        upgradeMode,
        state: "running",
      },
    },
  };
}

export const patch = (ns: string, name: string, body: Json) =>
  kubectl("patch", "flinkdep", name, "-n", ns, "--type=merge", "-p", JSON.stringify(body));

/** The resource once its job runs the given generation's spec, with the ready JobManager's view of it. */
export async function runningGeneration(
  ns: string,
  name: string,
  generation: number,
): Promise<Json> {
  return eventually(
    `generation ${generation} RUNNING and STABLE`,
    async () => {
      const d = await getJson("flinkdep", name, "-n", ns);
      const s = d.status ?? {};
      return (
        s.observedGeneration === generation &&
        s.lifecycleState === "STABLE" &&
        s.jobStatus?.state === "RUNNING" &&
        !s.reconciliationStatus?.operation &&
        d
      );
    },
    240_000,
  );
}

/** A client for the resource's JobManager, through the apiserver's service proxy. */
export async function flinkClient(ns: string, name: string): Promise<FlinkRestClient> {
  return new FlinkRestClient({
    ...(await resolveRestEndpoint("proxy", { name: `${name}-rest`, namespace: ns, port: 8081 })),
    timeoutMs: 10_000,
  });
}

/** Deletes the resource and waits for its pods: the node's 2 CPUs hold one such cluster at a time. */
export async function removeDeployment(ns: string, name: string): Promise<void> {
  await kubectl("delete", "flinkdep", name, "-n", ns, "--wait=true", "--timeout=120s");
  await eventually(
    `${name}'s pods to be gone`,
    async () => (await pods(ns, `app=${name}`)).length === 0,
    120_000,
  );
}
