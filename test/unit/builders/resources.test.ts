import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildNativeCluster } from "../../../lib/builders/native";
import { mainContainerResources, resourceConfiguration } from "../../../lib/builders/resources";
import { buildStandaloneCluster } from "../../../lib/builders/standalone";
import { OPTIONS, expectGolden, fixture } from "./helpers";

const CPU = ["kubernetes.jobmanager.cpu.amount"];

describe("resourceConfiguration", () => {
  it("reads the reference's resource: memory the Flink way, cpu as given", () => {
    expect(
      resourceConfiguration(
        "jobmanager",
        { replicas: 1, resource: { memory: "2048m", cpu: 1.5 } },
        CPU,
      ),
    ).toEqual({
      "jobmanager.memory.process.size": "2048m",
      "kubernetes.jobmanager.cpu.amount": "1.5",
    });
    expect(
      resourceConfiguration("jobmanager", { replicas: 1, resource: { memory: "2Gi" } }, CPU),
    ).toEqual({
      "jobmanager.memory.process.size": "2048m",
    });
  });

  it("reads Kubernetes resources: requests (else limits), limit factors from both", () => {
    const spec = {
      replicas: 1,
      resources: { requests: { cpu: "500m", memory: "2048m" }, limits: { cpu: 2, memory: "3Gi" } },
    };
    expect(resourceConfiguration("jobmanager", spec, CPU)).toEqual({
      "jobmanager.memory.process.size": "2048m",
      "kubernetes.jobmanager.cpu.amount": "0.5",
      "kubernetes.jobmanager.cpu.limit-factor": "4",
      "kubernetes.jobmanager.memory.limit-factor": "1.5",
    });
    const limitsOnly = { replicas: 1, resources: { limits: { cpu: "1", memory: "1Gi" } } };
    expect(resourceConfiguration("jobmanager", limitsOnly, CPU)).toEqual({
      "jobmanager.memory.process.size": "1024m",
      "kubernetes.jobmanager.cpu.amount": "1",
    });
  });

  it("prefers resources over resource, unless resources is empty", () => {
    const both = {
      replicas: 1,
      resource: { memory: "1g" },
      resources: { requests: { memory: "3g" } },
    };
    expect(resourceConfiguration("jobmanager", both, CPU)).toEqual({
      "jobmanager.memory.process.size": "3072m",
    });
    const empty = { replicas: 1, resource: { memory: "1g" }, resources: {} };
    expect(resourceConfiguration("jobmanager", empty, CPU)).toEqual({
      "jobmanager.memory.process.size": "1024m",
    });
  });
});

describe("mainContainerResources", () => {
  it("uses Flink's defaults: one core for a JobManager, a core per slot for a TaskManager", () => {
    expect(mainContainerResources("jobmanager", {}, undefined, undefined)).toEqual({
      requests: { cpu: "1" },
      limits: { cpu: "1" },
    });
    expect(
      mainContainerResources(
        "taskmanager",
        { "taskmanager.numberOfTaskSlots": "3" },
        undefined,
        undefined,
      ).requests,
    ).toEqual({
      cpu: "3",
    });
    expect(
      mainContainerResources(
        "taskmanager",
        { "taskmanager.cpu.cores": "0.25", "kubernetes.taskmanager.cpu.amount": "2" },
        undefined,
        undefined,
      ).requests,
    ).toEqual({
      cpu: "250m",
    });
  });

  it("keeps what the template asks for besides cpu and memory, under the spec's own", () => {
    const fromTemplate = {
      requests: { cpu: "9", "nvidia.com/gpu": "1" },
      limits: { "ephemeral-storage": "1Gi" },
    };
    const spec = { replicas: 1, resource: { ephemeralStorage: "5Gi" } };
    expect(
      mainContainerResources(
        "jobmanager",
        { "jobmanager.memory.process.size": "1 gb" },
        spec,
        fromTemplate,
      ),
    ).toEqual({
      requests: { cpu: "1", memory: "1024Mi", "nvidia.com/gpu": "1", "ephemeral-storage": "5Gi" },
      limits: { cpu: "1", memory: "1024Mi", "ephemeral-storage": "5Gi" },
    });
  });
});

describe("resources of a cluster", () => {
  const deployment = fixture("resources.yaml");

  it("match their golden manifests", () => {
    const cluster = buildNativeCluster(deployment, OPTIONS);
    expectGolden("resources", [
      cluster.configMap.data!["config.yaml"],
      cluster.jobManager.spec!.template.spec!.containers[0].resources,
      cluster.taskManagerPodTemplate,
    ]);
  });

  it("emit the JobManager's 2048m as 2048Mi, with limits from the factors", () => {
    const main = buildNativeCluster(deployment, OPTIONS).jobManager.spec!.template.spec!
      .containers[0];
    expect(main.resources).toEqual({
      requests: { cpu: "500m", memory: "2048Mi", "ephemeral-storage": "1Gi" },
      limits: { cpu: "2", memory: "3072Mi", "ephemeral-storage": "2Gi" },
    });
  });

  it("leave TaskManager cpu and memory to Flink's configuration and put the rest in the TaskManager template", () => {
    const cluster = buildNativeCluster(deployment, OPTIONS);
    const config = parse(cluster.configMap.data!["config.yaml"]);
    expect(config["taskmanager.memory.process.size"]).toBe("4096m");
    expect(config["kubernetes.taskmanager.cpu.amount"]).toBe("2");
    const template = parse(cluster.taskManagerPodTemplate!.data!["taskmanager-pod-template.yaml"]);
    expect(template.spec.containers[0].resources).toEqual({
      limits: { "nvidia.com/gpu": 1, "ephemeral-storage": "10Gi" },
      requests: { "ephemeral-storage": "10Gi" },
    });
  });

  it("give standalone TaskManagers the memory limit factor", () => {
    const standalone = fixture("resources.yaml", raw => (raw.spec.mode = "standalone"));
    const main = buildStandaloneCluster(standalone, OPTIONS).taskManager.spec!.template.spec!
      .containers[0];
    expect(main.resources).toEqual({
      requests: { cpu: "2", memory: "4096Mi", "ephemeral-storage": "10Gi" },
      limits: { cpu: "2", memory: "6144Mi", "ephemeral-storage": "10Gi", "nvidia.com/gpu": 1 },
    });
  });
});
