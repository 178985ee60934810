import { flattenFlinkConfiguration } from "../api/flink-config";
import { FlinkDeploymentSpec, JobSpec } from "../api/spec";

/**
 * What a spec change asks of a running cluster, weakest first:
 * - ignore: nothing Flink runs changes (operator settings, nonces and modes read only when acting);
 * - in-place: applied to the running cluster (standalone TaskManager replicas, the ingress);
 * - redeploy: a new cluster, the job stopped the way its upgrade mode says;
 * - savepoint-redeploy: a new cluster whose job starts from `initialSavepointPath`, whatever state it had;
 * - suspend / resume: the job's desired state flips (edits while suspended are recorded only).
 */
export type SpecChange =
  | "none"
  | "ignore"
  | "in-place"
  | "redeploy"
  | "savepoint-redeploy"
  | "suspend"
  | "resume";

/** Keys that tune the operator itself; changing them never touches Flink. */
const OPERATOR_ONLY = (key: string) =>
  key.startsWith("kubernetes.operator.") || key.startsWith("job.autoscaler.");

/** Job fields read only when the operator acts (a trigger, an upgrade, a first deploy), never by a running job. */
const ACTION_ONLY_JOB_FIELDS = [
  "savepointTriggerNonce",
  "checkpointTriggerNonce",
  "upgradeMode",
  "initialSavepointPath",
  "allowNonRestoredState",
  "autoscalerResetNonce",
  "savepointRedeployNonce",
  "state",
] as const satisfies readonly (keyof JobSpec)[];

function flinkKeys(spec: FlinkDeploymentSpec): Record<string, string> {
  const { config } = flattenFlinkConfiguration(spec.flinkConfiguration ?? {});
  return Object.fromEntries(Object.entries(config).filter(([k]) => !OPERATOR_ONLY(k)));
}

/** JSON with sorted keys, so equal specs compare equal whatever order their fields were written in. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/** The spec as the running cluster sees it: what is left when `drop` is removed. */
function runtimeView(
  s: FlinkDeploymentSpec,
  drop: { replicas?: boolean; ingress?: boolean },
): unknown {
  const job = s.job ? { ...s.job } : undefined;
  if (job) for (const f of ACTION_ONLY_JOB_FIELDS) delete job[f];
  return {
    ...s,
    job,
    flinkConfiguration: flinkKeys(s),
    taskManager: drop.replicas ? { ...s.taskManager, replicas: undefined } : s.taskManager,
    ingress: drop.ingress ? undefined : s.ingress,
  };
}

const suspended = (s: FlinkDeploymentSpec) => s.job?.state === "suspended";

/**
 * Classifies the change from the last reconciled spec to the new one, as the reference operator's spec-diff
 * table does, with suspend and resume as kinds of their own. Every other change to what Flink runs needs a new
 * cluster: Flink reads its configuration once, at start.
 */
export function classifySpecChange(
  last: FlinkDeploymentSpec,
  next: FlinkDeploymentSpec,
): SpecChange {
  if (canonical(last) === canonical(next)) return "none";
  if (suspended(next)) return suspended(last) ? "ignore" : "suspend";
  const redeployNonce = (s: FlinkDeploymentSpec) => s.job?.savepointRedeployNonce;
  if (redeployNonce(next) !== undefined && redeployNonce(next) !== redeployNonce(last))
    return "savepoint-redeploy";
  if (suspended(last)) return "resume";
  const same = (drop: { replicas?: boolean; ingress?: boolean }) =>
    canonical(runtimeView(last, drop)) === canonical(runtimeView(next, drop));
  if (same({})) return "ignore";
  const standalone = (next.mode ?? "native") === "standalone";
  if (same({ replicas: standalone, ingress: true })) return "in-place";
  return "redeploy";
}
