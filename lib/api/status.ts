import { z } from "zod";

/** The states Flink reports for a job, which the status carries as jobStatus.state. */
export const JOB_STATES = [
  "INITIALIZING",
  "CREATED",
  "RUNNING",
  "FAILING",
  "FAILED",
  "CANCELLING",
  "CANCELED",
  "FINISHED",
  "RESTARTING",
  "SUSPENDED",
  "RECONCILING",
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const LIFECYCLE_STATES = [
  "CREATED",
  "SUSPENDED",
  "UPGRADING",
  "DEPLOYED",
  "STABLE",
  "ROLLING_BACK",
  "ROLLED_BACK",
  "FAILED",
  "DELETING",
  "DELETED",
] as const;
export const JM_DEPLOYMENT_STATES = [
  "READY",
  "DEPLOYED_NOT_READY",
  "DEPLOYING",
  "MISSING",
  "ERROR",
] as const;
export const RECONCILIATION_STATES = [
  "DEPLOYED",
  "UPGRADING",
  "ROLLING_BACK",
  "ROLLED_BACK",
] as const;

const TriggerTypeSchema = z.enum(["MANUAL", "PERIODIC", "UPGRADE", "UNKNOWN"]);
const SavepointFormatSchema = z.enum(["CANONICAL", "NATIVE", "UNKNOWN"]);
const CheckpointFormatSchema = z.enum(["FULL", "INCREMENTAL", "UNKNOWN"]);
const epochMillis = z.number().int();

export const SavepointSchema = z.object({
  timeStamp: epochMillis.optional(),
  location: z.string().optional(),
  triggerType: TriggerTypeSchema.optional(),
  formatType: SavepointFormatSchema.optional(),
  triggerNonce: z.number().int().optional(),
});
export type Savepoint = z.infer<typeof SavepointSchema>;

export const SavepointInfoSchema = z.object({
  lastSavepoint: SavepointSchema.optional(),
  triggerId: z.string().optional(),
  triggerTimestamp: epochMillis.optional(),
  triggerType: TriggerTypeSchema.optional(),
  formatType: SavepointFormatSchema.optional(),
  savepointHistory: z.array(SavepointSchema).optional(),
  lastPeriodicSavepointTimestamp: epochMillis.optional(),
  triggerNonce: z
    .number()
    .int()
    .optional()
    .describe(
      "The savepointTriggerNonce last acted upon (or deployed with): a different one triggers a savepoint.",
    ),
});

const CheckpointSchema = z.object({
  timeStamp: epochMillis.optional(),
  triggerType: TriggerTypeSchema.optional(),
  formatType: CheckpointFormatSchema.optional(),
  triggerNonce: z.number().int().optional(),
});

export const CheckpointInfoSchema = z.object({
  lastCheckpoint: CheckpointSchema.optional(),
  triggerId: z.string().optional(),
  triggerTimestamp: epochMillis.optional(),
  triggerType: TriggerTypeSchema.optional(),
  formatType: CheckpointFormatSchema.optional(),
  lastPeriodicCheckpointTimestamp: epochMillis.optional(),
  triggerNonce: z
    .number()
    .int()
    .optional()
    .describe(
      "The checkpointTriggerNonce last acted upon (or deployed with): a different one triggers a checkpoint.",
    ),
  latestCompletedPath: z
    .string()
    .optional()
    .describe(
      "The job's latest completed checkpoint as last observed (this operator's addition): where a session job lost with its JobManager starts again from.",
    ),
});

export const JobStatusSchema = z.object({
  jobName: z.string().optional(),
  jobId: z.string().optional(),
  state: z.enum(JOB_STATES).optional(),
  startTime: z.string().optional(),
  updateTime: z.string().optional(),
  upgradeSavepointPath: z.string().optional(),
  savepointInfo: SavepointInfoSchema.optional(),
  checkpointInfo: CheckpointInfoSchema.optional(),
});
export type JobStatus = z.infer<typeof JobStatusSchema>;

/** How a running job is stopped before its cluster goes: what keeps its state. */
export const UPGRADE_MODES = ["stateless", "savepoint", "last-state"] as const;

/**
 * A stop of the running cluster in progress (upgrade, suspend, redeploy), one step at a time. Each step
 * is written here before it runs, so an operator restarted at any point carries on from the recorded step.
 */
export const OperationSchema = z.object({
  kind: z
    .enum(["upgrade", "suspend", "redeploy", "restart", "rollback", "delete", "session-upgrade"])
    .describe(
      "redeploy: a new savepointRedeployNonce, the job starts from initialSavepointPath; restart: a FAILED job restarted (kubernetes.operator.job.restart.failed) or an unhealthy one (cluster.health-check); rollback: an upgrade that did not become stable goes back to lastStableSpec (deployment.rollback.enabled); delete: a session job's stop before its finalizer goes; session-upgrade: a session job's stop before its session cluster stops (submitted again once the session is back).",
    ),
  upgradeMode: z.enum(UPGRADE_MODES),
  step: z
    .enum(["session-jobs", "savepoint", "stop-cluster", "clear-ha", "cancel"])
    .describe(
      "session-jobs: a session cluster waits until its session jobs have stopped in their upgrade modes; savepoint: stop the job with a savepoint; stop-cluster: delete the workloads and wait for their pods; clear-ha: delete (or, for last-state, trim) Flink's HA data; cancel: cancel a session job and wait until it has ended.",
    ),
  jobId: z.string().optional().describe("The job being stopped."),
  startedAt: epochMillis,
  restorePath: z
    .string()
    .optional()
    .describe("The savepoint or checkpoint the next job starts from, once known."),
});
export type Operation = z.infer<typeof OperationSchema>;

/** What the deployed job started from, or (suspended) what the next one will start from. */
export const RestoreSchema = z.object({
  upgradeMode: z
    .enum([...UPGRADE_MODES, "initial"])
    .describe(
      "savepoint: from `path`; last-state: Flink's HA metadata, same job id; stateless: empty state; initial: job.initialSavepointPath.",
    ),
  path: z.string().optional(),
});
export type Restore = z.infer<typeof RestoreSchema>;

export const ReconciliationStatusSchema = z.object({
  reconciliationTimestamp: epochMillis.optional(),
  lastReconciledSpec: z
    .string()
    .optional()
    .describe("JSON of the last spec acted upon, written before acting."),
  lastStableSpec: z
    .string()
    .optional()
    .describe(
      "JSON of the last reconciled spec seen stable: a FlinkDeployment's JobManager ready and its job, if any, RUNNING (or FINISHED on its own), or its suspend done; a FlinkSessionJob's job RUNNING. lifecycleState is STABLE while it equals lastReconciledSpec; a rollback goes back to it.",
    ),
  state: z.enum(RECONCILIATION_STATES).optional(),
  operation: OperationSchema.optional(),
  restore: RestoreSchema.optional(),
});

export const ConditionSchema = z.object({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastTransitionTime: z.string().optional(),
  observedGeneration: z.number().int().optional(),
});
export type Condition = z.infer<typeof ConditionSchema>;

const commonStatus = {
  jobStatus: JobStatusSchema.optional(),
  error: z.string().optional(),
  observedGeneration: z.number().int().optional(),
  lifecycleState: z.enum(LIFECYCLE_STATES).optional(),
  reconciliationStatus: ReconciliationStatusSchema.optional(),
  conditions: z.array(ConditionSchema).optional(),
};

export const FlinkSessionJobStatusSchema = z.object(commonStatus);
export type FlinkSessionJobStatus = z.infer<typeof FlinkSessionJobStatusSchema>;

export const FlinkDeploymentStatusSchema = z.object({
  ...commonStatus,
  clusterInfo: z.record(z.string(), z.string()).optional(),
  jobManagerDeploymentStatus: z.enum(JM_DEPLOYMENT_STATES).optional(),
  taskManager: z
    .object({ labelSelector: z.string().optional(), replicas: z.number().int().optional() })
    .optional()
    .describe("TaskManager replicas and selector, for the scale subresource."),
});
export type FlinkDeploymentStatus = z.infer<typeof FlinkDeploymentStatusSchema>;
