import {
  FORBIDDEN_KEYS,
  flattenFlinkConfiguration,
  RawFlinkConfiguration,
} from "../api/flink-config";
import { DEFAULT_CONFIGURATION_PREFIX, OPERATOR_OPTION_KEYS, optionFindings } from "../settings";
import { checkFlinkConfiguration } from "../flink/config-check";
import { Issue, configPath, error, warning } from "./issues";
import { didYouMean } from "../suggest";

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

/**
 * kubernetes.operator.* keys of a resource: unknown ones are likely typos, known ones must have the right
 * type, and an option without effect (not implemented yet, operator-wide, or a default-configuration
 * section, which only the operator ConfigMap has) is named in a warning.
 */
export function operatorKeyIssues(config: Record<string, string>, base: string): Issue[] {
  const issues: Issue[] = [];
  for (const key of Object.keys(config)) {
    if (!key.startsWith("kubernetes.operator.") || OPERATOR_OPTION_KEYS.has(key)) continue;
    issues.push(
      warning(
        configPath(key, base),
        key.startsWith(DEFAULT_CONFIGURATION_PREFIX)
          ? "is a default-configuration section, which only the operator ConfigMap has; here it has no effect"
          : `is not an option this operator knows, so it has no effect${didYouMean(key, OPERATOR_OPTION_KEYS)}`,
      ),
    );
  }
  for (const f of optionFindings(config, "resource")) {
    const issue = f.severity === "error" ? error : warning;
    issues.push(issue(configPath(f.key, base), f.message));
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
