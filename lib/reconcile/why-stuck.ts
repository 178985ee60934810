import type {
  CoreV1Event,
  V1ContainerStatus,
  V1Deployment,
  V1Pod,
  V1StatefulSet,
} from "@kubernetes/client-node";
import { type Cluster, roleLabels, taskManagerName } from "../builders/metadata";
import type { FlinkRestClient } from "../flink/client";
import { rootCause } from "../flink/root-cause";
import { resourceLog } from "../log";
import { errorText } from "./errors";
import * as kube from "./kube";
import { jobStatusFromOverview } from "./observe";

/**
 * Why a cluster does not run, in Kubernetes' and Flink's own words: a workload whose pods cannot be created,
 * scheduled, pulled or started, a container that keeps crashing (with the end of its previous log), a job
 * that fails or restarts (the deepest cause from Flink's exception history), a JobManager that does not answer.
 */
export interface Stuck {
  /** The Event's reason. */
  reason: string;
  /** The cause in one line, the same on every pass while it lasts: one Event per distinct summary. */
  summary: string;
  /** For status and the Event: the summary and details that may change from pass to pass (log lines). */
  message: string;
  /** Nothing will change without someone acting (an image, an account, the spec): the JobManager is ERROR. */
  fatal: boolean;
}

export type Role = "JobManager" | "TaskManager";
type Workload = V1Deployment | V1StatefulSet;

/** A container's log before its last restart, read for a crash loop. */
export interface PreviousLog {
  pod: string;
  container: string;
  text: string;
}

/** What Kubernetes says besides the workload: its pods and, when asked for, events and a previous log. */
export interface Evidence {
  pods: V1Pod[];
  /** FailedCreate events of the workload (a StatefulSet has no condition that carries them). */
  events?: CoreV1Event[];
  log?: PreviousLog;
}

const IMAGE = new Set([
  "ImagePullBackOff",
  "ErrImagePull",
  "ErrImageNeverPull",
  "InvalidImageName",
]);
const CANNOT_START = new Set([
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);
const CRASH_LOOP = "CrashLoopBackOff";

/** Lines read from a crashed container's previous log, and the bytes they may take at most. */
export const LOG_TAIL_LINES = 40;
export const LOG_LIMIT_BYTES = 16 * 1024;
/** Log lines kept in a message, and their total length. */
const LOG_LINES_KEPT = 5;
const LOG_CHARS_KEPT = 800;

const isStatefulSet = (w: Workload) => (w as { kind?: string }).kind === "StatefulSet";
const desired = (w: Workload) => w.spec?.replicas ?? 1;
/** Every replica ready; a workload scaled to zero (a cluster being stopped) is not a ready JobManager. */
const allReady = (w: Workload) => (w.status?.readyReplicas ?? 0) >= Math.max(1, desired(w));

function containerStatuses(pod: V1Pod): V1ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

/** The first container that waits for a reason that will not pass by itself. */
function badContainer(pods: V1Pod[]): { pod: V1Pod; cs: V1ContainerStatus } | undefined {
  for (const pod of pods)
    for (const cs of containerStatuses(pod)) {
      const reason = cs.state?.waiting?.reason ?? "";
      if (IMAGE.has(reason) || CANNOT_START.has(reason) || reason === CRASH_LOOP)
        return { pod, cs };
    }
  return undefined;
}

/**
 * What keeps a pod from running, as a category that stays the same while the cause lasts (an image pull
 * alternates between ErrImagePull and ImagePullBackOff): for watches, to tell news from repetition.
 */
export function podBlockedBy(pod: V1Pod): "" | "image" | "start" | "crash" | "unschedulable" {
  const reason = badContainer([pod])?.cs.state?.waiting?.reason ?? "";
  if (IMAGE.has(reason)) return "image";
  if (CANNOT_START.has(reason)) return "start";
  if (reason === CRASH_LOOP) return "crash";
  const unscheduled = (pod.status?.conditions ?? []).some(
    c => c.type === "PodScheduled" && c.status === "False",
  );
  return unscheduled ? "unschedulable" : "";
}

const replicaFailure = (w: Workload | undefined) =>
  (w?.status?.conditions ?? []).find(c => c.type === "ReplicaFailure" && c.status === "True");

/** What to read beyond the pods: only what the explanation will use. */
export function whatToRead(
  workload: Workload | undefined,
  pods: V1Pod[],
): { events: boolean; log?: { pod: string; container: string } } {
  const bad = badContainer(pods);
  if (bad)
    return bad.cs.state?.waiting?.reason === CRASH_LOOP
      ? { events: false, log: { pod: bad.pod.metadata!.name!, container: bad.cs.name } }
      : { events: false };
  return {
    events:
      !!workload &&
      isStatefulSet(workload) &&
      !replicaFailure(workload) &&
      pods.length < desired(workload),
  };
}

const timeOf = (e: CoreV1Event) =>
  String(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? "");

/** Why pods are missing: a Deployment's ReplicaFailure condition, else the newest FailedCreate event. */
function failedCreate(workload: Workload | undefined, events: CoreV1Event[] = []) {
  const condition = replicaFailure(workload);
  if (condition) return condition.message ?? condition.reason;
  return [...events].sort((a, b) => timeOf(a).localeCompare(timeOf(b))).at(-1)?.message;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\s+/;
const STACK_FRAME = /^(at [\w$.<>/]+\(|\.\.\. \d+ more$)/;

/**
 * The last few lines of a log that say something: stack frames and timestamps dropped, whitespace collapsed,
 * joined with " | ". Undefined for an empty log.
 */
export function lastLogLines(text: string): string | undefined {
  const lines = text
    .split(/\r?\n/)
    .map(l => l.replace(TIMESTAMP, "").replace(/\s+/g, " ").trim())
    .filter(l => l && !STACK_FRAME.test(l))
    .map(l => (l.length > 240 ? `${l.slice(0, 237)}...` : l));
  const kept: string[] = [];
  let chars = 0;
  for (const line of lines.reverse()) {
    if (kept.length === LOG_LINES_KEPT || chars + line.length > LOG_CHARS_KEPT) break;
    kept.unshift(line);
    chars += line.length + 3;
  }
  return kept.length ? kept.join(" | ") : undefined;
}

function containerStuck(
  role: Role,
  pod: V1Pod,
  cs: V1ContainerStatus,
  log: PreviousLog | undefined,
): Stuck {
  const waiting = cs.state!.waiting!;
  const reason = waiting.reason!;
  const where = `${role} container ${cs.name}`;
  const podName = pod.metadata?.name;
  const said = waiting.message ? `: ${waiting.message}` : "";
  if (IMAGE.has(reason)) {
    const summary = `${where} cannot pull its image${cs.image ? ` "${cs.image}"` : ""}`;
    return {
      reason: "ImagePullBackOff",
      summary,
      message: `${summary} (pod ${podName}): ${reason}${said}`,
      fatal: true,
    };
  }
  if (CANNOT_START.has(reason)) {
    const summary = `${where} cannot start: ${reason}${said}`;
    return { reason, summary, message: `${summary} (pod ${podName})`, fatal: true };
  }
  const last = cs.lastState?.terminated;
  const exit = last
    ? ` (exit code ${last.exitCode}${last.reason && last.reason !== "Error" ? `, ${last.reason}` : ""})`
    : "";
  const summary = `${where} keeps crashing${exit}`;
  const ours = log && log.pod === podName && log.container === cs.name;
  const lines = ours ? lastLogLines(log.text) : undefined;
  const detail = lines
    ? `; last log lines: ${lines}`
    : last?.message
      ? `; ${last.message.replace(/\s+/g, " ").trim()}`
      : "";
  return {
    reason: CRASH_LOOP,
    summary,
    message: `${summary} (pod ${podName})${detail}`,
    fatal: true,
  };
}

/**
 * Why a workload's pods do not run, from what Kubernetes reports; undefined when nothing is wrong but time
 * (pods being created, started, probed). Pods are judged first: they are what exists.
 */
export function whyStuck(
  role: Role,
  workload: Workload | undefined,
  evidence: Evidence,
): Stuck | undefined {
  const bad = badContainer(evidence.pods);
  if (bad) return containerStuck(role, bad.pod, bad.cs, evidence.log);
  const failed = failedCreate(workload, evidence.events);
  if (failed) {
    const summary = `the ${role}'s pods cannot be created: ${failed}`;
    return { reason: "FailedCreate", summary, message: summary, fatal: true };
  }
  for (const pod of evidence.pods) {
    const c = (pod.status?.conditions ?? []).find(
      c => c.type === "PodScheduled" && c.status === "False",
    );
    if (!c) continue;
    const summary = `the ${role} pod cannot be scheduled: ${c.reason ?? "Unschedulable"}${c.message ? `: ${c.message}` : ""}`;
    return {
      reason: "Unschedulable",
      summary,
      message: `${summary} (pod ${pod.metadata?.name})`,
      fatal: false,
    };
  }
  return undefined;
}

export type JobManagerState = "READY" | "DEPLOYED_NOT_READY" | "DEPLOYING" | "MISSING" | "ERROR";

export interface JobManagerObservation {
  state: JobManagerState;
  /** Why it is not ready. */
  message?: string;
  stuck?: Stuck;
}

/** JobManager deployment status from its workload, pods and what else was read, as the reference reports it. */
export function observeJobManager(
  workload: Workload | undefined,
  pods: V1Pod[],
  more: Omit<Evidence, "pods"> = {},
): JobManagerObservation {
  if (!workload) return { state: "MISSING", message: "the JobManager workload does not exist" };
  const stuck = whyStuck("JobManager", workload, { pods, ...more });
  if (stuck?.fatal) return { state: "ERROR", message: stuck.message, stuck };
  if ((workload.status?.readyReplicas ?? 0) >= 1) return { state: "READY" };
  if (stuck) return { state: "DEPLOYING", message: stuck.message, stuck };
  if (pods.length === 0)
    return { state: "DEPLOYING", message: "waiting for the JobManager pod to be created" };
  return {
    state: "DEPLOYING",
    message: `waiting for JobManager pod ${pods[0].metadata?.name} to become ready (phase ${pods[0].status?.phase ?? "unknown"})`,
  };
}

/** Events and the previous log, when the explanation needs them; a refused read only leaves them out. */
async function moreEvidence(
  cluster: Cluster,
  workload: Workload | undefined,
  pods: V1Pod[],
): Promise<Omit<Evidence, "pods">> {
  const need = whatToRead(workload, pods);
  const log = resourceLog("FlinkDeployment", cluster.namespace, cluster.name);
  const unread = (what: string) => (e: unknown) => {
    log.warn(`could not read ${what}`, { error: errorText(e) });
    return undefined;
  };
  const [events, text] = await Promise.all([
    need.events && workload?.metadata?.uid
      ? kube
          .listEventsAbout(cluster.namespace, workload.metadata.uid, "FailedCreate")
          .catch(unread("the workload's events"))
      : undefined,
    need.log
      ? kube
          .previousLog(
            cluster.namespace,
            need.log.pod,
            need.log.container,
            LOG_TAIL_LINES,
            LOG_LIMIT_BYTES,
          )
          .catch(unread(`the previous log of ${need.log.pod}/${need.log.container}`))
      : undefined,
  ]);
  return {
    events,
    log: need.log && text !== undefined ? { ...need.log, text } : undefined,
  };
}

/** The JobManager's state; its pods are listed, and events and logs read, only while it is not ready. */
export async function inspectJobManager(
  cluster: Cluster,
  workload: Workload | undefined,
): Promise<JobManagerObservation> {
  if (!workload || allReady(workload)) return observeJobManager(workload, []);
  const pods = await kube.listPods(cluster.namespace, roleLabels(cluster, "jobmanager"));
  return observeJobManager(workload, pods, await moreEvidence(cluster, workload, pods));
}

/**
 * The TaskManager count (the scale subresource's) and, when `explain`, why they do not run. Standalone
 * TaskManagers are a StatefulSet, looked at closer only while it is not ready; native ones are pods the
 * JobManager creates, listed for the count anyway.
 */
export async function inspectTaskManagers(
  cluster: Cluster,
  workloads: { metadata?: { name?: string } }[],
  explain: boolean,
): Promise<{ replicas: number; stuck?: Stuck }> {
  const labels = roleLabels(cluster, "taskmanager");
  if (cluster.mode === "standalone") {
    const tm = workloads.find(w => w.metadata?.name === taskManagerName(cluster)) as
      | V1StatefulSet
      | undefined;
    const replicas = tm?.status?.replicas ?? 0;
    if (!explain || !tm || desired(tm) === 0 || allReady(tm)) return { replicas };
    const pods = await kube.listPods(cluster.namespace, labels);
    const more = await moreEvidence(cluster, tm, pods);
    return { replicas, stuck: whyStuck("TaskManager", tm, { pods, ...more }) };
  }
  const pods = await kube.listPods(cluster.namespace, labels);
  if (!explain) return { replicas: pods.length };
  const more = await moreEvidence(cluster, undefined, pods);
  return { replicas: pods.length, stuck: whyStuck("TaskManager", undefined, { pods, ...more }) };
}

const FAILING_STATES = new Set(["FAILED", "FAILING", "RESTARTING"]);

/** A failing job's deepest cause, one Event per distinct cause whatever the state it passes through. */
export function jobStuck(state: string, cause: string): Stuck {
  return {
    reason: state === "RESTARTING" ? "JobRestarting" : "JobFailed",
    summary: cause,
    message: `job ${state}: ${cause}`,
    fatal: false,
  };
}

/**
 * The job as Flink reports it and, when it fails or restarts, why (its exception history); when the REST API
 * does not answer, that is the reason. Never throws: an unreachable JobManager is a state, not an error.
 */
export async function inspectJob(
  client: FlinkRestClient,
  jobId: string,
): Promise<{ job?: ReturnType<typeof jobStatusFromOverview>; stuck?: Stuck }> {
  let job: ReturnType<typeof jobStatusFromOverview>;
  try {
    job = jobStatusFromOverview(await client.jobsOverview(), jobId);
  } catch (e) {
    const summary = "the job's state cannot be read from the JobManager's REST API";
    return {
      stuck: {
        reason: "JobManagerUnreachable",
        summary,
        message: `${summary}: ${errorText(e)}`,
        fatal: false,
      },
    };
  }
  if (!job?.state || !FAILING_STATES.has(job.state)) return { job };
  const cause = await client
    .exceptions(job.jobId ?? jobId, 5)
    .then(rootCause)
    .catch(() => undefined);
  return { job, stuck: cause ? jobStuck(job.state, cause) : undefined };
}
