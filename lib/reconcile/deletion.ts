import { FlinkDeployment } from "../api/kinds";
import { FlinkDeploymentStatus } from "../api/status";
import { resourceLog } from "../log";
import { OperatorSettings } from "../settings";
import { savepointBeforeDeletion } from "./deletion-savepoint";
import { errorText } from "./errors";
import * as kube from "./kube";
import { QueueResult, retryDelayMs } from "./queue";
import { setCondition } from "./status";

/**
 * The least time a pass gets for its clean-up, also at or past the deadline: a clean-up that fails fast (a
 * refused call) is tried once more and reported with its own error, one that hangs does not hold the finalizer
 * for long.
 */
export const LAST_ATTEMPT_MS = 5_000;

/** When a deletion stops waiting for its clean-up: resource.cleanup.timeout after it was asked for. */
export function deletionDeadline(
  dep: { metadata?: { deletionTimestamp?: unknown } },
  settings: OperatorSettings,
): number {
  const asked = Date.parse(String(dep.metadata?.deletionTimestamp));
  return asked + settings.durationMs("resource.cleanup.timeout");
}

export class DeadlineExceeded extends Error {}

/** Rejects when `work` has not settled within `ms`; the call itself runs on, its outcome ignored. */
export function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DeadlineExceeded(`${what}: no answer within ${Math.max(0, ms)} ms`)),
      Math.max(0, ms),
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Deletion: children and HA data go, then the finalizer. A session cluster waits for its session jobs, unless
 * its namespace is going away (then nothing can be waited for) or the operator is told not to. Every call on
 * the way is bounded by the deadline (resource.cleanup.timeout after deletionTimestamp): a failure before it is
 * retried, at the deadline the finalizer is released whatever failed, and the owner references leave the
 * children to the garbage collector.
 */
export async function deleteCluster(
  dep: FlinkDeployment,
  settings: OperatorSettings,
  clock: () => Date,
): Promise<QueueResult> {
  const { namespace, name } = dep.metadata as { namespace: string; name: string };
  if (!dep.metadata?.finalizers?.includes(kube.FINALIZER)) return {};
  const log = resourceLog("FlinkDeployment", namespace, name);
  const start = clock();
  const deadline = deletionDeadline(dep, settings);
  const budget = Math.max(deadline - start.getTime(), LAST_ATTEMPT_MS);
  const step = <T>(what: string, work: () => Promise<T>) =>
    within(budget - (clock().getTime() - start.getTime()), what, work());
  try {
    const waiting = await cleanUp(dep, settings, clock, deadline, step);
    if (waiting) return waiting;
  } catch (e) {
    const now = clock().getTime();
    const elapsed = now - Date.parse(String(dep.metadata?.deletionTimestamp));
    if (now < deadline) {
      const retryIn = retryDelayMs(
        elapsed,
        deadline - now,
        settings.durationMs("retry.initial.interval"),
        settings.durationMs("retry.max.interval"),
      );
      log.warn("clean-up failed; trying again, at the latest when resource.cleanup.timeout ends", {
        error: errorText(e),
        retryInMs: retryIn,
      });
      return { requeueAfterMs: retryIn };
    }
    const message = `clean-up failed for ${Math.round(elapsed / 1000)}s (kubernetes.operator.resource.cleanup.timeout), releasing the finalizer; the garbage collector removes the children it owns: ${errorText(e)}`;
    log.warn(message);
    await within(
      LAST_ATTEMPT_MS,
      "event",
      kube.recordEvent(dep, "Warning", "CleanupFailed", message),
    ).catch(() => undefined);
  }
  await kube.setFinalizer(dep, false);
  log.info("cluster deleted");
  return {};
}

/** The clean-up itself; returns a result only when the deletion waits (session jobs, a savepoint). */
async function cleanUp(
  dep: FlinkDeployment,
  settings: OperatorSettings,
  clock: () => Date,
  deadline: number,
  step: <T>(what: string, work: () => Promise<T>) => Promise<T>,
): Promise<QueueResult | undefined> {
  const now = clock();
  const { namespace, name, uid } = dep.metadata as { namespace: string; name: string; uid: string };
  const terminating = await step("namespace lookup", () => kube.namespaceTerminating(namespace));
  const status: FlinkDeploymentStatus = structuredClone(dep.status ?? {});
  if (!dep.spec?.job && settings.bool("session.deletion.block-on-session-jobs") && !terminating) {
    const jobs = await step("session job list", () => kube.listSessionJobs(namespace, name));
    if (jobs.length) {
      const names = jobs.map(j => j.metadata?.name).join(", ");
      const message = `deletion waits for ${jobs.length} FlinkSessionJob(s) on this session cluster: ${names}; delete them, or set kubernetes.operator.session.deletion.block-on-session-jobs to false`;
      const prev = status.conditions?.find(c => c.type === "Ready");
      status.lifecycleState = "DELETING";
      status.conditions = setCondition(
        status.conditions,
        { type: "Ready", status: "False", reason: "DeletionBlocked", message },
        now,
      );
      // Waiting is by design, not a failure: status and Event only inform, and a failure to write them must not
      // turn the wait into a release at the deadline.
      if (prev?.reason !== "DeletionBlocked" || prev.message !== message) {
        const inform = (what: string, work: () => Promise<void>) =>
          step(what, work).catch(e =>
            resourceLog("FlinkDeployment", namespace, name).warn(`could not write the ${what}`, {
              error: errorText(e),
            }),
          );
        await inform("status", () => kube.patchDeploymentStatus(dep, status));
        await inform("event", () => kube.recordEvent(dep, "Warning", "DeletionBlocked", message));
      }
      return { requeueAfterMs: settings.durationMs("observer.progress-check.interval") };
    }
  }
  // In a terminating namespace no new object (an Event included) can be created: just clean up.
  if (!terminating && status.conditions?.find(c => c.type === "Ready")?.reason !== "Deleting") {
    const message = "deleting the cluster and its high-availability data";
    status.lifecycleState = "DELETING";
    status.conditions = setCondition(
      status.conditions,
      { type: "Ready", status: "False", reason: "Deleting", message },
      now,
    );
    await step("status", () => kube.patchDeploymentStatus(dep, status));
    await step("event", () => kube.recordEvent(dep, "Normal", "Deleting", message));
  }
  const savepointWait = await savepointBeforeDeletion(dep, settings, deadline, clock, step);
  if (savepointWait) return savepointWait;
  const children = await step("child list", () =>
    kube.listAllChildren(namespace, name, uid, kube.CHILD_KIND_NAMES),
  );
  for (const child of children) {
    const { name: childName, uid: childUid } = child.metadata as { name: string; uid: string };
    await step(`delete ${child.kind}/${childName}`, () =>
      kube.deleteChild(child.kind as kube.ChildKind, namespace, childName, childUid),
    );
  }
  // Flink's HA ConfigMaps carry no owner reference (so a cluster can recover from them); they are found by the
  // labels Flink gives them for this cluster id.
  const ha = await step("HA ConfigMap list", () => kube.listHaConfigMaps(namespace, name));
  for (const cm of ha) {
    const { name: cmName, uid: cmUid } = cm.metadata as { name: string; uid: string };
    await step(`delete ConfigMap/${cmName}`, () =>
      kube.deleteChild("ConfigMap", namespace, cmName, cmUid),
    );
  }
  return undefined;
}
