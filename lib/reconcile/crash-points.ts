import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";

/**
 * Named points of the job lifecycle where the crash-safety tests kill the operator. The kill is a real SIGKILL;
 * only its timing is chosen: a test arms a point by creating a file of that name in FLINK_PEPR_CRASH_DIR, and
 * the first pass to reach it removes the file and kills its own process. Without that variable this is a no-op.
 */
export const CRASH_POINTS = [
  "savepoint-triggered",
  "savepoint-completed",
  "cluster-deleted",
  "ha-cleared",
  "cluster-created",
] as const;

/** A session job's submission: after the jar's upload, and after the run before its status write. */
export const SESSION_JOB_CRASH_POINTS = ["session-jar-uploaded", "session-job-run"] as const;

export function crashPoint(
  name: (typeof CRASH_POINTS)[number] | (typeof SESSION_JOB_CRASH_POINTS)[number],
): void {
  const dir = process.env.FLINK_PEPR_CRASH_DIR;
  if (!dir) return;
  const armed = join(dir, name);
  if (!existsSync(armed)) return;
  rmSync(armed);
  process.kill(process.pid, "SIGKILL");
}
