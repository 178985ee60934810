import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { stateDir, stateMachineSpec } from "../../scripts/sandbox/examples";
import { ensureFlinkRuntime, type FlinkInstall } from "../../scripts/sandbox/flink-runtime";
import { ready } from "../integration/k8s/reconcile-helpers";
import {
  apply,
  deleteNamespace,
  eventually,
  getJson,
  kubectl,
  kubectlStdin,
  namespaceWithFlinkAccount,
  pods,
  type Json,
} from "./helpers";
import { flinkClient, patch } from "./jobs";
import {
  removeOperatorConfig,
  runningSessionJob,
  serveJar,
  trustJarServer,
  type JarServer,
} from "./session-jobs";

process.env.KUBECONFIG = inject("kubeconfig");

/**
 * A session cluster's own upgrade with a savepoint-mode session job on it, on the real node: the job is stopped
 * with a savepoint while the old session still runs, and runs again on the new session, restored from that
 * savepoint as Flink itself reports it.
 */
describe.each([
  { flink: "1.20", image: "flink:1.20", flinkVersion: "v1_20" },
  { flink: "2.3", image: "flink:2.3", flinkVersion: "v2_3" },
])(
  "a session's upgrade takes its session job along on Flink $flink",
  ({ flink, image, flinkVersion }) => {
    const session = "session";
    const name = "stateful";
    let ns: string;
    let dataDir: string;
    let install: FlinkInstall;
    let jars: JarServer;

    const sessionJob = (): Json => ({
      apiVersion: "flink.apache.org/v1beta1",
      kind: "FlinkSessionJob",
      metadata: { name, namespace: ns },
      spec: {
        deploymentName: session,
        job: {
          jarURI: `${jars.base}/jars/examples.jar`,
          entryClass: install.release.examples.stateMachineClass,
          parallelism: 1,
          upgradeMode: "savepoint",
        },
        flinkConfiguration: {
          "kubernetes.operator.observer.progress-check.interval": "2 s",
          "kubernetes.operator.reconcile.interval": "5 s",
          "execution.checkpointing.interval": "2 s",
          // Flink 2.x's StateMachineExample keeps async state, which cannot write canonical savepoints.
          "kubernetes.operator.savepoint.format.type":
            flinkVersion === "v1_20" ? "CANONICAL" : "NATIVE",
        },
      },
    });

    beforeAll(async () => {
      install = await ensureFlinkRuntime(flink);
      ns = await namespaceWithFlinkAccount(`e2e-sup-${flinkVersion.replace("_", "-")}`);
      dataDir = await stateDir();
      jars = await serveJar(await readFile(install.stateMachineJar));
      await trustJarServer(jars, () =>
        kubectlStdin(JSON.stringify(sessionJob()), "apply", "--dry-run=server", "-f", "-"),
      );
    });
    afterAll(async () => {
      await removeOperatorConfig();
      await deleteNamespace(ns);
      await jars?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    it("stops the job with a savepoint before the session's pods go, and restores it on the new session", async () => {
      // The application example's cluster (checkpoints and savepoints on a host directory), without its job.
      const { job: _, ...spec } = stateMachineSpec(dataDir, { image, flinkVersion }, "savepoint");
      await apply({
        apiVersion: "flink.apache.org/v1beta1",
        kind: "FlinkDeployment",
        metadata: { name: session, namespace: ns },
        spec,
      });
      await ready(ns, session, 240_000);
      await apply(sessionJob());
      const before = await runningSessionJob(ns, name);
      const oldJobId = before.status.jobStatus.jobId;
      await eventually(
        "a completed checkpoint",
        async () =>
          (await (await flinkClient(ns, session)).checkpoints(oldJobId)).latest.completed?.id,
        120_000,
      );
      const [oldJm] = await pods(ns, `app=${session},component=jobmanager`);

      await patch(ns, session, { spec: { restartNonce: 1 } });
      // Until the old JobManager pod goes, look at it first and at the job's status second: once the pod is
      // terminating or gone, the status read after it must already hold the stop's savepoint.
      const savepoint: string = await eventually(
        "the old session's JobManager stopping",
        async () => {
          const pod = await kubectl(
            "get",
            "pod",
            oldJm.metadata.name,
            "-n",
            ns,
            "--ignore-not-found",
            "-o",
            "json",
          );
          const going = !pod || !!JSON.parse(pod).metadata.deletionTimestamp;
          if (!going) return undefined;
          const status = (await getJson("flinksessionjob", name, "-n", ns)).status;
          const path = status.jobStatus.upgradeSavepointPath as string | undefined;
          if (!path) throw new Error("the session's JobManager went before the job's savepoint");
          return path;
        },
        240_000,
      );
      expect(savepoint).toMatch(/savepoint-/);

      const upgraded = await ready(ns, session, 240_000);
      expect(upgraded.metadata.generation).toBe(2);
      const after = await runningSessionJob(ns, name, 300_000);
      const js = after.status.jobStatus;
      expect(js.jobId).not.toBe(oldJobId);
      expect(js.upgradeSavepointPath).toBe(savepoint);
      expect(js.savepointInfo.lastSavepoint).toMatchObject({
        location: savepoint,
        triggerType: "UPGRADE",
      });
      expect(after.status.reconciliationStatus.restore).toEqual({
        upgradeMode: "savepoint",
        path: savepoint,
      });
      const restored = await eventually(
        "Flink's restore statistics",
        async () => (await (await flinkClient(ns, session)).checkpoints(js.jobId)).latest.restored,
        60_000,
      );
      expect(restored.external_path).toBe(savepoint);
      expect(restored.is_savepoint).toBe(true);
      // Written by the old session's Flink on the shared volume.
      const dir = savepoint.replace(/^file:\/*flink-data\//, "");
      expect(await readdir(join(dataDir, dir))).toContain("_metadata");
      // The new session's pods are not the old one's.
      const [newJm] = await pods(ns, `app=${session},component=jobmanager`);
      expect(newJm.metadata.uid).not.toBe(oldJm.metadata.uid);

      const reasons = async (kind: string, object: string) =>
        (
          await getJson(
            "events",
            "-n",
            ns,
            "--field-selector",
            `involvedObject.kind=${kind},involvedObject.name=${object}`,
          )
        ).items.map((e: Json) => e.reason as string);
      expect(await reasons("FlinkSessionJob", name)).toEqual(
        expect.arrayContaining(["SessionUpgrade", "SavepointCompleted", "JobStopped"]),
      );
      const sessionReasons = await reasons("FlinkDeployment", session);
      expect(sessionReasons).toContain("SessionJobsStopped");
      expect(sessionReasons).not.toContain("SessionJobsNotStopped");
    });
  },
);
