import { parseHttpHeaders } from "./validation/http-headers";
import { parseFlinkDuration } from "./validation/units";

/**
 * The operator's own options, under the reference operator's names. They come from the operator ConfigMap
 * and can be overridden per resource in flinkConfiguration; they never reach Flink's config file.
 */
export type OptionType =
  | "duration"
  | "boolean"
  | "integer"
  | "number"
  | "string"
  | "list"
  | "http-headers"
  | "object-name";

export interface OperatorOption {
  key: string;
  type: OptionType;
  default?: string;
  description: string;
}

const opt = (
  key: string,
  type: OptionType,
  def: string | undefined,
  description: string,
): OperatorOption => ({
  key: `kubernetes.operator.${key}`,
  type,
  default: def,
  description,
});

export const OPERATOR_OPTIONS: OperatorOption[] = [
  opt("reconcile.interval", "duration", "60 s", "Resync period of a stable resource."),
  opt("reconcile.parallelism", "integer", "50", "Resources reconciled at once."),
  opt(
    "observer.progress-check.interval",
    "duration",
    "10 s",
    "Requeue period while a resource is changing.",
  ),
  opt("retry.initial.interval", "duration", "5 s", "First error backoff."),
  opt("retry.interval.multiplier", "number", "2", "Error backoff growth."),
  opt("retry.max.interval", "duration", "5 min", "Largest error backoff."),
  opt("flink.client.timeout", "duration", "10 s", "Timeout of a Flink REST call."),
  opt(
    "flink.rest.access",
    "string",
    "auto",
    "How the operator reaches a JobManager's REST API: `service` (the rest Service's DNS name), `proxy` (the apiserver's service proxy), or `auto` (service inside the cluster, proxy outside).",
  ),
  opt("flink.client.cancel.timeout", "duration", "1 min", "How long a cancel may take."),
  opt("resource.cleanup.timeout", "duration", "5 min", "How long deletion waits for clean-up."),
  opt(
    "deployment.readiness.timeout",
    "duration",
    "5 min",
    "How long a JobManager may take to become ready.",
  ),
  opt(
    "deployment.rollback.enabled",
    "boolean",
    "false",
    "Roll back to the last stable spec when an upgrade fails.",
  ),
  opt(
    "jm-deployment-recovery.enabled",
    "boolean",
    "true",
    "Recreate a JobManager deployment deleted behind the operator's back.",
  ),
  opt("cluster.health-check.enabled", "boolean", "false", "Restart unhealthy jobs."),
  opt(
    "cluster.health-check.restarts.threshold",
    "integer",
    "64",
    "Restarts that mark a job unhealthy.",
  ),
  opt("cluster.health-check.restarts.window", "duration", "2 min", "Window of the restart count."),
  opt(
    "cluster.health-check.checkpoint-progress.enabled",
    "boolean",
    "true",
    "Check checkpoint progress.",
  ),
  opt(
    "cluster.health-check.checkpoint-progress.window",
    "duration",
    undefined,
    "Window of checkpoint progress.",
  ),
  opt(
    "savepoint.trigger.grace-period",
    "duration",
    "1 min",
    "Grace before a savepoint trigger is retried.",
  ),
  opt("savepoint.format.type", "string", "CANONICAL", "Format of operator-triggered savepoints."),
  opt("savepoint.history.max.count", "integer", "10", "Savepoints kept in history."),
  opt("savepoint.history.max.age", "duration", "1 d", "Age of savepoints kept in history."),
  opt(
    "savepoint.cleanup.enabled",
    "boolean",
    "true",
    "Dispose of savepoints dropped from history.",
  ),
  opt("checkpoint.type", "string", "FULL", "Type of operator-triggered checkpoints."),
  opt(
    "periodic.savepoint.interval",
    "string",
    undefined,
    "Interval (duration or cron) of periodic savepoints.",
  ),
  opt(
    "periodic.checkpoint.interval",
    "string",
    undefined,
    "Interval (duration or cron) of periodic checkpoints.",
  ),
  opt(
    "job.upgrade.last-state-fallback.enabled",
    "boolean",
    "true",
    "Upgrade with last-state when a savepoint cannot be taken.",
  ),
  opt(
    "job.upgrade.last-state.max.allowed.checkpoint.age",
    "duration",
    undefined,
    "Oldest checkpoint a last-state upgrade may use.",
  ),
  opt(
    "job.upgrade.ignore-pending-savepoint",
    "boolean",
    "false",
    "Upgrade without waiting for a pending savepoint.",
  ),
  opt(
    "job.upgrade.inplace-scaling.enabled",
    "boolean",
    "true",
    "Rescale in place where Flink allows it.",
  ),
  opt("job.savepoint-on-deletion", "boolean", "false", "Take a savepoint before deleting a job."),
  opt(
    "job.drain-on-savepoint-deletion",
    "boolean",
    "false",
    "Drain the job when stopping it for deletion.",
  ),
  opt("job.restart.failed", "boolean", "false", "Restart jobs that reached FAILED."),
  opt(
    "session.deletion.block-on-session-jobs",
    "boolean",
    "true",
    "Delay a session cluster's deletion while it has session jobs.",
  ),
  opt(
    "user.artifacts.base.dir",
    "string",
    "/opt/flink/artifacts",
    "Where fetched jars go; local session job jars must be under it.",
  ),
  opt(
    "user.artifacts.allowed-schemes",
    "list",
    "https",
    "jarURI schemes allowed for session jobs.",
  ),
  opt(
    "user.artifacts.http.header",
    "http-headers",
    undefined,
    "Headers the operator sends when it fetches a session job's jar (Name:value,Name:value).",
  ),
  opt(
    "pod-template.merge-arrays-by-name",
    "boolean",
    "false",
    "Merge pod template lists by name, not by position.",
  ),
  opt(
    "artifact-fetcher.image",
    "string",
    "curlimages/curl:8.11.1",
    "Image of the init container that fetches remote application jars.",
  ),
  opt(
    "artifact-fetcher.http-headers.secret",
    "object-name",
    undefined,
    'Secret in the resource\'s namespace whose key "headers" holds the HTTP headers ("Name: value", one a line) that the init container fetching a remote application jar sends.',
  ),
  opt(
    "artifact-fetcher.s3.image",
    "string",
    "amazon/aws-cli:2.22.0",
    "Image of the init container that fetches s3 application jars.",
  ),
  opt(
    "jm-deployment.startup.probe.enabled",
    "boolean",
    "true",
    "Give the JobManager a startup probe on its REST API.",
  ),
  opt(
    "default-configuration.flink-version.v1_20.enabled",
    "boolean",
    undefined,
    "Reference operator compatibility.",
  ),
  opt("health.probe.enabled", "boolean", "true", "Serve the operator health probe."),
  opt(
    "exception.stacktrace.enabled",
    "boolean",
    "false",
    "Put stack traces in job exception events.",
  ),
  opt("exception.stacktrace.max.length", "integer", "2048", "Longest stack trace in an event."),
  opt("exception.label.mapper", "string", undefined, "Labels derived from exceptions."),
  opt(
    "events.exceptions.limit-per-reconciliation",
    "integer",
    "10",
    "Exception events per reconcile.",
  ),
];

export const OPERATOR_OPTION_KEYS = new Set(OPERATOR_OPTIONS.map(o => o.key));

/** A DNS-1123 subdomain: the names of Secrets and most other objects. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks a value against its option type; returns what is wrong, or undefined. */
export function checkOptionValue(type: OptionType, value: string): string | undefined {
  switch (type) {
    case "duration":
      return parseFlinkDuration(value) === undefined
        ? `must be a duration such as "30 s" or "5 min", got "${value}"`
        : undefined;
    case "boolean":
      return /^(true|false)$/i.test(value) ? undefined : `must be true or false, got "${value}"`;
    case "integer":
      return /^-?\d+$/.test(value) ? undefined : `must be a whole number, got "${value}"`;
    case "number":
      return value.trim() !== "" && Number.isFinite(Number(value))
        ? undefined
        : `must be a number, got "${value}"`;
    case "http-headers": {
      const { problems } = parseHttpHeaders(value);
      return problems.length
        ? `${problems.join("; ")} (the value is not shown: headers often hold credentials)`
        : undefined;
    }
    case "object-name":
      return value.length <= 253 && OBJECT_NAME.test(value)
        ? undefined
        : `must be a Kubernetes object name (lowercase letters, digits, '-' and '.'), got "${value}"`;
    default:
      return undefined;
  }
}

/** Effective operator settings: option defaults, then the operator ConfigMap, then the resource's own keys. */
export function operatorSettings(...layers: Array<Record<string, string> | undefined>) {
  const merged: Record<string, string> = {};
  for (const o of OPERATOR_OPTIONS) if (o.default !== undefined) merged[o.key] = o.default;
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer ?? {}))
      if (k.startsWith("kubernetes.operator.")) merged[k] = v;
  }
  const get = (key: string) => merged[`kubernetes.operator.${key}`];
  return {
    raw: merged,
    string: get,
    bool: (key: string) => get(key)?.toLowerCase() === "true",
    int: (key: string) => Number.parseInt(get(key) ?? "", 10),
    number: (key: string) => Number(get(key)),
    durationMs: (key: string) => parseFlinkDuration(get(key) ?? "") ?? NaN,
    list: (key: string) =>
      (get(key) ?? "")
        .split(/[;,]/)
        .map(s => s.trim())
        .filter(Boolean),
  };
}
export type OperatorSettings = ReturnType<typeof operatorSettings>;
