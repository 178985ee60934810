import { describe, expect, it } from "vitest";
import { buildClusterManifests } from "../../../lib/builders";
import { buildStandaloneCluster } from "../../../lib/builders/standalone";
import { OPTIONS, expectGolden, fixture } from "./helpers";

describe("standalone session cluster", () => {
  const deployment = fixture("standalone-session.yaml");

  it("matches its golden manifests", () => {
    expectGolden("standalone-session", buildClusterManifests(deployment, OPTIONS));
  });

  it("runs the image's jobmanager and taskmanager commands in StatefulSets", () => {
    const { jobManager, taskManager } = buildStandaloneCluster(deployment, OPTIONS);
    expect(jobManager.metadata!.name).toBe("standalone-session");
    expect(jobManager.spec!.serviceName).toBe("standalone-session");
    expect(jobManager.spec!.template.spec!.containers[0].args).toEqual(["jobmanager"]);
    expect(taskManager.metadata!.name).toBe("standalone-session-taskmanager");
    expect(taskManager.spec!.serviceName).toBe("standalone-session-taskmanager");
    expect(taskManager.spec!.replicas).toBe(3);
    expect(taskManager.spec!.template.spec!.containers[0].args).toEqual(["taskmanager"]);
    expect(taskManager.spec!.selector.matchLabels).toEqual({
      type: "flink-standalone-kubernetes",
      app: "standalone-session",
      component: "taskmanager",
    });
  });

  it("writes flink-conf.yaml for Flink 1.18 with the JobManager's Service as its address", () => {
    const data = buildStandaloneCluster(deployment, OPTIONS).configMap.data!;
    expect(Object.keys(data)).toContain("flink-conf.yaml");
    expect(data["flink-conf.yaml"]).toContain("jobmanager.rpc.address: standalone-session.flink\n");
    expect(data["flink-conf.yaml"]).not.toContain("execution.target");
  });

  it("applies Flink's role options: env, labels, tolerations, pull secrets", () => {
    const { jobManager, taskManager } = buildStandaloneCluster(deployment, OPTIONS);
    const jm = jobManager.spec!.template;
    const tm = taskManager.spec!.template;
    expect(jm.spec!.containers[0].env).toContainEqual({
      name: "ENABLE_BUILT_IN_PLUGINS",
      value: "flink-s3-fs-presto-1.18.1.jar",
    });
    expect(jm.metadata!.labels).toMatchObject({
      team: "data",
      tier: "control",
      component: "jobmanager",
    });
    expect(tm.spec!.tolerations).toEqual([
      { key: "dedicated", operator: "Equal", value: "flink", effect: "NoSchedule" },
    ]);
    expect(jm.spec!.tolerations).toBeUndefined();
    expect(tm.spec!.imagePullSecrets).toEqual([{ name: "registry-a" }, { name: "registry-b" }]);
  });
});

describe("standalone application cluster with volume claim templates", () => {
  const restore = {
    ...OPTIONS,
    restorePath: "file:///flink-data/savepoints/savepoint-9c1d2e-fedcba987654",
  };
  const deployment = fixture("standalone-application-pvc.yaml");

  it("matches its golden manifests", () => {
    expectGolden("standalone-application-pvc", buildClusterManifests(deployment, restore));
  });

  it("gives each role its claims and sizes the TaskManagers for the parallelism", () => {
    const { jobManager, taskManager } = buildStandaloneCluster(deployment, restore);
    expect(jobManager.spec!.volumeClaimTemplates!.map(c => c.metadata!.name)).toEqual(["log"]);
    expect(taskManager.spec!.volumeClaimTemplates!.map(c => c.metadata!.name)).toEqual(["log"]);
    // parallelism 5 over 2 slots each
    expect(taskManager.spec!.replicas).toBe(3);
  });

  it("starts the job with standalone-job, its id and savepoint, and its own arguments after --", () => {
    const main = buildStandaloneCluster(deployment, restore).jobManager.spec!.template.spec!
      .containers[0];
    expect(main.args).toEqual([
      "standalone-job",
      "--job-classname",
      "org.apache.flink.streaming.examples.statemachine.StateMachineExample",
      "--job-id",
      OPTIONS.jobId,
      "--fromSavepoint",
      restore.restorePath,
      "--allowNonRestoredState",
      "--",
      "--error-rate",
      "0.1",
      "--sleep",
      "10",
    ]);
  });

  it("puts the jar on the classpath as a file:// URL", () => {
    const config = buildStandaloneCluster(deployment, restore).configMap.data!["config.yaml"];
    expect(config).toContain(
      "pipeline.classpaths: file:///opt/flink/examples/streaming/StateMachineExample.jar\n",
    );
    expect(config).not.toContain("pipeline.jars");
  });

  it("keeps pod names and controller-revision-hash labels within 63 characters at the longest name", () => {
    const name = "a".repeat(40); // validation's limit for standalone names
    const { jobManager, taskManager } = buildStandaloneCluster(
      fixture("standalone-application-pvc.yaml", raw => (raw.metadata!.name = name)),
      restore,
    );
    for (const set of [jobManager, taskManager]) {
      const setName = set.metadata!.name!;
      // Kubernetes appends "-<ordinal>" for pods and "-<hash of up to 10 characters>" for revisions.
      expect(`${setName}-${set.spec!.replicas! - 1}`.length).toBeLessThanOrEqual(63);
      expect(setName.length + 1 + 10).toBeLessThanOrEqual(63);
    }
  });
});

describe("standalone application cluster with HA", () => {
  const deployment = fixture("basic-reactive.yaml");

  it("matches its golden manifests", () => {
    expectGolden("standalone-ha", buildClusterManifests(deployment, OPTIONS));
  });

  it("has each JobManager advertise its pod IP; the legacy factory-class HA setting counts as HA", () => {
    const main = buildStandaloneCluster(deployment, OPTIONS).jobManager.spec!.template.spec!
      .containers[0];
    expect(main.args!.slice(0, 3)).toEqual(["standalone-job", "--host", "$(POD_IP)"]);
    expect(main.env).toContainEqual({
      name: "POD_IP",
      valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "status.podIP" } },
    });
  });

  it("passes the pod IP to a session JobManager as its host argument", () => {
    const session = fixture("basic-reactive.yaml", raw => delete raw.spec.job);
    const main = buildStandaloneCluster(session, OPTIONS).jobManager.spec!.template.spec!
      .containers[0];
    expect(main.args).toEqual(["jobmanager", "$(POD_IP)"]);
  });
});
