import { parseReconciledSpec } from "../api/reconciled-spec";
import { FlinkSessionJobSchema } from "../api/resources";
import { FlinkDeploymentSpec, FlinkSessionJobSpec } from "../api/spec";
import {
  autoscalerIssues,
  flinkKeyIssues,
  forbiddenKeyIssues,
  normalizeConfiguration,
  operatorKeyIssues,
} from "./flink-configuration";
import { DEPLOYMENT_NAME } from "./flinkdeployment";
import { Issue, error, warning } from "./issues";
import { jobIssues } from "./job";
import { parseWithIssues } from "./schema-issues";
import { ArtifactPolicy, sessionJarIssues } from "./uris";

/** Cluster-level options that a job submitted to a running session cannot change. */
const CLUSTER_KEY_PREFIXES = ["kubernetes.", "jobmanager.", "taskmanager.", "high-availability"];

export interface SessionJobValidationContext {
  /** The target session FlinkDeployment, when it exists. */
  session?: { spec?: FlinkDeploymentSpec };
  defaults?: Record<string, string>;
  artifacts: ArtifactPolicy;
}

/** Every problem of a FlinkSessionJob at once, each with its field path. */
export function validateFlinkSessionJob(obj: unknown, ctx: SessionJobValidationContext): Issue[] {
  const parsed = parseWithIssues(FlinkSessionJobSchema, obj);
  if (!parsed.data) return parsed.issues;
  const spec = parsed.data.spec;
  if (!spec) return [error("spec", "is required")];
  const issues: Issue[] = [];

  if (!spec.deploymentName)
    issues.push(
      error("spec.deploymentName", "is required: name the session FlinkDeployment to run on"),
    );
  else if (!DEPLOYMENT_NAME.test(spec.deploymentName))
    issues.push(
      error(
        "spec.deploymentName",
        `is not a valid FlinkDeployment name, got "${spec.deploymentName}"`,
      ),
    );
  const last = parseReconciledSpec<FlinkSessionJobSpec>(
    parsed.data.status?.reconciliationStatus?.lastReconciledSpec,
  )?.spec;
  if (last?.deploymentName && spec.deploymentName !== last.deploymentName) {
    issues.push(
      error(
        "spec.deploymentName",
        `cannot change from "${last.deploymentName}" once the job was submitted; create a new FlinkSessionJob`,
      ),
    );
  }

  const { config: own, issues: configIssues } = normalizeConfiguration(
    spec.flinkConfiguration,
    "spec.flinkConfiguration",
  );
  issues.push(
    ...configIssues,
    ...forbiddenKeyIssues(own, "spec.flinkConfiguration"),
    ...operatorKeyIssues(own, "spec.flinkConfiguration"),
  );
  for (const key of Object.keys(own)) {
    if (
      !key.startsWith("kubernetes.operator.") &&
      CLUSTER_KEY_PREFIXES.some(p => key.startsWith(p))
    ) {
      issues.push(
        warning(
          `spec.flinkConfiguration["${key}"]`,
          "is a cluster option; a job on a running session cluster cannot change it (set it on the session FlinkDeployment)",
        ),
      );
    }
  }

  if (!spec.job) {
    issues.push(error("spec.job", "is required"));
    return issues;
  }
  issues.push(...sessionJarIssues(spec.job.jarURI, ctx.artifacts));

  const session = ctx.session;
  if (session) {
    if (session.spec?.job)
      issues.push(
        error(
          "spec.deploymentName",
          `"${spec.deploymentName}" is an application cluster; session jobs need a session FlinkDeployment (one without spec.job)`,
        ),
      );
    const { config: sessionConfig } = normalizeConfiguration(session.spec?.flinkConfiguration, "");
    const config = { ...ctx.defaults, ...sessionConfig, ...own };
    issues.push(
      ...jobIssues(spec.job, config, undefined),
      ...autoscalerIssues(config, "spec.flinkConfiguration"),
    );
    issues.push(...flinkKeyIssues(own, session.spec?.flinkVersion, "spec.flinkConfiguration"));
  } else if (spec.job.parallelism !== undefined && spec.job.parallelism < 1) {
    issues.push(error("spec.job.parallelism", `must be at least 1, got ${spec.job.parallelism}`));
  }
  return issues;
}
