import type { FlinkDeploymentStatus, Operation } from "../api/status";
import { OperatorSettings } from "../settings";
import * as kube from "./kube";
import { sessionJobsWait } from "./sessionjob-lifecycle";
import { Blocked } from "./status";

/** What the session cluster's `session-jobs` step needs of its pass (operation.ts's context has it). */
export interface SessionJobsStepContext {
  namespace: string;
  name: string;
  status: FlinkDeploymentStatus;
  settings: OperatorSettings;
  save: () => Promise<void>;
  event: (type: "Normal" | "Warning", reason: string, message: string) => void;
  now: () => Date;
}

/** Looked at again this soon: the session jobs' own passes do the stopping, woken by the recorded step. */
const POLL_MS = 1000;

/**
 * A session cluster's first step before it stops: its session jobs see the step recorded (their controller is
 * woken by the session's changes) and stop in their own upgrade modes; this step waits until none of them may run,
 * at most session.upgrade.session-jobs.timeout, then moves on to stop-cluster.
 */
export async function sessionJobsStep(
  ctx: SessionJobsStepContext,
  op: Operation,
): Promise<{ done: false; waitMs: number; blocked: Blocked } | "next"> {
  const jobs = await kube.listSessionJobs(ctx.namespace, ctx.name);
  const wait = sessionJobsWait(
    jobs.map(j => ({ name: j.metadata!.name!, status: j.status })),
    op.startedAt,
    ctx.now().getTime(),
    ctx.settings.durationMs("session.upgrade.session-jobs.timeout"),
  );
  if (!wait.go)
    return {
      done: false,
      waitMs: POLL_MS,
      blocked: { reason: "WaitingForSessionJobs", message: wait.message },
    };
  ctx.status.reconciliationStatus = {
    ...ctx.status.reconciliationStatus,
    operation: { ...op, step: "stop-cluster" },
  };
  await ctx.save();
  if (wait.abandoned) ctx.event("Warning", "SessionJobsNotStopped", wait.abandoned);
  else if (jobs.length)
    ctx.event("Normal", "SessionJobsStopped", `${jobs.length} session job(s) stopped or idle`);
  return "next";
}
