import { chmod, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The reference's StateMachineExample as an application with checkpoints every 2 s into a host directory
 * shared by the JobManager and TaskManager pods (one node), with Kubernetes HA for last-state: the job the
 * lifecycle tests and `npm run bench -- upgrade` upgrade.
 */
export function stateMachineSpec(
  dataDir: string,
  flink: { image: string; flinkVersion: string },
  upgradeMode: string,
  parallelism = 1,
) {
  return {
    ...flink,
    serviceAccount: "flink",
    flinkConfiguration: {
      "taskmanager.numberOfTaskSlots": "2",
      "execution.checkpointing.interval": "2 s",
      "execution.checkpointing.dir": "file:///flink-data/checkpoints",
      "execution.checkpointing.savepoint-dir": "file:///flink-data/savepoints",
      // Flink 2.x's StateMachineExample keeps async state, whose operators cannot write canonical savepoints
      // ("Not supported yet"); the reference's own 2.x example asks for NATIVE too.
      "kubernetes.operator.savepoint.format.type":
        flink.flinkVersion === "v1_20" ? "CANONICAL" : "NATIVE",
      ...(upgradeMode === "last-state"
        ? {
            "high-availability.type": "kubernetes",
            "high-availability.storageDir": "file:///flink-data/ha",
          }
        : {}),
    } as Record<string, string | null>,
    jobManager: { resource: { memory: "1024m", cpu: 1 } },
    taskManager: { resource: { memory: "1024m", cpu: 0.5 } },
    podTemplate: {
      spec: {
        containers: [
          {
            name: "flink-main-container",
            volumeMounts: [{ mountPath: "/flink-data", name: "flink-data" }],
          },
        ],
        volumes: [{ name: "flink-data", hostPath: { path: dataDir, type: "Directory" } }],
      },
    },
    job: {
      jarURI: "local:///opt/flink/examples/streaming/StateMachineExample.jar",
      parallelism,
      upgradeMode,
      state: "running",
      savepointTriggerNonce: undefined as number | undefined,
    },
  };
}

/** A host directory the Flink pods (uid 9999) can write: their checkpoints and savepoints. */
export async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fpo-state-"));
  await chmod(dir, 0o777);
  return dir;
}
