import { serializeReconciledSpec } from "../../../lib/api/reconciled-spec";
import { ArtifactPolicy } from "../../../lib/validation/uris";

/** A valid application FlinkDeployment; each test breaks one thing in a copy of it. */
export function application(): any {
  return {
    apiVersion: "flink.apache.org/v1beta1",
    kind: "FlinkDeployment",
    metadata: { name: "basic-example", namespace: "default" },
    spec: {
      image: "flink:1.20",
      flinkVersion: "v1_20",
      flinkConfiguration: {
        "taskmanager.numberOfTaskSlots": "2",
        "execution.checkpointing.dir": "file:///flink-data/checkpoints",
        "execution.checkpointing.savepoint-dir": "file:///flink-data/savepoints",
      },
      serviceAccount: "flink",
      jobManager: { resource: { memory: "2048m", cpu: 1 } },
      taskManager: { resource: { memory: "2048m", cpu: 1 } },
      job: {
        jarURI: "local:///opt/flink/examples/streaming/StateMachineExample.jar",
        parallelism: 2,
        upgradeMode: "savepoint",
        state: "running",
      },
    },
  };
}

export function session(): any {
  const s = application();
  delete s.spec.job;
  s.metadata.name = "basic-session";
  return s;
}

export function sessionJob(): any {
  return {
    apiVersion: "flink.apache.org/v1beta1",
    kind: "FlinkSessionJob",
    metadata: { name: "basic-session-job", namespace: "default" },
    spec: {
      deploymentName: "basic-session",
      job: {
        jarURI: "https://repo.example.com/jobs/job.jar",
        parallelism: 4,
        upgradeMode: "stateless",
        state: "running",
      },
    },
  };
}

export const ARTIFACTS: ArtifactPolicy = {
  allowedSchemes: ["https"],
  baseDir: "/opt/flink/artifacts",
};

/** Puts a spec into status as the operator would after deploying it. */
export function deployed<T extends { spec: unknown; status?: unknown }>(
  obj: T,
  lastSpec: unknown,
): T {
  obj.status = {
    reconciliationStatus: {
      lastReconciledSpec: serializeReconciledSpec({ spec: lastSpec, generation: 1 }),
    },
  };
  return obj;
}
