import { isIP } from "node:net";
import { parseHttpHeaders } from "./api/http-headers";
import { parseFlinkDuration } from "./api/units";

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
  /** Read once for the whole operator (the work queue): only the operator ConfigMap's plain keys set it. */
  operatorWide?: boolean;
  /** A rule beyond the type; returns what is wrong, or undefined. */
  check?: (value: string) => string | undefined;
}

const PREFIX = "kubernetes.operator.";

const opt = (
  key: string,
  type: OptionType,
  def: string | undefined,
  description: string,
  extra: Pick<OperatorOption, "operatorWide" | "check"> = {},
): OperatorOption => ({ key: PREFIX + key, type, default: def, description, ...extra });

/** The reference operator's -1 means no limit. */
const parallelismRule = (v: string) =>
  Number(v) >= 1 || Number(v) === -1
    ? undefined
    : `must be at least 1, or -1 for no limit, got ${v}`;
const multiplierRule = (v: string) => (Number(v) >= 1 ? undefined : `must be at least 1, got ${v}`);

/** Each entry a host name, an IP address or a CIDR network. */
const internalHostsRule = (v: string) => {
  const bad = v
    .split(/[;,]/)
    .map(s => s.trim())
    .filter(Boolean)
    .filter(e => !HOST_ENTRY.test(e) && !isCidrOrAddress(e));
  return bad.length
    ? `must list host names, IP addresses or CIDR networks, got ${bad.map(b => `"${b}"`).join(", ")}`
    : undefined;
};
const HOST_ENTRY = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\.?$/i;
function isCidrOrAddress(entry: string): boolean {
  const [address, prefix, extra] = entry.split("/");
  const family = isIP(address);
  if (!family || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}
const pemRule = (v: string) =>
  /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(v)
    ? undefined
    : "must hold PEM certificates (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)";

export const OPERATOR_OPTIONS: OperatorOption[] = [
  opt("reconcile.interval", "duration", "60 s", "Resync period of a stable resource."),
  opt("reconcile.parallelism", "integer", "50", "Resources reconciled at once (-1: no limit).", {
    operatorWide: true,
    check: parallelismRule,
  }),
  opt("observer.progress-check.interval", "duration", "10 s", "Requeue period while changing."),
  opt("retry.initial.interval", "duration", "5 s", "First error backoff.", { operatorWide: true }),
  opt("retry.interval.multiplier", "number", "2", "Error backoff growth.", {
    operatorWide: true,
    check: multiplierRule,
  }),
  opt("retry.max.interval", "duration", "5 min", "Largest error backoff.", { operatorWide: true }),
  opt("flink.client.timeout", "duration", "10 s", "Timeout of a Flink REST call."),
  opt(
    "flink.rest.access",
    "string",
    "auto",
    "How the operator reaches a JobManager's REST API: `service` (the rest Service's DNS name), `proxy` (the apiserver's service proxy), or `auto` (service inside the cluster, proxy outside).",
  ),
  opt("flink.client.cancel.timeout", "duration", "1 min", "How long a cancel may take."),
  opt("resource.cleanup.timeout", "duration", "5 min", "How long deletion waits for clean-up."),
  opt("deployment.readiness.timeout", "duration", "5 min", "Time a JobManager has to be ready."),
  opt("deployment.rollback.enabled", "boolean", "false", "Roll back failed upgrades."),
  opt("jm-deployment-recovery.enabled", "boolean", "true", "Recreate a deleted JobManager."),
  opt("cluster.health-check.enabled", "boolean", "false", "Restart unhealthy jobs."),
  opt("cluster.health-check.restarts.threshold", "integer", "64", "Restarts that mark unhealthy."),
  opt("cluster.health-check.restarts.window", "duration", "2 min", "Window of the restart count."),
  opt("cluster.health-check.checkpoint-progress.enabled", "boolean", "true", "Check checkpoints."),
  opt(
    "cluster.health-check.checkpoint-progress.window",
    "duration",
    undefined,
    "Checkpoint window.",
  ),
  opt("savepoint.trigger.grace-period", "duration", "1 min", "Grace before a trigger is retried."),
  opt("savepoint.format.type", "string", "CANONICAL", "Format of operator-triggered savepoints."),
  opt("savepoint.history.max.count", "integer", "10", "Savepoints kept in history."),
  opt("savepoint.history.max.age", "duration", "1 d", "Age of savepoints kept in history."),
  opt("savepoint.cleanup.enabled", "boolean", "true", "Dispose of savepoints out of history."),
  opt("checkpoint.type", "string", "FULL", "Type of operator-triggered checkpoints."),
  opt("periodic.savepoint.interval", "string", undefined, "Periodic savepoints (duration, cron)."),
  opt(
    "periodic.checkpoint.interval",
    "string",
    undefined,
    "Periodic checkpoints (duration, cron).",
  ),
  opt("job.upgrade.last-state-fallback.enabled", "boolean", "true", "Fall back to last-state."),
  opt(
    "job.upgrade.last-state.max.allowed.checkpoint.age",
    "duration",
    undefined,
    "Oldest checkpoint a last-state upgrade may use.",
  ),
  opt("job.upgrade.ignore-pending-savepoint", "boolean", "false", "Ignore a pending savepoint."),
  opt("job.upgrade.inplace-scaling.enabled", "boolean", "true", "Rescale in place."),
  opt(
    "job.savepoint-on-deletion",
    "boolean",
    "false",
    "Stop a job with a savepoint when it is deleted.",
  ),
  opt(
    "job.drain-on-savepoint-deletion",
    "boolean",
    "false",
    "Drain the job (flush its event-time windows) when a deletion stops it with a savepoint.",
  ),
  opt("job.restart.failed", "boolean", "false", "Restart jobs that reached FAILED."),
  opt(
    "session.deletion.block-on-session-jobs",
    "boolean",
    "true",
    "Delay a session cluster's deletion while it has session jobs.",
  ),
  opt(
    "session.upgrade.session-jobs.timeout",
    "duration",
    "5 min",
    "How long a session cluster's upgrade waits for its session jobs to stop in their upgrade modes; then the cluster stops anyway and the jobs left are submitted again as lost jobs (this operator's addition).",
  ),
  opt("user.artifacts.base.dir", "string", "/opt/flink/artifacts", "Where fetched jars go."),
  opt("user.artifacts.allowed-schemes", "list", "https", "jarURI schemes of session jobs."),
  opt(
    "user.artifacts.allowed-internal-hosts",
    "list",
    undefined,
    "Host names, addresses and CIDR networks that may serve session job jars although they are loopback, private, link-local or otherwise internal. Empty by default; for sandboxes and tests. Read from the operator ConfigMap only.",
    { check: internalHostsRule },
  ),
  opt(
    "user.artifacts.trusted-ca",
    "string",
    undefined,
    "PEM certificates of authorities trusted, besides Node's own bundle, when the operator fetches a session job's jar over https. Read from the operator ConfigMap only.",
    { check: pemRule },
  ),
  opt(
    "user.artifacts.http.header",
    "http-headers",
    undefined,
    "Headers the operator sends when it fetches a session job's jar (Name:value,Name:value).",
  ),
  opt("pod-template.merge-arrays-by-name", "boolean", "false", "Merge template lists by name."),
  opt("artifact-fetcher.image", "string", "curlimages/curl:8.11.1", "Fetcher of http(s) jars."),
  opt(
    "artifact-fetcher.http-headers.secret",
    "object-name",
    undefined,
    'Secret in the resource\'s namespace whose key "headers" holds the HTTP headers ("Name: value", one a line) that the init container fetching a remote application jar sends.',
  ),
  opt("artifact-fetcher.s3.image", "string", "amazon/aws-cli:2.22.0", "Fetcher of s3 jars."),
  opt("jm-deployment.startup.probe.enabled", "boolean", "true", "JobManager startup probe."),
  opt("health.probe.enabled", "boolean", "true", "Serve the operator health probe."),
  opt("exception.stacktrace.enabled", "boolean", "false", "Stack traces in exception events."),
  opt("exception.stacktrace.max.length", "integer", "2048", "Longest stack trace in an event."),
  opt("exception.label.mapper", "string", undefined, "Labels derived from exceptions."),
  opt("events.exceptions.limit-per-reconciliation", "integer", "10", "Exception events per pass."),
];

/**
 * The options this operator acts on. Every other option is accepted and type-checked (configurations
 * written for the reference operator keep working) but warned about while it has no effect.
 */
export const IMPLEMENTED_OPTIONS = new Set(
  [
    "reconcile.interval",
    "reconcile.parallelism",
    "observer.progress-check.interval",
    "retry.initial.interval",
    "retry.interval.multiplier",
    "retry.max.interval",
    "flink.client.timeout",
    "flink.rest.access",
    "resource.cleanup.timeout",
    "deployment.readiness.timeout",
    "jm-deployment-recovery.enabled",
    "session.deletion.block-on-session-jobs",
    "session.upgrade.session-jobs.timeout",
    "user.artifacts.base.dir",
    "user.artifacts.allowed-schemes",
    // Read by lib/artifacts/fetch.ts for session-job jars (applications warn in lib/validation/uris.ts).
    "user.artifacts.http.header",
    "user.artifacts.allowed-internal-hosts",
    "user.artifacts.trusted-ca",
    "pod-template.merge-arrays-by-name",
    "artifact-fetcher.image",
    "artifact-fetcher.http-headers.secret",
    "artifact-fetcher.s3.image",
    "jm-deployment.startup.probe.enabled",
    "savepoint.format.type",
    "savepoint.history.max.count",
    "savepoint.history.max.age",
    "savepoint.cleanup.enabled",
    "checkpoint.type",
    "periodic.savepoint.interval",
    "periodic.checkpoint.interval",
    "job.upgrade.last-state-fallback.enabled",
    "job.savepoint-on-deletion",
    "job.drain-on-savepoint-deletion",
    "job.restart.failed",
    "deployment.rollback.enabled",
    "cluster.health-check.enabled",
    "cluster.health-check.restarts.threshold",
    "cluster.health-check.restarts.window",
    "cluster.health-check.checkpoint-progress.enabled",
    "cluster.health-check.checkpoint-progress.window",
  ].map(k => PREFIX + k),
);

export const OPERATOR_OPTION_KEYS = new Set(OPERATOR_OPTIONS.map(o => o.key));
const OPTIONS_BY_KEY = new Map(OPERATOR_OPTIONS.map(o => [o.key, o]));
export const operatorOption = (key: string) => OPTIONS_BY_KEY.get(key);

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

/** What is wrong with an operator option's value (type, then its own rule), or undefined. */
export function optionProblem(option: OperatorOption, value: string): string | undefined {
  return checkOptionValue(option.type, value) ?? option.check?.(value);
}

/**
 * Sections of the operator's default configuration, as the reference operator names them: keys under
 * flink-version.<v>. apply to resources of that Flink version (<v>+. to that version and newer), keys
 * under namespace.<ns>. to resources in that namespace.
 */
export const DEFAULT_CONFIGURATION_PREFIX = `${PREFIX}default-configuration.`;
const VERSION_SECTION = `${DEFAULT_CONFIGURATION_PREFIX}flink-version.`;
const NAMESPACE_SECTION = `${DEFAULT_CONFIGURATION_PREFIX}namespace.`;

/** What Flink needs on Java 17 (the images of 1.18 and newer run it): access to JDK internals. */
export const JAVA_17_OPTIONS_LIST = [
  "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
  "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
  "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
  ...[
    "java.lang",
    "java.net",
    "java.io",
    "java.nio",
    "sun.nio.ch",
    "java.lang.reflect",
    "java.text",
    "java.time",
    "java.util",
    "java.util.concurrent",
    "java.util.concurrent.atomic",
    "java.util.concurrent.locks",
  ].map(p => `--add-opens=java.base/${p}=ALL-UNNAMED`),
];
const JAVA_17_OPTIONS = JAVA_17_OPTIONS_LIST.join(" ");

/**
 * The operator's built-in default configuration, under the operator ConfigMap. The config file the operator
 * writes replaces the image's own, so the JVM options the image's file carried must come from here: 1.18
 * reads them from env.java.opts.all (a user's value replaces them), 1.19 and newer from
 * env.java.default-opts.all (a user's env.java.opts.all is added to them).
 */
export const BUILT_IN_DEFAULTS: Readonly<Record<string, string>> = {
  [`${VERSION_SECTION}v1_18.env.java.opts.all`]: JAVA_17_OPTIONS,
  [`${VERSION_SECTION}v1_19+.env.java.default-opts.all`]: JAVA_17_OPTIONS,
};

const VERSION_KEY = /^v(\d+)_(\d+)(\+)?\./;

function versionOf(flinkVersion: string | undefined): [number, number] | undefined {
  const m = /^v(\d+)_(\d+)$/.exec(flinkVersion ?? "");
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Copies the keys under a section prefix onto `into`, with the prefix removed. */
function applySection(from: Record<string, string>, prefix: string, into: Record<string, string>) {
  for (const [key, value] of Object.entries(from))
    if (key.startsWith(prefix)) into[key.slice(prefix.length)] = value;
}

/**
 * The default configuration of one resource, layered as the reference operator layers it: the built-in
 * defaults and the operator ConfigMap, then its namespace's section, then the sections of the Flink versions
 * it matches, "<v>+" ones from the oldest up and its exact version last. Later layers win.
 */
export function defaultConfiguration(
  operatorConfig: Record<string, string> | undefined,
  namespace: string | undefined,
  flinkVersion: string | undefined,
): Record<string, string> {
  const base = { ...BUILT_IN_DEFAULTS, ...operatorConfig };
  const config = { ...base };
  if (namespace) applySection(base, `${NAMESPACE_SECTION}${namespace}.`, config);
  const version = versionOf(flinkVersion);
  if (version) {
    const [major, minor] = version;
    const newerThan = new Map<number, string>();
    for (const key of Object.keys(base)) {
      const m = VERSION_KEY.exec(
        key.startsWith(VERSION_SECTION) ? key.slice(VERSION_SECTION.length) : "",
      );
      if (!m?.[3]) continue;
      const [kMajor, kMinor] = [Number(m[1]), Number(m[2])];
      if (kMajor < major || (kMajor === major && kMinor <= minor))
        newerThan.set(kMajor * 1000 + kMinor, `${VERSION_SECTION}v${kMajor}_${kMinor}+.`);
    }
    const ascending = [...newerThan.entries()].sort(([a], [b]) => a - b).map(([, p]) => p);
    for (const prefix of [...ascending, `${VERSION_SECTION}${flinkVersion}.`])
      applySection(base, prefix, config);
  }
  return config;
}

/** What a resource runs with, besides the keys the operator owns. */
export interface ResolvedSettings {
  /** The default configuration for the resource's namespace and Flink version (Flink and operator keys). */
  defaults: Record<string, string>;
  /** The defaults, then the resource's own flinkConfiguration. */
  config: Record<string, string>;
  /** The operator options that apply to the resource. */
  operator: OperatorSettings;
}

/**
 * The one place settings are resolved: option defaults, the built-in defaults, the operator ConfigMap (with
 * its namespace and Flink-version sections), then the resource's own flinkConfiguration. Admission, the
 * reconcile pass and the builders all call it.
 */
export function resolveSettings(input: {
  operatorConfig?: Record<string, string>;
  namespace?: string;
  flinkVersion?: string;
  resource?: Record<string, string>;
}): ResolvedSettings {
  const defaults = defaultConfiguration(input.operatorConfig, input.namespace, input.flinkVersion);
  const config = { ...defaults, ...input.resource };
  return { defaults, config, operator: operatorSettings(defaults, input.resource) };
}

/** The operator-wide options (the work queue's): defaults, then the operator ConfigMap's plain keys. */
export function operatorWideSettings(operatorConfig: Record<string, string> | undefined) {
  return operatorSettings(operatorConfig);
}

/**
 * Operator options from layers of configuration, later layers winning. A value that does not fit its option
 * is skipped (the layer below stays): admission refuses such values in a resource, and the operator
 * ConfigMap's are logged when it is read (operatorConfigProblems).
 */
export function operatorSettings(...layers: Array<Record<string, string> | undefined>) {
  const merged: Record<string, string> = {};
  for (const o of OPERATOR_OPTIONS) if (o.default !== undefined) merged[o.key] = o.default;
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer ?? {})) {
      if (!k.startsWith(PREFIX)) continue;
      const option = OPTIONS_BY_KEY.get(k);
      if (!option || optionProblem(option, v) === undefined) merged[k] = v;
    }
  }
  const get = (key: string) => merged[PREFIX + key];
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

const PERIODIC = /^kubernetes\.operator\.periodic\.(savepoint|checkpoint)\.interval$/;

/** One finding about an operator option: a wrong value, an option without effect yet, a misplaced one. */
export interface OptionFinding {
  key: string;
  severity: "error" | "warning";
  message: string;
}

/**
 * Findings about the kubernetes.operator.* keys of one configuration. `where` says whose configuration it
 * is: a resource cannot set operator-wide options, the operator ConfigMap can (in its plain keys).
 */
export function optionFindings(
  config: Record<string, string>,
  where: "resource" | "operator",
): OptionFinding[] {
  const findings: OptionFinding[] = [];
  for (const [key, value] of Object.entries(config)) {
    const option = OPTIONS_BY_KEY.get(key);
    if (!option) continue;
    const problem = optionProblem(option, value);
    if (problem) findings.push({ key, severity: "error", message: problem });
    else if (!IMPLEMENTED_OPTIONS.has(key))
      findings.push({
        key,
        severity: "warning",
        message: "is not implemented by this operator yet, so it has no effect",
      });
    else if (PERIODIC.test(key) && parseFlinkDuration(value) === undefined)
      findings.push({
        key,
        severity: "warning",
        message: `takes a duration such as "1 h" here; cron expressions are not supported yet, so "${value}" takes no periodic snapshots`,
      });
    else if (option.operatorWide && where === "resource")
      findings.push({
        key,
        severity: "warning",
        message:
          "applies to the whole operator, so only the operator ConfigMap's own keys set it; here it has no effect",
      });
  }
  return findings;
}
