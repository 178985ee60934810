import { flattenFlinkConfiguration } from "./api/flink-config";
import { FlinkDeploymentSpec } from "./api/spec";
import { canonical } from "./reconcile/changes";
import { resolveSettings } from "./settings";
import { validateFlinkDeployment } from "./validation/flinkdeployment";
import { validateFlinkSessionJob } from "./validation/flinksessionjob";
import { Issue, errorsOf, formatIssue, warningsOf } from "./validation/issues";

/** Label that ties a session job to its session cluster, so both can be listed by it. */
export const TARGET_SESSION_LABEL = "target.session";

export interface AdmissionVerdict {
  allowed: boolean;
  message: string;
  warnings: string[];
}

export function verdict(kind: string, issues: Issue[]): AdmissionVerdict {
  const errors = errorsOf(issues);
  const message = errors.length
    ? `${kind} has ${errors.length} problem${errors.length > 1 ? "s" : ""}:\n${errors.map(e => `- ${formatIssue(e)}`).join("\n")}`
    : "";
  return { allowed: errors.length === 0, message, warnings: warningsOf(issues).map(formatIssue) };
}

interface WithSpec {
  metadata?: { labels?: Record<string, string> };
  spec?: {
    flinkConfiguration?: Record<string, unknown>;
    job?: { state?: string; upgradeMode?: string };
  };
}

/**
 * What the mutating webhook changes: the reference operator's job defaults, and flinkConfiguration in the flat,
 * string-valued form Flink reads (left untouched when it cannot be flattened, for validation to report).
 */
export function applyDefaults<T extends WithSpec>(obj: T): T {
  const spec = obj.spec;
  if (!spec) return obj;
  if (spec.job) {
    spec.job.state ??= "running";
    spec.job.upgradeMode ??= "stateless";
  }
  if (spec.flinkConfiguration) {
    const { config, problems } = flattenFlinkConfiguration(spec.flinkConfiguration);
    if (problems.length === 0) spec.flinkConfiguration = config;
  }
  return obj;
}

export function applySessionJobDefaults<
  T extends WithSpec & { spec?: { deploymentName?: string } },
>(obj: T): T {
  applyDefaults(obj);
  const target = obj.spec?.deploymentName;
  if (target) {
    obj.metadata ??= {};
    obj.metadata.labels = { ...obj.metadata.labels, [TARGET_SESSION_LABEL]: target };
  }
  return obj;
}

/** What admission knows besides the object: the operator ConfigMap as last read, the object before an update. */
export interface AdmissionContext {
  /** The operator ConfigMap, flattened and unlayered; {} when there is none. */
  operatorConfig: Record<string, string>;
  /** Set when the ConfigMap has not been read yet: the verdict only knows the built-in defaults. */
  stale?: string;
  /** On an update, the object as stored before it. */
  old?: unknown;
}

const NO_OPERATOR_CONFIG: AdmissionContext = { operatorConfig: {} };

/** namespace and flinkVersion of an object not yet parsed, when they are strings. */
function whereAndWhich(obj: unknown): { namespace?: string; flinkVersion?: string } {
  const o = obj as { metadata?: { namespace?: unknown }; spec?: { flinkVersion?: unknown } };
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  return { namespace: str(o?.metadata?.namespace), flinkVersion: str(o?.spec?.flinkVersion) };
}

const specOf = (obj: unknown) => (obj as { spec?: unknown } | undefined)?.spec;

/**
 * An update that leaves the spec as it was (the finalizer's removal, labels, annotations) is admitted: the
 * spec was judged when it was written, and a later change of the operator ConfigMap or of the rules must not
 * leave a resource that can no longer be deleted.
 */
const specUnchanged = (obj: unknown, ctx: AdmissionContext) =>
  ctx.old !== undefined && canonical(specOf(ctx.old)) === canonical(specOf(obj));

const ADMITTED: AdmissionVerdict = { allowed: true, message: "", warnings: [] };

const staleWarning = (ctx: AdmissionContext): string[] =>
  ctx.stale ? [`checked against the built-in defaults only: ${ctx.stale}`] : [];

export function admitFlinkDeployment(
  obj: unknown,
  ctx: AdmissionContext = NO_OPERATOR_CONFIG,
): AdmissionVerdict {
  if (specUnchanged(obj, ctx)) return ADMITTED;
  const { defaults } = resolveSettings({
    operatorConfig: ctx.operatorConfig,
    ...whereAndWhich(obj),
  });
  const v = verdict("FlinkDeployment", validateFlinkDeployment(obj, { defaults }));
  return { ...v, warnings: [...v.warnings, ...staleWarning(ctx)] };
}

export function admitFlinkSessionJob(
  obj: unknown,
  session: { spec?: FlinkDeploymentSpec } | undefined,
  ctx: AdmissionContext = NO_OPERATOR_CONFIG,
): AdmissionVerdict {
  if (specUnchanged(obj, ctx)) return ADMITTED;
  // The session cluster's Flink version picks the defaults' version sections. The artifact policy comes
  // from the operator's configuration only: a resource must not widen it for itself.
  const { defaults, operator } = resolveSettings({
    operatorConfig: ctx.operatorConfig,
    namespace: whereAndWhich(obj).namespace,
    flinkVersion: session?.spec?.flinkVersion,
  });
  const v = verdict(
    "FlinkSessionJob",
    validateFlinkSessionJob(obj, {
      session,
      defaults,
      artifacts: {
        allowedSchemes: operator.list("user.artifacts.allowed-schemes"),
        baseDir: operator.string("user.artifacts.base.dir"),
      },
    }),
  );
  return { ...v, warnings: [...v.warnings, ...staleWarning(ctx)] };
}
