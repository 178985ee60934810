import { checkpointDir, savepointDir } from "../api/flink-config";
import { JobSpec, TaskManagerSpec } from "../api/spec";
import { Issue, error } from "./issues";

const SAVEPOINT_DIR_KEYS = `execution.checkpointing.savepoint-dir (state.savepoints.dir before Flink 1.20)`;
const CHECKPOINT_DIR_KEYS = `execution.checkpointing.dir (state.checkpoints.dir before Flink 1.20)`;

/** Rules on a job that need its effective configuration: state directories and parallelism. */
export function jobIssues(
  job: JobSpec,
  config: Record<string, string>,
  tm: TaskManagerSpec | undefined,
): Issue[] {
  const issues: Issue[] = [];
  if (job.upgradeMode !== "stateless" && !checkpointDir(config)) {
    issues.push(
      error(
        "spec.job.upgradeMode",
        `${job.upgradeMode} upgrades need a checkpoint directory: set ${CHECKPOINT_DIR_KEYS} in flinkConfiguration`,
      ),
    );
  }
  if (!savepointDir(config)) {
    const needs = (path: string, what: string) =>
      issues.push(
        error(
          path,
          `${what} needs a savepoint directory: set ${SAVEPOINT_DIR_KEYS} in flinkConfiguration`,
        ),
      );
    if (job.upgradeMode === "savepoint") needs("spec.job.upgradeMode", "savepoint upgrade mode");
    if (job.savepointTriggerNonce !== undefined)
      needs("spec.job.savepointTriggerNonce", "a manual savepoint");
    if (config["kubernetes.operator.periodic.savepoint.interval"]) {
      needs(
        'spec.flinkConfiguration["kubernetes.operator.periodic.savepoint.interval"]',
        "periodic savepoints",
      );
    }
    if (config["kubernetes.operator.job.upgrade.last-state.max.allowed.checkpoint.age"]) {
      needs(
        'spec.flinkConfiguration["kubernetes.operator.job.upgrade.last-state.max.allowed.checkpoint.age"]',
        "a maximum checkpoint age (it falls back to savepoint upgrades)",
      );
    }
  }
  const tmReplicas = tm?.replicas;
  if (tmReplicas === undefined && (job.parallelism === undefined || job.parallelism < 1)) {
    issues.push(
      error(
        "spec.job.parallelism",
        job.parallelism === undefined
          ? "is required when spec.taskManager.replicas is not set"
          : `must be at least 1, got ${job.parallelism}`,
      ),
    );
  }
  return issues;
}
