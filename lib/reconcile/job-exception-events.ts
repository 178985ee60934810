import { FlinkRestClient } from "../flink/client";
import { isTerminalState } from "../flink/schemas";
import { resourceLog } from "../log";
import {
  exceptionsToReport,
  JOB_EXCEPTION_REASON,
  jobExceptionEvent,
  markFromEvents,
  startingMark,
  type RecordedEvent,
  type ReportedMark,
} from "./job-exceptions";
import * as kube from "./kube";

/** What was reported, by resource uid; after a restart the Events themselves say (job-exceptions.ts). */
const marks = new Map<string, ReportedMark>();

/** The resource whose job is observed, and how to read the JobException Events already about it. */
export interface ExceptionEventsTarget {
  kind: "FlinkDeployment" | "FlinkSessionJob";
  uid: string;
  namespace: string;
  name: string;
  /** Read once per resource after an operator (re)start, when recent exceptions may have been reported. */
  recorded: () => Promise<RecordedEvent[]>;
}

/** A resource's Events in the apiserver. */
export function kubeTarget(
  kind: ExceptionEventsTarget["kind"],
  metadata: { uid?: string; namespace?: string; name?: string },
): ExceptionEventsTarget {
  const [uid, namespace, name] = [metadata.uid!, metadata.namespace!, metadata.name!];
  return {
    kind,
    uid,
    namespace,
    name,
    recorded: async () =>
      (await kube.listEventsAbout(namespace, uid, JOB_EXCEPTION_REASON)).map(e => ({
        annotations: e.metadata?.annotations,
        created: e.metadata?.creationTimestamp,
      })),
  };
}

export interface JobExceptionsContext {
  target: ExceptionEventsTarget;
  client: FlinkRestClient;
  jobId: string;
  /** The job's state before this pass looked: a job that had already ended has nothing new to say. */
  previousState: string | undefined;
  /** kubernetes.operator.events.exceptions.limit-per-reconciliation */
  limit: number;
  event: (
    type: "Warning",
    reason: string,
    message: string,
    annotations: Record<string, string>,
  ) => void;
  now: () => Date;
}

/**
 * Turns the job's new exceptions (Flink's exception history) into Warning `JobException` Events, at most the
 * limit per pass. Best effort: a history or Event list that cannot be read leaves it to the next pass.
 */
export async function reportJobExceptions(ctx: JobExceptionsContext): Promise<void> {
  if (ctx.limit <= 0 || (ctx.previousState && isTerminalState(ctx.previousState))) return;
  const { target } = ctx;
  const log = resourceLog(target.kind, target.namespace, target.name);
  try {
    // One more than the limit: enough to know whether some were left out.
    const { entries } = await ctx.client.exceptions(ctx.jobId, ctx.limit + 1);
    let mark = marks.get(target.uid);
    if (!mark) {
      const nowMs = ctx.now().getTime();
      const start = startingMark(entries, ctx.jobId, nowMs);
      mark =
        start === "ask-events" ? markFromEvents(ctx.jobId, nowMs, await target.recorded()) : start;
    }
    const decided = exceptionsToReport(entries, ctx.jobId, mark, ctx.limit);
    for (const entry of decided.report) {
      const { message, annotations } = jobExceptionEvent(entry);
      ctx.event("Warning", JOB_EXCEPTION_REASON, message, annotations);
    }
    if (decided.dropped > 0)
      log.warn("more new job exceptions than events.exceptions.limit-per-reconciliation", {
        jobId: ctx.jobId,
        reported: decided.report.length,
      });
    marks.set(target.uid, decided.mark);
  } catch (e) {
    log.warn("could not read the job's exceptions", { jobId: ctx.jobId, error: String(e) });
  }
}

export const forgetJobExceptions = (uid: string) => marks.delete(uid);
