import { isHaEnabled } from "../api/flink-config";
import { parseReconciledSpec } from "../api/reconciled-spec";
import { FlinkDeploymentObject, FlinkDeploymentSchema } from "../api/resources";
import { PodTemplate } from "../api/pod";
import { MAIN_CONTAINER } from "../builders/metadata";
import { FlinkDeploymentSpec, LOG_CONFIG_KEYS } from "../api/spec";
import {
  autoscalerIssues,
  flinkKeyIssues,
  forbiddenKeyIssues,
  normalizeConfiguration,
  operatorKeyIssues,
} from "./flink-configuration";
import { ingressIssues } from "./ingress";
import { Issue, error, warning } from "./issues";
import { jobIssues } from "./job";
import { memoryIssues } from "./memory";
import { roleResourceIssues } from "./resources";
import { parseWithIssues } from "./schema-issues";
import { applicationHeaderIssues, applicationJarIssues } from "./uris";

/** What the reference operator accepts as a FlinkDeployment name: it becomes Flink's cluster id. */
export const DEPLOYMENT_NAME = /^[a-z]([-a-z0-9]{0,43}[a-z0-9])?$/;
/** StatefulSet pods get a controller-revision-hash label "<set name>-<hash>" capped at 63 characters. */
const STANDALONE_NAME_MAX = 40;
export const CANARY_LABEL = "flink.apache.org/canary";

export interface DeploymentValidationContext {
  /** Operator-wide default Flink configuration (the operator ConfigMap), under the resource's own keys. */
  defaults?: Record<string, string>;
}

/** Every problem of a FlinkDeployment at once, each with its field path. */
export function validateFlinkDeployment(
  obj: unknown,
  ctx: DeploymentValidationContext = {},
): Issue[] {
  const parsed = parseWithIssues(FlinkDeploymentSchema, obj);
  if (!parsed.data) return parsed.issues;
  const dep = parsed.data;
  if (dep.metadata?.labels?.[CANARY_LABEL] === "true") return [];
  const spec = dep.spec;
  if (!spec) return [error("spec", "is required")];
  return [...nameIssues(dep, spec), ...specIssues(dep, spec, ctx)];
}

function nameIssues(dep: FlinkDeploymentObject, spec: FlinkDeploymentSpec): Issue[] {
  const name = dep.metadata?.name;
  if (name === undefined) return [];
  if (!DEPLOYMENT_NAME.test(name)) {
    return [
      error(
        "metadata.name",
        `must start with a lowercase letter, contain only lowercase letters, digits and '-', end with a letter or digit, and be at most 45 characters, got "${name}"`,
      ),
    ];
  }
  if (spec.mode === "standalone" && name.length > STANDALONE_NAME_MAX) {
    return [
      error(
        "metadata.name",
        `must be at most ${STANDALONE_NAME_MAX} characters in standalone mode (its StatefulSets' pod labels would exceed 63), got ${name.length}`,
      ),
    ];
  }
  return [];
}

function specIssues(
  dep: FlinkDeploymentObject,
  spec: FlinkDeploymentSpec,
  ctx: DeploymentValidationContext,
): Issue[] {
  const issues: Issue[] = [];
  const { config: own, issues: configIssues } = normalizeConfiguration(
    spec.flinkConfiguration,
    "spec.flinkConfiguration",
  );
  issues.push(...configIssues);
  const config = { ...ctx.defaults, ...own };

  if (!spec.flinkVersion) issues.push(error("spec.flinkVersion", "is required"));
  else if (spec.flinkVersion === "v1_13" || spec.flinkVersion === "v1_14") {
    issues.push(
      error("spec.flinkVersion", `${spec.flinkVersion} is not supported; use v1_15 or newer`),
    );
  }
  if (!spec.serviceAccount)
    issues.push(
      error("spec.serviceAccount", "is required: the Flink pods run as this service account"),
    );
  issues.push(...imageIssues(spec));

  issues.push(
    ...forbiddenKeyIssues(own, "spec.flinkConfiguration"),
    ...operatorKeyIssues(own, "spec.flinkConfiguration"),
  );
  issues.push(...flinkKeyIssues(own, spec.flinkVersion, "spec.flinkConfiguration"));
  issues.push(...autoscalerIssues(config, "spec.flinkConfiguration"));
  const ha = isHaEnabled(config);
  if (config["kubernetes.operator.deployment.rollback.enabled"]?.toLowerCase() === "true" && !ha) {
    issues.push(
      error(
        'spec.flinkConfiguration["kubernetes.operator.deployment.rollback.enabled"]',
        "rollback needs high availability: set high-availability.type",
      ),
    );
  }
  if (
    config["kubernetes.operator.cluster.health-check.enabled"]?.toLowerCase() === "true" &&
    config["kubernetes.operator.jm-deployment-recovery.enabled"]?.toLowerCase() === "false"
  ) {
    issues.push(
      error(
        'spec.flinkConfiguration["kubernetes.operator.cluster.health-check.enabled"]',
        "the health check needs kubernetes.operator.jm-deployment-recovery.enabled to be true",
      ),
    );
  }

  issues.push(
    ...ingressIssues(spec.ingress, dep.metadata?.name ?? "", dep.metadata?.namespace ?? "default"),
  );
  for (const key of Object.keys(spec.logConfiguration ?? {})) {
    if (!(LOG_CONFIG_KEYS as readonly string[]).includes(key)) {
      issues.push(
        error(
          `spec.logConfiguration["${key}"]`,
          `is not a log configuration file; use ${LOG_CONFIG_KEYS.join(" or ")}`,
        ),
      );
    }
  }

  if (spec.job) {
    issues.push(
      ...jobIssues(spec.job, config, spec.taskManager),
      ...applicationJarIssues(spec.job.jarURI),
      ...applicationHeaderIssues(spec.job.jarURI, own),
    );
  }
  const roleIssues = {
    jobManager: roleResourceIssues("jobManager", spec.jobManager, config),
    taskManager: roleResourceIssues("taskManager", spec.taskManager, config),
  };
  // Flink's memory model is only worth deriving from sizes that are given and readable.
  const sized = (["jobManager", "taskManager"] as const).filter(
    role => !roleIssues[role].some(i => i.severity === "error"),
  );
  issues.push(...roleIssues.jobManager, ...roleIssues.taskManager);
  issues.push(...memoryIssues(spec, config, own, sized));
  const jmReplicas = spec.jobManager?.replicas ?? 1;
  if (jmReplicas < 1)
    issues.push(error("spec.jobManager.replicas", `must be at least 1, got ${jmReplicas}`));
  else if (jmReplicas > 1 && !ha)
    issues.push(
      error(
        "spec.jobManager.replicas",
        `${jmReplicas} JobManagers need high availability: set high-availability.type to kubernetes`,
      ),
    );
  const tmReplicas = spec.taskManager?.replicas;
  if (tmReplicas !== undefined && tmReplicas < 1)
    issues.push(error("spec.taskManager.replicas", `must be at least 1, got ${tmReplicas}`));

  issues.push(...podTemplateIssues("spec.podTemplate", spec.podTemplate));
  issues.push(...podTemplateIssues("spec.jobManager.podTemplate", spec.jobManager?.podTemplate));
  issues.push(...podTemplateIssues("spec.taskManager.podTemplate", spec.taskManager?.podTemplate));
  if (spec.mode !== "standalone") {
    for (const role of ["jobManager", "taskManager"] as const) {
      if (spec[role]?.volumeClaimTemplates?.length) {
        issues.push(
          warning(
            `spec.${role}.volumeClaimTemplates`,
            "is only used in standalone mode and is ignored here",
          ),
        );
      }
    }
  }
  issues.push(...changeIssues(dep, spec));
  return issues;
}

function imageIssues(spec: FlinkDeploymentSpec): Issue[] {
  const issues: Issue[] = [];
  const policies = ["Always", "IfNotPresent", "Never"];
  if (spec.imagePullPolicy !== undefined && !policies.includes(spec.imagePullPolicy)) {
    issues.push(
      error(
        "spec.imagePullPolicy",
        `must be one of ${policies.join(", ")}, got "${spec.imagePullPolicy}"`,
      ),
    );
  }
  const tag = /:(\d+)\.(\d+)/.exec(spec.image?.split("/").pop() ?? "");
  if (tag && spec.flinkVersion) {
    const imageVersion = `v${tag[1]}_${tag[2]}`;
    if (imageVersion !== spec.flinkVersion) {
      issues.push(
        warning(
          "spec.flinkVersion",
          `is ${spec.flinkVersion} but image "${spec.image}" looks like Flink ${tag[1]}.${tag[2]}; the REST API and config keys follow flinkVersion`,
        ),
      );
    }
  }
  return issues;
}

/** A container without an image can only be the main container, which Flink finds by its name. */
export function podTemplateIssues(path: string, template: PodTemplate | undefined): Issue[] {
  const containers = template?.spec?.containers ?? [];
  return containers.flatMap((c, i) =>
    c.image === undefined && c.name !== MAIN_CONTAINER
      ? [
          error(
            `${path}.spec.containers[${i}].name`,
            `a container without an image must be the main container, named ${MAIN_CONTAINER}, got "${c.name}"`,
          ),
        ]
      : [],
  );
}

/** Changes that cannot be made to a deployed cluster, judged against the last spec the operator acted on. */
function changeIssues(dep: FlinkDeploymentObject, spec: FlinkDeploymentSpec): Issue[] {
  const last = parseReconciledSpec<FlinkDeploymentSpec>(
    dep.status?.reconciliationStatus?.lastReconciledSpec,
  )?.spec;
  if (!last) return [];
  const issues: Issue[] = [];
  if (spec.job && !last.job)
    issues.push(
      error(
        "spec.job",
        "cannot be added: a session cluster cannot become an application cluster; create a new FlinkDeployment",
      ),
    );
  if (!spec.job && last.job)
    issues.push(
      error(
        "spec.job",
        "cannot be removed: an application cluster cannot become a session cluster; create a new FlinkDeployment",
      ),
    );
  const mode = spec.mode ?? "native";
  const lastMode = last.mode ?? "native";
  if (mode !== lastMode)
    issues.push(
      error("spec.mode", `cannot change from ${lastMode} to ${mode} after the first deployment`),
    );
  if (
    spec.job &&
    last.job &&
    spec.job.upgradeMode !== "stateless" &&
    last.job.state === "suspended" &&
    last.job.upgradeMode === "last-state" &&
    last.flinkVersion !== spec.flinkVersion
  ) {
    issues.push(
      error(
        "spec.flinkVersion",
        `cannot change from ${last.flinkVersion} to ${spec.flinkVersion} while the job is suspended with last-state; resume it on ${last.flinkVersion} first, then upgrade`,
      ),
    );
  }
  if (
    spec.job?.savepointRedeployNonce !== undefined &&
    spec.job.savepointRedeployNonce !== last.job?.savepointRedeployNonce &&
    !spec.job.initialSavepointPath?.trim()
  ) {
    issues.push(
      error(
        "spec.job.initialSavepointPath",
        "is required when savepointRedeployNonce changes: it names the savepoint to redeploy from",
      ),
    );
  }
  return issues;
}
