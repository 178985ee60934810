import { FlinkDeploymentSpec } from "../api/spec";
import type { FlinkDeploymentStatus, Operation } from "../api/status";
import { FlinkRestClient } from "../flink/client";
import { OperatorSettings } from "../settings";
import { healthLimits, lookAtHealth } from "./health";
import * as kube from "./kube";
import { failedJobRestart, hasHaCheckpoint, restartOperation } from "./lifecycle";
import { rollbackDue, rollbackOperation } from "./rollback";
import { advanceSnapshots } from "./snapshots";

/** What a pass over a deployed, observed cluster needs to look after its job. */
export interface SuperviseContext {
  uid: string;
  namespace: string;
  name: string;
  spec: FlinkDeploymentSpec;
  /** The job's effective Flink configuration (checkpointing options for the health check). */
  flinkConfig: Record<string, string | null | undefined>;
  status: FlinkDeploymentStatus;
  settings: OperatorSettings;
  /** The ready JobManager's client, if it is ready. */
  client: FlinkRestClient | undefined;
  save: () => Promise<void>;
  event: (type: "Normal" | "Warning", reason: string, message: string) => void;
  now: () => Date;
}

/** Job states in which a job is alive but may be unhealthy. */
const ALIVE = new Set(["RUNNING", "RESTARTING", "FAILING", "CREATED", "INITIALIZING"]);

/**
 * Looks after a deployed job: snapshots that are due, then, first that applies, a rollback of an upgrade that
 * did not become stable, the restart of a FAILED job, the restart of an unhealthy one. An operation started
 * here is written to status before the next pass carries it out. Returns when to look again, if sooner.
 */
export async function superviseJob(ctx: SuperviseContext): Promise<number | undefined> {
  const { status, settings, client } = ctx;
  const now = ctx.now();
  const jobId = status.jobStatus?.jobId;
  const requeue = client ? await advanceSnapshots({ ...ctx, target: ctx.spec, client }) : undefined;
  const rollback = rollbackDue({
    spec: ctx.spec,
    status,
    enabled: settings.bool("deployment.rollback.enabled"),
    timeoutMs: settings.durationMs("deployment.readiness.timeout"),
    now,
  });
  if (rollback) {
    const ha = hasHaCheckpoint(await kube.listHaConfigMaps(ctx.namespace, ctx.name));
    await start(ctx, rollbackOperation(ctx.spec, status, ha, now), "ROLLING_BACK");
    ctx.event("Warning", "RollingBack", rollback);
    return 0;
  }
  const failed = failedJobRestart(ctx.spec, status, settings.bool("job.restart.failed"), now);
  if (failed) {
    await start(ctx, failed, "UPGRADING");
    ctx.event(
      "Warning",
      "RestartFailedJob",
      `job ${failed.jobId} FAILED; restarting it (${failed.upgradeMode})`,
    );
    return 0;
  }
  if (
    settings.bool("cluster.health-check.enabled") &&
    client &&
    jobId &&
    ALIVE.has(status.jobStatus?.state ?? "")
  ) {
    const unhealthy = await lookAtHealth(
      ctx.uid,
      client,
      jobId,
      healthLimits(settings, ctx.flinkConfig),
      now.getTime(),
    );
    const restart = unhealthy && restartOperation(ctx.spec, status, now);
    if (restart) {
      await start(ctx, restart, "UPGRADING");
      ctx.event(
        "Warning",
        "RestartUnhealthyJob",
        `${unhealthy}; restarting it (${restart.upgradeMode})`,
      );
      return 0;
    }
  }
  return requeue;
}

async function start(
  ctx: SuperviseContext,
  operation: Operation,
  state: "UPGRADING" | "ROLLING_BACK",
) {
  ctx.status.reconciliationStatus = { ...ctx.status.reconciliationStatus, operation, state };
  await ctx.save();
}
