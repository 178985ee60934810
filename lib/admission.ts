import { flattenFlinkConfiguration } from "./api/flink-config";
import { FlinkDeploymentSpec } from "./api/spec";
import { OperatorSettings } from "./settings";
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

export function admitFlinkDeployment(obj: unknown, settings: OperatorSettings): AdmissionVerdict {
  return verdict("FlinkDeployment", validateFlinkDeployment(obj, { defaults: settings.raw }));
}

export function admitFlinkSessionJob(
  obj: unknown,
  session: { spec?: FlinkDeploymentSpec } | undefined,
  settings: OperatorSettings,
): AdmissionVerdict {
  return verdict(
    "FlinkSessionJob",
    validateFlinkSessionJob(obj, {
      session,
      defaults: settings.raw,
      artifacts: {
        allowedSchemes: settings.list("user.artifacts.allowed-schemes"),
        baseDir: settings.string("user.artifacts.base.dir"),
      },
    }),
  );
}
