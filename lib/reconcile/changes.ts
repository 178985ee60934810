import { flattenFlinkConfiguration } from "../api/flink-config";
import { FlinkDeploymentSpec } from "../api/spec";

/** What a spec change asks of a running cluster, weakest first. */
export type SpecChange = "none" | "ignore" | "scale" | "redeploy";

/** Keys that tune the operator itself; changing them never touches Flink. */
const OPERATOR_ONLY = (key: string) =>
  key.startsWith("kubernetes.operator.") || key.startsWith("job.autoscaler.");

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

/**
 * Classifies the change from the last reconciled spec to the new one. Standalone TaskManagers scale in place;
 * every other change to what Flink runs needs a new cluster (Flink reads its configuration once, at start).
 */
export function classifySpecChange(
  last: FlinkDeploymentSpec,
  next: FlinkDeploymentSpec,
): SpecChange {
  if (canonical(last) === canonical(next)) return "none";
  const strip = (s: FlinkDeploymentSpec, keepReplicas: boolean) => ({
    ...s,
    flinkConfiguration: flinkKeys(s),
    taskManager: keepReplicas ? s.taskManager : { ...s.taskManager, replicas: undefined },
  });
  if (canonical(strip(last, true)) === canonical(strip(next, true))) return "ignore";
  if (
    (next.mode ?? "native") === "standalone" &&
    canonical(strip(last, false)) === canonical(strip(next, false))
  )
    return "scale";
  return "redeploy";
}
