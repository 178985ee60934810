import {
  FORBIDDEN_KEYS,
  flattenFlinkConfiguration,
  RawFlinkConfiguration,
} from "../api/flink-config";
import { OPERATOR_OPTIONS, OPERATOR_OPTION_KEYS, checkOptionValue } from "../settings";
import { checkFlinkConfiguration } from "../flink/config-check";
import { Issue, configPath, error, warning } from "./issues";
import { didYouMean } from "./suggest";

/** Flattens flinkConfiguration and reports what cannot be flattened. */
export function normalizeConfiguration(raw: RawFlinkConfiguration | undefined, base: string) {
  const { config, problems } = flattenFlinkConfiguration(raw ?? {});
  return { config, issues: problems.map(p => error(configPath(p.key, base), p.message)) };
}

export function forbiddenKeyIssues(config: Record<string, string>, base: string): Issue[] {
  return FORBIDDEN_KEYS.filter(k => k in config).map(k =>
    error(
      configPath(k, base),
      "is set by the operator from the resource's name and namespace; remove it",
    ),
  );
}

/** kubernetes.operator.* keys: unknown ones are likely typos, known ones must have the right type. */
export function operatorKeyIssues(config: Record<string, string>, base: string): Issue[] {
  const issues: Issue[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (!key.startsWith("kubernetes.operator.")) continue;
    const option = OPERATOR_OPTIONS.find(o => o.key === key);
    if (!option) {
      issues.push(
        warning(
          configPath(key, base),
          `is not an option this operator knows, so it has no effect${didYouMean(key, OPERATOR_OPTION_KEYS)}`,
        ),
      );
      continue;
    }
    const problem = checkOptionValue(option.type, value);
    if (problem) issues.push(error(configPath(key, base), problem));
  }
  return issues;
}

interface Range {
  key: string;
  min: number;
  max?: number;
  integer?: boolean;
}

const AUTOSCALER_RANGES: Range[] = [
  { key: "job.autoscaler.scale-down.max-factor", min: 0, max: 1 },
  { key: "job.autoscaler.scale-up.max-factor", min: 0 },
  { key: "job.autoscaler.target.utilization", min: 0, max: 1 },
  { key: "job.autoscaler.target.utilization.boundary", min: 0 },
  { key: "job.autoscaler.utilization.min", min: 0, max: 1 },
  { key: "job.autoscaler.utilization.max", min: 0, max: 1 },
  { key: "job.autoscaler.vertex.min-parallelism", min: 1, integer: true },
  { key: "job.autoscaler.vertex.max-parallelism", min: 1, integer: true },
];

/** The autoscaler's numeric options, checked when it is enabled, and their pairwise order. */
export function autoscalerIssues(config: Record<string, string>, base: string): Issue[] {
  if (config["job.autoscaler.enabled"]?.toLowerCase() !== "true") return [];
  const issues: Issue[] = [];
  const values: Record<string, number> = {};
  for (const r of AUTOSCALER_RANGES) {
    const raw = config[r.key];
    if (raw === undefined) continue;
    const n = Number(raw);
    const range = `[${r.min}, ${r.max ?? "∞"}${r.max === undefined ? ")" : "]"}`;
    if (raw.trim() === "" || !Number.isFinite(n) || (r.integer && !Number.isInteger(n))) {
      issues.push(
        error(
          configPath(r.key, base),
          `must be ${r.integer ? "a whole number" : "a number"} in ${range}, got "${raw}"`,
        ),
      );
    } else if (n < r.min || (r.max !== undefined && n > r.max)) {
      issues.push(error(configPath(r.key, base), `must be in ${range}, got ${raw}`));
    } else {
      values[r.key] = n;
    }
  }
  const order = (low: string, high: string) => {
    if (values[low] !== undefined && values[high] !== undefined && values[low] > values[high]) {
      issues.push(
        error(
          configPath(low, base),
          `must not be greater than ${high} (${values[low]} > ${values[high]})`,
        ),
      );
    }
  };
  order("job.autoscaler.utilization.min", "job.autoscaler.target.utilization");
  order("job.autoscaler.target.utilization", "job.autoscaler.utilization.max");
  order("job.autoscaler.vertex.min-parallelism", "job.autoscaler.vertex.max-parallelism");
  return issues;
}

/** Flink's own keys against the option catalog of the resource's Flink version: typos, deprecations, bad values. */
export function flinkKeyIssues(
  config: Record<string, string>,
  flinkVersion: string | undefined,
  base: string,
): Issue[] {
  if (!flinkVersion) return [];
  return checkFlinkConfiguration(config, flinkVersion, { pathPrefix: base }).map(i => ({
    path: i.path,
    message: i.message,
    severity: i.severity,
  }));
}
