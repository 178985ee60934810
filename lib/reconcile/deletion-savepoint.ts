import type { V1Deployment, V1StatefulSet } from "@kubernetes/client-node";
import { FlinkDeployment } from "../api/kinds";
import { parseReconciledSpec } from "../api/reconciled-spec";
import { FlinkDeploymentObject } from "../api/resources";
import { FlinkDeploymentSpec } from "../api/spec";
import { FlinkDeploymentStatus } from "../api/status";
import { clusterOf, restServiceName } from "../builders/metadata";
import { OperatorSettings } from "../settings";
import { restService } from "./cluster-info";
import * as kube from "./kube";
import { restClient } from "./observe-cluster";
import { QueueResult } from "./queue";
import { lookAtSavepointStop } from "./savepoint-stop";

type Step = <T>(what: string, work: () => Promise<T>) => Promise<T>;

/**
 * `kubernetes.operator.job.savepoint-on-deletion`: stops a running application job with a savepoint before its
 * cluster is deleted, the trigger on record first like an upgrade's, and names the savepoint in an Event. Returns
 * a result while the savepoint is pending (or fails and time is left), undefined when the deletion may go on:
 * at the clean-up deadline it goes on without one, with a Warning saying why.
 */
export async function savepointBeforeDeletion(
  dep: FlinkDeployment,
  settings: OperatorSettings,
  deadline: number,
  clock: () => Date,
  step: Step,
): Promise<QueueResult | undefined> {
  if (!dep.spec?.job || !settings.bool("job.savepoint-on-deletion")) return undefined;
  const before: FlinkDeploymentStatus = dep.status ?? {};
  const target = parseReconciledSpec<FlinkDeploymentSpec>(
    before.reconciliationStatus?.lastReconciledSpec,
  );
  const jobId = before.jobStatus?.jobId;
  if (!target || target.spec.job?.state === "suspended" || !jobId) return undefined;
  const { namespace, name, uid } = dep.metadata as { namespace: string; name: string; uid: string };
  const event = (type: "Normal" | "Warning", reason: string, message: string) =>
    step("event", () => kube.recordEvent(dep, type, reason, message));
  const without = async (why: string) => {
    await event("Warning", "DeletionWithoutSavepoint", `no savepoint before deletion: ${why}`);
    return undefined;
  };
  const children = await step("workload list", () =>
    kube.listAllChildren(namespace, name, uid, ["Deployment", "StatefulSet", "Service"]),
  );
  const jm = children.find(c => c.kind !== "Service" && c.metadata?.name === name) as
    | V1Deployment
    | V1StatefulSet
    | undefined;
  const rest = restService(
    children,
    restServiceName(clusterOf(dep as unknown as FlinkDeploymentObject, 1)),
  );
  if (!jm || (jm.status?.readyReplicas ?? 0) < 1 || !rest)
    return without("the JobManager is not ready");
  const status = structuredClone(before);
  let written = before;
  const save = async () => {
    await step("status", () => kube.patchDeploymentStatus({ ...dep, status: written }, status));
    written = structuredClone(status);
  };
  const client = await restClient(rest, settings);
  const look = await lookAtSavepointStop(
    client,
    jobId,
    status,
    settings,
    save,
    () => clock().getTime(),
    settings.bool("job.drain-on-savepoint-deletion"),
  );
  if (look.state === "done") {
    await event(
      "Normal",
      "DeletionSavepoint",
      `job ${jobId} stopped with savepoint ${look.location} before deletion`,
    );
    return undefined;
  }
  if (look.state === "not-running") return without(look.why);
  const late = clock().getTime() >= deadline;
  if (look.state === "pending" || look.state === "waiting")
    return late
      ? without("the savepoint did not complete before resource.cleanup.timeout")
      : { requeueAfterMs: 1000 };
  if (late) return without(look.why);
  await event(
    "Warning",
    "DeletionSavepointFailed",
    `${look.why}; trying again until resource.cleanup.timeout`,
  );
  return { requeueAfterMs: settings.durationMs("observer.progress-check.interval") };
}
