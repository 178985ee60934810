import type { V1Deployment, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { JOB_STATES, type JobStatus } from "../api/status";
import type { JobOverview } from "../flink/schemas";

export type JobManagerState = "READY" | "DEPLOYED_NOT_READY" | "DEPLOYING" | "MISSING" | "ERROR";

export interface JobManagerObservation {
  state: JobManagerState;
  /** Why it is not ready, in the words of the pod's status where there are any. */
  message?: string;
}

/** Container states that will not resolve without a change: the image, the command or its configuration. */
const FATAL_WAITING = new Set([
  "ImagePullBackOff",
  "ErrImagePull",
  "ErrImageNeverPull",
  "InvalidImageName",
  "CrashLoopBackOff",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

/** JobManager deployment status from its workload and pods, as the reference operator reports it. */
export function observeJobManager(
  workload: V1Deployment | V1StatefulSet | undefined,
  pods: V1Pod[],
): JobManagerObservation {
  if (!workload) return { state: "MISSING", message: "the JobManager workload does not exist" };
  for (const pod of pods) {
    for (const cs of [
      ...(pod.status?.initContainerStatuses ?? []),
      ...(pod.status?.containerStatuses ?? []),
    ]) {
      const waiting = cs.state?.waiting;
      if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
        return {
          state: "ERROR",
          message: `pod ${pod.metadata?.name} container ${cs.name}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`,
        };
      }
    }
  }
  if ((workload.status?.readyReplicas ?? 0) >= 1) return { state: "READY" };
  const unscheduled = pods
    .flatMap(p =>
      (p.status?.conditions ?? [])
        .filter(c => c.type === "PodScheduled" && c.status === "False")
        .map(c => ({ p, c })),
    )
    .at(0);
  if (unscheduled)
    return {
      state: "DEPLOYING",
      message:
        `pod ${unscheduled.p.metadata?.name} is not scheduled: ${unscheduled.c.reason}: ${unscheduled.c.message ?? ""}`.trim(),
    };
  if (pods.length === 0)
    return { state: "DEPLOYING", message: "waiting for the JobManager pod to be created" };
  return {
    state: "DEPLOYING",
    message: `waiting for JobManager pod ${pods[0].metadata?.name} to become ready (phase ${pods[0].status?.phase ?? "unknown"})`,
  };
}

/**
 * The application's job as Flink reports it: the one with the id the operator chose, or when none has it
 * (a job submitted under another id, e.g. by hand) the newest. Times are epoch millis as the reference writes them.
 */
export function jobStatusFromOverview(
  jobs: JobOverview[],
  jobId: string | undefined,
): Pick<JobStatus, "jobId" | "jobName" | "state" | "startTime" | "updateTime"> | undefined {
  const job =
    jobs.find(j => j.jid === jobId) ??
    [...jobs].sort((a, b) => b["start-time"] - a["start-time"])[0];
  if (!job) return undefined;
  const state = (JOB_STATES as readonly string[]).includes(job.state)
    ? (job.state as JobStatus["state"])
    : undefined;
  return {
    jobId: job.jid,
    jobName: job.name,
    state,
    startTime: String(job["start-time"]),
    updateTime: String(job["last-modification"] ?? job["start-time"]),
  };
}
