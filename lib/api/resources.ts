import { z } from "zod";
import { FlinkDeploymentSpecSchema, FlinkSessionJobSpecSchema } from "./spec";
import { FlinkDeploymentStatusSchema, FlinkSessionJobStatusSchema } from "./status";

export const GROUP = "flink.apache.org";
export const VERSION = "v1beta1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Label that ties a session job to its session cluster, so both can be listed by it. */
export const TARGET_SESSION_LABEL = "target.session";

const ObjectMetaSchema = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  generation: z.number().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  deletionTimestamp: z.unknown().optional(),
  finalizers: z.array(z.string()).optional(),
});

/**
 * The Kubernetes-visible rules: they become CEL rules in the CRD so they hold while the webhook is down.
 * Each names the field it guards; the webhook reports the same rule with its own wording.
 */
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueRequired" | "FieldValueForbidden";
}

const NAME_RULE: CelRule = {
  rule: "!has(self.metadata.name) || self.metadata.name.matches('^[a-z]([-a-z0-9]{0,43}[a-z0-9])?$')",
  message:
    "metadata.name must start with a letter, hold only lowercase letters, digits and '-', end with a letter or digit, and be at most 45 characters",
  fieldPath: ".metadata.name",
};

const ROLES_RULES = ["jobManager", "taskManager"].map(
  (role): CelRule => ({
    rule: `!has(self.${role}) || !has(self.${role}.replicas) || self.${role}.replicas >= 1`,
    message: `${role}.replicas must be at least 1`,
    fieldPath: `.${role}.replicas`,
  }),
);

export const FLINK_DEPLOYMENT_SPEC_RULES: CelRule[] = [
  {
    rule: "has(self.flinkVersion)",
    message: "flinkVersion is required",
    fieldPath: ".flinkVersion",
    reason: "FieldValueRequired",
  },
  {
    rule: "has(self.serviceAccount)",
    message: "serviceAccount is required",
    fieldPath: ".serviceAccount",
    reason: "FieldValueRequired",
  },
  {
    rule: "!has(self.flinkVersion) || !(self.flinkVersion in ['v1_13', 'v1_14'])",
    message: "flinkVersion older than v1_15 is not supported",
    fieldPath: ".flinkVersion",
  },
  {
    rule: "!has(self.logConfiguration) || self.logConfiguration.all(k, k in ['log4j-console.properties', 'logback-console.xml'])",
    message: "logConfiguration keys must be log4j-console.properties or logback-console.xml",
    fieldPath: ".logConfiguration",
  },
  ...ROLES_RULES,
  {
    rule: "!has(self.ingress) || has(self.ingress.template) && self.ingress.template != ''",
    message: "ingress.template is required when ingress is set",
    fieldPath: ".ingress",
    reason: "FieldValueRequired",
  },
  {
    rule: "!has(self.imagePullPolicy) || self.imagePullPolicy in ['Always', 'IfNotPresent', 'Never']",
    message: "imagePullPolicy must be Always, IfNotPresent or Never",
    fieldPath: ".imagePullPolicy",
  },
  {
    rule: "!has(self.job) || has(self.taskManager) && has(self.taskManager.replicas) || has(self.job.parallelism) && self.job.parallelism >= 1",
    message: "job.parallelism must be at least 1 when taskManager.replicas is not set",
    fieldPath: ".job.parallelism",
  },
];

export const FLINK_SESSION_JOB_SPEC_RULES: CelRule[] = [
  {
    rule: "has(self.deploymentName)",
    message: "deploymentName is required",
    fieldPath: ".deploymentName",
    reason: "FieldValueRequired",
  },
  {
    rule: "has(self.job)",
    message: "job is required",
    fieldPath: ".job",
    reason: "FieldValueRequired",
  },
  {
    rule: "!has(self.job) || has(self.job.jarURI)",
    message: "job.jarURI is required",
    fieldPath: ".job.jarURI",
    reason: "FieldValueRequired",
  },
  {
    rule: "!has(oldSelf.deploymentName) || has(self.deploymentName) && self.deploymentName == oldSelf.deploymentName",
    message: "deploymentName cannot be changed",
    fieldPath: ".deploymentName",
  },
];

export const FlinkDeploymentSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    metadata: ObjectMetaSchema.optional(),
    spec: FlinkDeploymentSpecSchema.meta({
      "x-kubernetes-validations": FLINK_DEPLOYMENT_SPEC_RULES,
    }).optional(),
    status: FlinkDeploymentStatusSchema.optional(),
  })
  .meta({ "x-kubernetes-validations": [NAME_RULE] });

export const FlinkSessionJobSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMetaSchema.optional(),
  spec: FlinkSessionJobSpecSchema.meta({
    "x-kubernetes-validations": FLINK_SESSION_JOB_SPEC_RULES,
  }).optional(),
  status: FlinkSessionJobStatusSchema.optional(),
});

export type FlinkDeploymentObject = z.infer<typeof FlinkDeploymentSchema>;
export type FlinkSessionJobObject = z.infer<typeof FlinkSessionJobSchema>;

export interface KindInfo {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  schema: z.ZodType;
  scale: boolean;
}

export const KINDS: KindInfo[] = [
  {
    kind: "FlinkDeployment",
    plural: "flinkdeployments",
    singular: "flinkdeployment",
    shortNames: ["flinkdep"],
    schema: FlinkDeploymentSchema,
    scale: true,
  },
  {
    kind: "FlinkSessionJob",
    plural: "flinksessionjobs",
    singular: "flinksessionjob",
    shortNames: ["sessionjob"],
    schema: FlinkSessionJobSchema,
    scale: false,
  },
];
