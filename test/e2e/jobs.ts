import { FlinkRestClient } from "../../lib/flink/client";
import { resolveRestEndpoint } from "../../lib/reconcile/cluster-info";
import { stateMachineSpec } from "../../scripts/sandbox/examples";
import { eventually, getJson, kubectl, pods, type Json } from "./helpers";

/** StateMachineExample as a FlinkDeployment (scripts/sandbox/examples.ts). */
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
    spec: stateMachineSpec(dataDir, flink, upgradeMode),
  };
}

/** The resource once suspended, its stop done. */
export const suspendedDeployment = (ns: string, name: string): Promise<Json> =>
  eventually(
    "SUSPENDED",
    async () => {
      const d = await getJson("flinkdep", name, "-n", ns);
      return (
        d.status?.lifecycleState === "SUSPENDED" && !d.status.reconciliationStatus.operation && d
      );
    },
    180_000,
  );

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
