import { parseFlinkDuration } from "../api/units";
import type { FlinkRestClient } from "../flink/client";
import type { OperatorSettings } from "../settings";

/**
 * The cluster health check (`kubernetes.operator.cluster.health-check.*`): a running job that restarts more
 * than `restarts.threshold` times within `restarts.window`, or completes no checkpoint within the checkpoint
 * window, is unhealthy, and its cluster is restarted the way its upgrade mode keeps state (deployment.ts). The
 * baselines are kept in memory, not in status: they change on nearly every look, and an operator restart
 * only delays a verdict by one window.
 */

export interface HealthBaseline {
  jobId: string;
  restarts: number;
  restartsSince: number;
  checkpoints: number;
  checkpointsSince: number;
}

export interface HealthLook {
  jobId: string;
  /** The job's numRestarts metric. */
  restarts?: number;
  /** Completed checkpoints; undefined when checkpointing is off. */
  checkpoints?: number;
}

export interface HealthLimits {
  restartsThreshold: number;
  restartsWindowMs: number;
  /** Undefined when the checkpoint progress is not checked. */
  checkpointWindowMs?: number;
}

/** The next baseline and, when the job is unhealthy, why. Pure. */
export function evaluateHealth(
  prev: HealthBaseline | undefined,
  look: HealthLook,
  limits: HealthLimits,
  now: number,
): { baseline: HealthBaseline; unhealthy?: string } {
  const fresh: HealthBaseline = {
    jobId: look.jobId,
    restarts: look.restarts ?? 0,
    restartsSince: now,
    checkpoints: look.checkpoints ?? 0,
    checkpointsSince: now,
  };
  if (!prev || prev.jobId !== look.jobId) return { baseline: fresh };
  const baseline = { ...prev };
  const reasons: string[] = [];
  if (look.restarts !== undefined) {
    const restarted = look.restarts - prev.restarts;
    if (restarted > limits.restartsThreshold)
      reasons.push(
        `it restarted ${restarted} times in ${Math.round((now - prev.restartsSince) / 1000)} s (kubernetes.operator.cluster.health-check.restarts.threshold ${limits.restartsThreshold})`,
      );
    if (now - prev.restartsSince > limits.restartsWindowMs) {
      baseline.restarts = look.restarts;
      baseline.restartsSince = now;
    }
  }
  if (look.checkpoints !== undefined && limits.checkpointWindowMs !== undefined) {
    if (look.checkpoints > prev.checkpoints) {
      baseline.checkpoints = look.checkpoints;
      baseline.checkpointsSince = now;
    } else if (now - prev.checkpointsSince > limits.checkpointWindowMs) {
      reasons.push(
        `it completed no checkpoint in ${Math.round((now - prev.checkpointsSince) / 1000)} s (checkpoint progress window ${Math.round(limits.checkpointWindowMs / 1000)} s)`,
      );
    }
  }
  if (reasons.length === 0) return { baseline };
  return { baseline: fresh, unhealthy: `job ${look.jobId} is unhealthy: ${reasons.join("; ")}` };
}

const DEFAULT_CHECKPOINT_TIMEOUT_MS = 10 * 60_000;

/**
 * The limits from the operator options and the job's Flink configuration. The checkpoint window is at least
 * max(interval, timeout) * (tolerable failed checkpoints + 2), as in the reference, which is also its default;
 * no window when checkpointing is off or its check is disabled.
 */
export function healthLimits(
  settings: OperatorSettings,
  flinkConfig: Record<string, string | null | undefined>,
): HealthLimits {
  const limits: HealthLimits = {
    restartsThreshold: settings.int("cluster.health-check.restarts.threshold"),
    restartsWindowMs: settings.durationMs("cluster.health-check.restarts.window"),
  };
  const interval = parseFlinkDuration(flinkConfig["execution.checkpointing.interval"] ?? "");
  if (!settings.bool("cluster.health-check.checkpoint-progress.enabled") || !interval)
    return limits;
  const timeout =
    parseFlinkDuration(flinkConfig["execution.checkpointing.timeout"] ?? "") ??
    DEFAULT_CHECKPOINT_TIMEOUT_MS;
  const tolerable = Number(
    flinkConfig["execution.checkpointing.tolerable-failed-checkpoints"] ?? 0,
  );
  const minimum = Math.max(interval, timeout) * ((Number.isFinite(tolerable) ? tolerable : 0) + 2);
  const configured = settings.durationMs("cluster.health-check.checkpoint-progress.window");
  return {
    ...limits,
    checkpointWindowMs: Number.isFinite(configured) ? Math.max(configured, minimum) : minimum,
  };
}

/** Baselines by resource uid; a pass of one resource at a time touches its own entry only. */
const baselines = new Map<string, HealthBaseline>();

/** Looks at the job's restarts and completed checkpoints; says why it is unhealthy, or undefined. */
export async function lookAtHealth(
  uid: string,
  client: FlinkRestClient,
  jobId: string,
  limits: HealthLimits,
  now: number,
): Promise<string | undefined> {
  const [metrics, checkpoints] = await Promise.all([
    client.jobMetrics(jobId, ["numRestarts"]).catch(() => ({}) as Record<string, number>),
    limits.checkpointWindowMs === undefined
      ? undefined
      : client
          .checkpoints(jobId)
          .then(c => c.counts.completed)
          .catch(() => undefined),
  ]);
  const { baseline, unhealthy } = evaluateHealth(
    baselines.get(uid),
    { jobId, restarts: metrics.numRestarts, checkpoints },
    limits,
    now,
  );
  baselines.set(uid, baseline);
  return unhealthy;
}

export const forgetHealth = (uid: string) => baselines.delete(uid);
