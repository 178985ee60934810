import { JOB_STATES, type JobStatus } from "../api/status";
import type { JobOverview } from "../flink/schemas";

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
