import type {
  CheckpointType,
  FlinkRestClient,
  SavepointTriggerOptions,
  StopOptions,
} from "./client";
import {
  FlinkJobNotFoundError,
  FlinkJobTerminalError,
  FlinkOperationFailedError,
  FlinkTimeoutError,
  stripExceptionClass,
} from "./errors";
import { isTerminalState, type AsyncOperationStatus, type JobDetails } from "./schemas";

export interface PollOptions {
  /** Total time allowed from the call, default 5 minutes. */
  timeoutMs?: number;
  /** Delay between status requests, default 500 ms. */
  intervalMs?: number;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

type Completed = NonNullable<AsyncOperationStatus["operation"]>;

/**
 * Polls an asynchronous operation until it completes, fails, or the deadline passes. Works from a saved
 * trigger id, so a restarted caller resumes where the previous one stopped.
 */
async function pollOperation(
  operation: string,
  triggerId: string,
  status: () => Promise<AsyncOperationStatus>,
  failed: (cause: { class?: string; summary: string; stack: string }) => Promise<Error>,
  opts: PollOptions,
): Promise<Completed> {
  const timeoutMs = opts.timeoutMs ?? 5 * 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status();
    if (s.status.id === "COMPLETED") {
      const op = s.operation ?? {};
      const cause = op["failure-cause"] ?? op.failureCause;
      if (cause) {
        const stack = cause["stack-trace"] ?? "";
        throw await failed({
          class: cause.class,
          summary: summarizeStack(stack) || (cause.class ?? "unknown failure"),
          stack,
        });
      }
      return op;
    }
    if (Date.now() >= deadline) {
      throw new FlinkTimeoutError(
        `${operation} ${triggerId} still in progress after ${Math.round(timeoutMs / 1000)} s; poll again with the same trigger id`,
        operation,
        timeoutMs,
        triggerId,
      );
    }
    await sleep(Math.min(opts.intervalMs ?? 500, Math.max(0, deadline - Date.now())));
  }
}

/** One look at a savepoint (or stop-with-savepoint) trigger, for callers that poll across passes. */
export type SavepointOutcome =
  | { state: "pending" }
  | { state: "done"; location: string }
  | { state: "failed"; summary: string };

export function savepointOutcome(s: AsyncOperationStatus): SavepointOutcome {
  if (s.status.id !== "COMPLETED") return { state: "pending" };
  const op = s.operation ?? {};
  const cause = op["failure-cause"] ?? op.failureCause;
  if (cause)
    return {
      state: "failed",
      summary: summarizeStack(cause["stack-trace"] ?? "") || (cause.class ?? "unknown failure"),
    };
  if (!op.location) return { state: "failed", summary: "completed without a location" };
  return { state: "done", location: op.location };
}

/** The deepest cause's message: what went wrong, without the wrapping CompletionExceptions. */
function summarizeStack(stack: string): string {
  const heads = stack
    .split("\n")
    .filter(l => l && !/^\s/.test(l))
    .map(l => stripExceptionClass(l.replace(/^Caused by: /, "")));
  return heads.at(-1) ?? "";
}

/**
 * A failure that says the JobMaster is gone means one of two things: the job never existed here, or it
 * already ended. The job's own status tells which.
 */
async function jobAwareFailure(
  client: FlinkRestClient,
  operation: string,
  jobId: string,
  triggerId: string,
  cause: { class?: string; summary: string; stack: string },
): Promise<Error> {
  if (
    /FlinkJobNotFoundException|FlinkJobTerminatedWithoutCancellationException/.test(cause.stack)
  ) {
    let job: JobDetails;
    try {
      job = await client.job(jobId);
    } catch (err) {
      if (err instanceof FlinkJobNotFoundError) return new FlinkJobNotFoundError(jobId, operation);
      throw err;
    }
    if (isTerminalState(job.state)) return new FlinkJobTerminalError(jobId, job.state, operation);
  }
  return new FlinkOperationFailedError(
    `${operation} ${triggerId} failed: ${cause.summary}`,
    operation,
    triggerId,
    cause,
  );
}

export interface SavepointResult {
  triggerId: string;
  /** The savepoint's path, e.g. file:/savepoints/savepoint-3f2a1c-0123456789ab. */
  location: string;
}

/** Waits for a savepoint or stop-with-savepoint trigger; resumable from its trigger id. */
export async function pollSavepoint(
  client: FlinkRestClient,
  jobId: string,
  triggerId: string,
  opts: PollOptions = {},
): Promise<SavepointResult> {
  const op = "savepoint";
  const done = await pollOperation(
    op,
    triggerId,
    () => client.savepointStatus(jobId, triggerId),
    cause => jobAwareFailure(client, op, jobId, triggerId, cause),
    opts,
  );
  if (!done.location) {
    throw new FlinkOperationFailedError(
      `${op} ${triggerId} completed without a location`,
      op,
      triggerId,
      {
        summary: "no location",
      },
    );
  }
  return { triggerId, location: done.location };
}

/** Waits for a manual checkpoint; resumable from its trigger id. */
export async function pollCheckpoint(
  client: FlinkRestClient,
  jobId: string,
  triggerId: string,
  opts: PollOptions = {},
): Promise<{ triggerId: string; checkpointId: number }> {
  const op = "checkpoint";
  const done = await pollOperation(
    op,
    triggerId,
    () => client.checkpointStatus(jobId, triggerId),
    cause => jobAwareFailure(client, op, jobId, triggerId, cause),
    opts,
  );
  return { triggerId, checkpointId: done.checkpointId ?? -1 };
}

/** Waits for a savepoint disposal; resumable from its trigger id. */
export async function pollSavepointDisposal(
  client: FlinkRestClient,
  triggerId: string,
  opts: PollOptions = {},
): Promise<void> {
  const op = "savepoint disposal";
  await pollOperation(
    op,
    triggerId,
    () => client.savepointDisposalStatus(triggerId),
    async cause =>
      new FlinkOperationFailedError(
        `${op} ${triggerId} failed: ${cause.summary}`,
        op,
        triggerId,
        cause,
      ),
    opts,
  );
}

/** Trigger, then poll. Keep the returned trigger id (or pass your own) to resume after a restart. */
export async function savepoint(
  client: FlinkRestClient,
  jobId: string,
  opts: SavepointTriggerOptions & PollOptions = {},
): Promise<SavepointResult> {
  const triggerId = await client.triggerSavepoint(jobId, opts);
  return pollSavepoint(client, jobId, triggerId, opts);
}

export async function stopWithSavepoint(
  client: FlinkRestClient,
  jobId: string,
  opts: StopOptions & PollOptions = {},
): Promise<SavepointResult> {
  const triggerId = await client.triggerStop(jobId, opts);
  return pollSavepoint(client, jobId, triggerId, opts);
}

export async function checkpoint(
  client: FlinkRestClient,
  jobId: string,
  opts: { checkpointType?: CheckpointType; triggerId?: string } & PollOptions = {},
): Promise<{ triggerId: string; checkpointId: number }> {
  const triggerId = await client.triggerCheckpoint(jobId, opts);
  return pollCheckpoint(client, jobId, triggerId, opts);
}

export async function disposeSavepoint(
  client: FlinkRestClient,
  savepointPath: string,
  opts: { triggerId?: string } & PollOptions = {},
): Promise<void> {
  const triggerId = await client.triggerSavepointDisposal(savepointPath, opts);
  await pollSavepointDisposal(client, triggerId, opts);
}

/**
 * Waits until the job is in one of `states`. Reaching a different terminal state fails at once with
 * FlinkJobTerminalError rather than waiting out the deadline.
 */
export async function waitForJobState(
  client: FlinkRestClient,
  jobId: string,
  states: string[],
  opts: PollOptions = {},
): Promise<JobDetails> {
  const timeoutMs = opts.timeoutMs ?? 5 * 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await client.job(jobId);
    if (states.includes(job.state)) return job;
    if (isTerminalState(job.state))
      throw new FlinkJobTerminalError(jobId, job.state, `wait for ${states.join("|")}`);
    if (Date.now() >= deadline) {
      throw new FlinkTimeoutError(
        `job ${jobId} is ${job.state}, not ${states.join("|")}, after ${Math.round(timeoutMs / 1000)} s`,
        "wait for job state",
        timeoutMs,
      );
    }
    await sleep(opts.intervalMs ?? 500);
  }
}

/** Cancels and waits for CANCELED. */
export async function cancelJob(
  client: FlinkRestClient,
  jobId: string,
  opts: PollOptions = {},
): Promise<JobDetails> {
  await client.cancel(jobId);
  return waitForJobState(client, jobId, ["CANCELED"], opts);
}
