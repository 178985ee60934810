import { z } from "zod";
import { parseQuantity } from "./units";

/**
 * Pod templates are stored opaque in the CRD (an embedded Pod schema is what makes the reference CRD too big
 * for client-side apply); the webhook checks them against this schema instead. Every field name of the
 * Kubernetes 1.34 Pod is known, so typos are caught; the fields that matter to a Flink pod are typed.
 */
const opaque = z.unknown();

export const QuantitySchema = z
  .union([z.string(), z.number()])
  .refine(v => parseQuantity(v) !== undefined, {
    message: "must be a Kubernetes quantity such as 500m, 2Gi or 1",
  })
  .meta({ "x-kubernetes-int-or-string": true });

export const ResourceRequirementsSchema = z.strictObject({
  limits: z.record(z.string(), QuantitySchema).optional(),
  requests: z.record(z.string(), QuantitySchema).optional(),
  claims: z.array(z.object({ name: z.string(), request: z.string().optional() })).optional(),
});

const EnvVarSchema = z.strictObject({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: opaque.optional(),
});

const ContainerPortSchema = z.strictObject({
  containerPort: z.number().int().min(1).max(65535),
  hostIP: z.string().optional(),
  hostPort: z.number().int().min(1).max(65535).optional(),
  name: z.string().max(15).optional(),
  protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
});

const VolumeMountSchema = z.strictObject({
  name: z.string().min(1),
  mountPath: z.string().min(1),
  mountPropagation: z.string().optional(),
  readOnly: z.boolean().optional(),
  recursiveReadOnly: z.string().optional(),
  subPath: z.string().optional(),
  subPathExpr: z.string().optional(),
});

export const ContainerSchema = z.strictObject({
  name: z.string().min(1),
  image: z.string().optional(),
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  ports: z.array(ContainerPortSchema).optional(),
  envFrom: z.array(opaque).optional(),
  env: z.array(EnvVarSchema).optional(),
  resources: ResourceRequirementsSchema.optional(),
  resizePolicy: opaque.optional(),
  restartPolicy: z.string().optional(),
  restartPolicyRules: opaque.optional(),
  volumeMounts: z.array(VolumeMountSchema).optional(),
  volumeDevices: opaque.optional(),
  livenessProbe: opaque.optional(),
  readinessProbe: opaque.optional(),
  startupProbe: opaque.optional(),
  lifecycle: opaque.optional(),
  terminationMessagePath: z.string().optional(),
  terminationMessagePolicy: z.string().optional(),
  securityContext: opaque.optional(),
  stdin: z.boolean().optional(),
  stdinOnce: z.boolean().optional(),
  tty: z.boolean().optional(),
});

const VolumeSchema = z.looseObject({ name: z.string().min(1) });

const TolerationSchema = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(["Exists", "Equal"]).optional(),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
  tolerationSeconds: z.number().int().optional(),
});

export const PodSpecSchema = z.strictObject({
  activeDeadlineSeconds: z.number().int().optional(),
  affinity: opaque.optional(),
  automountServiceAccountToken: z.boolean().optional(),
  containers: z.array(ContainerSchema).optional(),
  dnsConfig: opaque.optional(),
  dnsPolicy: z.string().optional(),
  enableServiceLinks: z.boolean().optional(),
  ephemeralContainers: z.array(opaque).optional(),
  hostAliases: z.array(opaque).optional(),
  hostIPC: z.boolean().optional(),
  hostNetwork: z.boolean().optional(),
  hostPID: z.boolean().optional(),
  hostUsers: z.boolean().optional(),
  hostname: z.string().optional(),
  hostnameOverride: z.string().optional(),
  imagePullSecrets: z.array(z.strictObject({ name: z.string() })).optional(),
  initContainers: z.array(ContainerSchema).optional(),
  nodeName: z.string().optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  os: opaque.optional(),
  overhead: z.record(z.string(), QuantitySchema).optional(),
  preemptionPolicy: z.string().optional(),
  priority: z.number().int().optional(),
  priorityClassName: z.string().optional(),
  readinessGates: z.array(opaque).optional(),
  resourceClaims: z.array(opaque).optional(),
  resources: ResourceRequirementsSchema.optional(),
  restartPolicy: z.enum(["Always", "OnFailure", "Never"]).optional(),
  runtimeClassName: z.string().optional(),
  schedulerName: z.string().optional(),
  schedulingGates: z.array(opaque).optional(),
  securityContext: opaque.optional(),
  serviceAccount: z.string().optional(),
  serviceAccountName: z.string().optional(),
  setHostnameAsFQDN: z.boolean().optional(),
  shareProcessNamespace: z.boolean().optional(),
  subdomain: z.string().optional(),
  terminationGracePeriodSeconds: z.number().int().min(0).optional(),
  tolerations: z.array(TolerationSchema).optional(),
  topologySpreadConstraints: z.array(opaque).optional(),
  volumes: z.array(VolumeSchema).optional(),
});

export const ObjectMetaSchema = z.looseObject({
  name: z.string().optional(),
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const PodTemplateSchema = z
  .strictObject({
    apiVersion: z.literal("v1").optional(),
    kind: z.literal("Pod").optional(),
    metadata: ObjectMetaSchema.optional(),
    spec: PodSpecSchema.optional(),
  })
  .describe(
    "Pod template merged into the Flink pods; a container named flink-main-container is the main one.",
  )
  .meta({ "x-kubernetes-preserve-unknown-fields": true });

export const PersistentVolumeClaimTemplateSchema = z
  .looseObject({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    metadata: ObjectMetaSchema.extend({ name: z.string().min(1) }),
    spec: z.looseObject({
      accessModes: z.array(z.string()).optional(),
      storageClassName: z.string().optional(),
      resources: ResourceRequirementsSchema.optional(),
    }),
  })
  .meta({ "x-kubernetes-preserve-unknown-fields": true });

export type PodTemplate = z.infer<typeof PodTemplateSchema>;
export type Container = z.infer<typeof ContainerSchema>;
