import { z } from "zod";
import { FlinkConfigurationSchema } from "./flink-config";
import {
  PersistentVolumeClaimTemplateSchema,
  PodTemplateSchema,
  ResourceRequirementsSchema,
} from "./pod";

export const FLINK_VERSIONS = [
  "v1_13",
  "v1_14",
  "v1_15",
  "v1_16",
  "v1_17",
  "v1_18",
  "v1_19",
  "v1_20",
  "v2_0",
  "v2_1",
  "v2_2",
  "v2_3",
  "v2_4",
] as const;
export const FlinkVersionSchema = z.enum(FLINK_VERSIONS);
export type FlinkVersion = z.infer<typeof FlinkVersionSchema>;

export const UpgradeModeSchema = z.enum(["stateless", "savepoint", "last-state"]);
export type UpgradeMode = z.infer<typeof UpgradeModeSchema>;
export const JobStateSchema = z.enum(["running", "suspended"]);

const nonce = z.number().int();

export const JobSpecSchema = z.strictObject({
  jarURI: z.string().optional().describe("URI of the job jar."),
  parallelism: z.number().int().optional(),
  entryClass: z.string().optional(),
  args: z.array(z.string()).optional(),
  state: JobStateSchema.default("running"),
  savepointTriggerNonce: nonce.optional(),
  initialSavepointPath: z.string().optional(),
  checkpointTriggerNonce: nonce.optional(),
  upgradeMode: UpgradeModeSchema.default("stateless"),
  allowNonRestoredState: z.boolean().optional(),
  savepointRedeployNonce: nonce.optional(),
  autoscalerResetNonce: nonce.optional(),
});
export type JobSpec = z.infer<typeof JobSpecSchema>;

/** The reference operator's own resource shape: cpu in cores, memory and ephemeral storage as size strings. */
export const ResourceSchema = z.strictObject({
  cpu: z.number().optional(),
  memory: z.string().optional(),
  ephemeralStorage: z.string().optional(),
});
export type Resource = z.infer<typeof ResourceSchema>;

const roleFields = {
  resource: ResourceSchema.optional(),
  resources: ResourceRequirementsSchema.optional().describe(
    "Kubernetes resource requirements of the main container.",
  ),
  podTemplate: PodTemplateSchema.optional(),
  volumeClaimTemplates: z
    .array(PersistentVolumeClaimTemplateSchema)
    .optional()
    .describe("Per-pod volume claims; standalone mode only (pods run in StatefulSets)."),
};

export const JobManagerSpecSchema = z.strictObject({
  ...roleFields,
  replicas: z.number().int().default(1),
});
export const TaskManagerSpecSchema = z.strictObject({
  ...roleFields,
  replicas: z
    .number()
    .int()
    .optional()
    .describe("Number of TaskManagers; takes precedence over job parallelism."),
});
export type JobManagerSpec = z.infer<typeof JobManagerSpecSchema>;
export type TaskManagerSpec = z.infer<typeof TaskManagerSpecSchema>;

export const IngressSpecSchema = z.strictObject({
  template: z
    .string()
    .optional()
    .describe("Host or host/path, with {{name}} and {{namespace}} placeholders."),
  className: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  tls: z
    .array(
      z.strictObject({ hosts: z.array(z.string()).optional(), secretName: z.string().optional() }),
    )
    .optional(),
});
export type IngressSpec = z.infer<typeof IngressSpecSchema>;

export const LOG_CONFIG_KEYS = ["log4j-console.properties", "logback-console.xml"] as const;

export const FlinkDeploymentSpecSchema = z.strictObject({
  job: JobSpecSchema.optional().describe(
    "The job of an application cluster; absent for a session cluster.",
  ),
  restartNonce: nonce.optional(),
  flinkConfiguration: FlinkConfigurationSchema.optional(),
  image: z.string().optional(),
  imagePullPolicy: z.string().optional(),
  serviceAccount: z.string().optional(),
  flinkVersion: FlinkVersionSchema.optional(),
  ingress: IngressSpecSchema.optional(),
  podTemplate: PodTemplateSchema.optional(),
  jobManager: JobManagerSpecSchema.optional(),
  taskManager: TaskManagerSpecSchema.optional(),
  logConfiguration: z.record(z.string(), z.string()).optional(),
  mode: z.enum(["native", "standalone"]).optional(),
});
export type FlinkDeploymentSpec = z.infer<typeof FlinkDeploymentSpecSchema>;

export const FlinkSessionJobSpecSchema = z.strictObject({
  deploymentName: z
    .string()
    .optional()
    .describe("Name of the session FlinkDeployment in the same namespace."),
  job: JobSpecSchema.optional(),
  restartNonce: nonce.optional(),
  flinkConfiguration: FlinkConfigurationSchema.optional(),
});
export type FlinkSessionJobSpec = z.infer<typeof FlinkSessionJobSpecSchema>;
