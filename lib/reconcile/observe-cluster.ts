import type { KubernetesObject, V1Deployment, V1StatefulSet } from "@kubernetes/client-node";
import { FlinkDeploymentStatus } from "../api/status";
import { clusterOf, jobManagerName, roleLabels } from "../builders/metadata";
import { FlinkRestClient } from "../flink/client";
import { OperatorSettings } from "../settings";
import { fetchClusterInfo, resolveRestEndpoint, restAccess, restService } from "./cluster-info";
import * as kube from "./kube";
import { inspectJob, inspectJobManager, inspectTaskManagers } from "./why-stuck";

const STARTING = new Set(["CREATED", "INITIALIZING", "RECONCILING"]);
const JOB_START_POLL_MS = 2_000;

export type ClusterRef = ReturnType<typeof clusterOf>;
type RestService = ReturnType<typeof restService>;

const jobManagerOf = (cluster: ClusterRef, workloads: KubernetesObject[]) =>
  workloads.find(w => w.metadata?.name === jobManagerName(cluster)) as
    | V1Deployment
    | V1StatefulSet
    | undefined;

const isReady = (w: V1Deployment | V1StatefulSet | undefined) =>
  !!w && (w.status?.readyReplicas ?? 0) >= Math.max(1, w.spec?.replicas ?? 1);

/** A client for the cluster's REST API, reached as the operator's settings say (cluster-info.ts). */
export async function restClient(
  rest: NonNullable<RestService>,
  settings: OperatorSettings,
): Promise<FlinkRestClient> {
  const endpoint = await resolveRestEndpoint(
    restAccess(settings.string("flink.rest.access")),
    rest,
  );
  return new FlinkRestClient({
    ...endpoint,
    timeoutMs: settings.durationMs("flink.client.timeout"),
    retries: 0,
  });
}

/** A client for the JobManager when its workload is ready, from the workloads listed now; else undefined. */
export async function readyJobManagerClient(
  cluster: ClusterRef,
  workloadKinds: readonly kube.ChildKind[],
  uid: string,
  rest: RestService,
  settings: OperatorSettings,
): Promise<FlinkRestClient | undefined> {
  if (!rest) return undefined;
  const workloads = await kube.listAllChildren(cluster.namespace, cluster.name, uid, workloadKinds);
  return isReady(jobManagerOf(cluster, workloads)) ? restClient(rest, settings) : undefined;
}

/** The scale subresource's view: current TaskManager count and the selector of their pods. */
export function taskManagerStatus(cluster: ClusterRef, replicas: number) {
  const labels = roleLabels(cluster, "taskmanager");
  return {
    replicas,
    labelSelector: Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(","),
  };
}

/**
 * Observes the workloads listed by the pass (so no second read); pods, events and logs only where a workload is
 * not all ready. Returns when to look again and, when not ready or the job fails, why (status.error too).
 */
export async function observeCluster(
  cluster: ClusterRef,
  workloads: KubernetesObject[],
  status: FlinkDeploymentStatus,
  settings: OperatorSettings,
  now: Date,
  rest: RestService,
) {
  const seen = await inspectJobManager(cluster, jobManagerOf(cluster, workloads));
  status.jobManagerDeploymentStatus = seen.state;
  const tms = await inspectTaskManagers(cluster, workloads, seen.state === "READY");
  status.taskManager = taskManagerStatus(cluster, tms.replicas);
  let job: Awaited<ReturnType<typeof inspectJob>> = {};
  let client: FlinkRestClient | undefined;
  if (seen.state === "READY" && rest) {
    client = await restClient(rest, settings);
    // Best effort: a ready pod has passed its REST startup probe; a failed call only leaves status as it was.
    status.clusterInfo = await fetchClusterInfo(client).catch(() => status.clusterInfo);
    if (status.jobStatus?.jobId) {
      job = await inspectJob(client, status.jobStatus.jobId);
      if (job.job) status.jobStatus = { ...status.jobStatus, ...job.job };
    }
  }
  // What blocks the job most directly: the JobManager, TaskManagers while it does not run, the job itself.
  const stuck =
    seen.stuck ?? (status.jobStatus?.state === "RUNNING" ? undefined : tms.stuck) ?? job.stuck;
  status.error ??= stuck?.message;
  const prev = status.conditions?.find(c => c.type === "Ready");
  const waitedMs =
    prev?.status === "False" && prev.lastTransitionTime
      ? now.getTime() - Date.parse(prev.lastTransitionTime)
      : 0;
  const timeout = settings.durationMs("deployment.readiness.timeout");
  let message = seen.message;
  if (seen.state === "DEPLOYING" && waitedMs > timeout)
    message = `not ready within kubernetes.operator.deployment.readiness.timeout: ${message}`;
  // A job on its way to RUNNING (or out of it) is looked at again soon, like a JobManager that is not ready.
  const settled = !status.jobStatus?.jobId || status.jobStatus.state === "RUNNING";
  // A job a ready JobManager is starting gets RUNNING within seconds: looked at every 2 s until then.
  const starting =
    seen.state === "READY" && !settled && STARTING.has(status.jobStatus?.state ?? "CREATED");
  const progress = settings.durationMs("observer.progress-check.interval");
  return {
    /** The JobManager's client when it was ready; the pass may act on the job through it. */
    client,
    requeue:
      seen.state === "READY" && settled
        ? settings.durationMs("reconcile.interval")
        : starting
          ? Math.min(progress, JOB_START_POLL_MS)
          : progress,
    message,
    /** Why the cluster or its job does not run, for an Event when the cause is new. */
    stuck,
  };
}
