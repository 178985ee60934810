import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildClusterManifests } from "../../../lib/builders";
import { GENERATION_ANNOTATION } from "../../../lib/builders/metadata";
import { buildNativeCluster } from "../../../lib/builders/native";
import { OPTIONS, expectGolden, fixture } from "./helpers";

const configFile = (data: Record<string, string> | undefined) => parse(data?.["config.yaml"] ?? "");

describe("native session cluster", () => {
  const deployment = fixture("basic-session-deployment-only.yaml");

  it("matches its golden manifests", () => {
    expectGolden("native-session", buildClusterManifests(deployment, OPTIONS));
  });

  it("starts kubernetes-session through the image entrypoint, with the pod IP and Flink's three ports", () => {
    const jm = buildNativeCluster(deployment, OPTIONS).jobManager;
    const main = jm.spec!.template.spec!.containers[0];
    expect(main.name).toBe("flink-main-container");
    expect(main.command).toEqual(["/docker-entrypoint.sh"]);
    expect(main.args).toEqual(["bash", "-c", "kubernetes-jobmanager.sh kubernetes-session"]);
    expect(main.ports).toEqual([
      { name: "rest", containerPort: 8081 },
      { name: "jobmanager-rpc", containerPort: 6123 },
      { name: "blobserver", containerPort: 6124 },
    ]);
    expect(main.env).toContainEqual({
      name: "_POD_IP_ADDRESS",
      valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "status.podIP" } },
    });
    expect(main.volumeMounts).toContainEqual({
      name: "flink-config-volume",
      mountPath: "/opt/flink/conf",
    });
    expect(jm.spec!.template.spec!.serviceAccountName).toBe("flink");
    expect(jm.spec!.selector.matchLabels).toEqual({
      type: "flink-native-kubernetes",
      app: "basic-session-deployment-only-example",
      component: "jobmanager",
    });
  });

  it("owns every child and stamps it with the generation", () => {
    for (const child of buildClusterManifests(deployment, OPTIONS)) {
      expect(child.metadata?.ownerReferences).toEqual([
        {
          apiVersion: "flink.apache.org/v1beta1",
          kind: "FlinkDeployment",
          name: "basic-session-deployment-only-example",
          uid: "0c6f1c1e-5b1e-4f5a-9d8e-2a3b4c5d6e7f",
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(child.metadata?.annotations?.[GENERATION_ANNOTATION]).toBe("3");
    }
  });

  it("keeps the generation out of the pod template, so a new generation alone does not restart pods", () => {
    const jm = buildNativeCluster(deployment, OPTIONS).jobManager;
    expect(jm.spec!.template.metadata?.annotations).not.toHaveProperty(GENERATION_ANNOTATION);
  });

  it("has a headless internal Service and a ClusterIP rest Service without HA", () => {
    const [internal, rest] = buildNativeCluster(deployment, OPTIONS).services;
    expect(internal.metadata!.name).toBe("basic-session-deployment-only-example");
    expect(internal.spec!.clusterIP).toBe("None");
    expect(rest.metadata!.name).toBe("basic-session-deployment-only-example-rest");
    expect(rest.spec!.type).toBe("ClusterIP");
  });
});

describe("native application cluster", () => {
  it("matches its golden manifests", () => {
    expectGolden("native-application", buildClusterManifests(fixture("basic.yaml"), OPTIONS));
  });

  it("runs kubernetes-application with the job in its configuration", () => {
    const cluster = buildNativeCluster(fixture("basic.yaml"), OPTIONS);
    expect(cluster.jobManager.spec!.template.spec!.containers[0].args).toEqual([
      "bash",
      "-c",
      "kubernetes-jobmanager.sh kubernetes-application",
    ]);
    const config = configFile(cluster.configMap.data);
    expect(config["execution.target"]).toBe("kubernetes-application");
    expect(config["pipeline.jars"]).toBe(
      "local:///opt/flink/examples/streaming/StateMachineExample.jar",
    );
    expect(config["$internal.pipeline.job-id"]).toBe(OPTIONS.jobId);
  });

  it("refuses to build without a job id", () => {
    expect(() => buildNativeCluster(fixture("basic.yaml"), { generation: 1 })).toThrow(
      /options.jobId/,
    );
  });
});

describe("native cluster with Kubernetes HA", () => {
  const restore = {
    ...OPTIONS,
    restorePath: "file:///flink-data/savepoints/savepoint-3f2a1b-0123456789ab",
  };

  it("matches its golden manifests", () => {
    expectGolden("native-ha", buildClusterManifests(fixture("basic-checkpoint-ha.yaml"), restore));
  });

  it("drops the internal Service and names the HA cluster and this deploy's job result store", () => {
    const cluster = buildNativeCluster(fixture("basic-checkpoint-ha.yaml"), restore);
    expect(cluster.services.map(s => s.metadata!.name)).toEqual([
      "basic-checkpoint-ha-example-rest",
    ]);
    const config = configFile(cluster.configMap.data);
    expect(config["high-availability.cluster-id"]).toBe("basic-checkpoint-ha-example");
    expect(config["jobmanager.rpc.address"]).toBeUndefined();
    expect(config["job-result-store.storage-path"]).toBe(
      "file:///flink-data/ha/job-result-store/basic-checkpoint-ha-example/1767225600000",
    );
    expect(config["execution.state-recovery.path"]).toBe(restore.restorePath);
  });

  it("needs a deploy id to name the job result store", () => {
    const { deployId: _, ...withoutDeployId } = OPTIONS;
    expect(() => buildNativeCluster(fixture("basic-checkpoint-ha.yaml"), withoutDeployId)).toThrow(
      /deployId/,
    );
  });
});

describe("log configuration", () => {
  it("ships the spec's log configuration instead of the defaults", () => {
    const deployment = fixture("custom-logging.yaml");
    const data = buildNativeCluster(deployment, OPTIONS).configMap.data!;
    expect(Object.keys(data).sort()).toEqual(["config.yaml", "log4j-console.properties"]);
    expect(data["log4j-console.properties"]).toBe(
      deployment.spec!.logConfiguration!["log4j-console.properties"],
    );
  });

  it("ships log4j and logback defaults when the spec has none", () => {
    const data = buildNativeCluster(fixture("basic.yaml"), OPTIONS).configMap.data!;
    expect(Object.keys(data).sort()).toEqual([
      "config.yaml",
      "log4j-console.properties",
      "logback-console.xml",
    ]);
    expect(data["log4j-console.properties"]).toContain("${sys:log.file}");
  });
});
