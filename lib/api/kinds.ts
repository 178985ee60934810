import { GenericKind, RegisterKind } from "kubernetes-fluent-client";
import { GROUP, VERSION } from "./resources";
import { FlinkDeploymentSpec, FlinkSessionJobSpec } from "./spec";
import { FlinkDeploymentStatus, FlinkSessionJobStatus } from "./status";

/** Kinds for the Kubernetes client and Pepr bindings; fields typed from the zod schemas. */
export class FlinkDeployment extends GenericKind {
  declare spec?: FlinkDeploymentSpec;
  declare status?: FlinkDeploymentStatus;
}

export class FlinkSessionJob extends GenericKind {
  declare spec?: FlinkSessionJobSpec;
  declare status?: FlinkSessionJobStatus;
}

RegisterKind(FlinkDeployment, {
  group: GROUP,
  version: VERSION,
  kind: "FlinkDeployment",
  plural: "flinkdeployments",
});
RegisterKind(FlinkSessionJob, {
  group: GROUP,
  version: VERSION,
  kind: "FlinkSessionJob",
  plural: "flinksessionjobs",
});
