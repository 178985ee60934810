import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  effectiveFlinkConfiguration,
  flinkConfigFileName,
  renderFlinkConfigFile,
  taskManagerReplicas,
} from "../../../lib/builders/flink-conf";
import { OPTIONS, fixture } from "./helpers";

type Raw = Parameters<typeof fixture>[1];
const configOf = (file: string, edit?: Raw, options = OPTIONS) =>
  effectiveFlinkConfiguration(fixture(file, edit), options);
const withConf =
  (conf: Record<string, unknown>): Raw =>
  raw => {
    raw.spec.flinkConfiguration = { ...raw.spec.flinkConfiguration, ...conf };
  };

describe("effectiveFlinkConfiguration", () => {
  it("keeps operator and autoscaler keys out of Flink's configuration", () => {
    const config = configOf(
      "basic.yaml",
      withConf({
        "kubernetes.operator.savepoint.format.type": "NATIVE",
        "job.autoscaler.enabled": "true",
      }),
    );
    expect(
      Object.keys(config).filter(
        k => k.startsWith("kubernetes.operator.") || k.startsWith("job.autoscaler."),
      ),
    ).toEqual([]);
  });

  it("owns the cluster's identity whatever flinkConfiguration says", () => {
    const config = configOf(
      "basic.yaml",
      withConf({ "kubernetes.cluster-id": "other", "kubernetes.namespace": "elsewhere" }),
    );
    expect(config["kubernetes.cluster-id"]).toBe("basic-example");
    expect(config["kubernetes.namespace"]).toBe("flink");
  });

  it("puts operator defaults under the resource's own keys, and its own defaults under both", () => {
    const options = {
      ...OPTIONS,
      defaultConfiguration: { "taskmanager.numberOfTaskSlots": "8", "metrics.reporters": "prom" },
    };
    const config = configOf(
      "basic.yaml",
      withConf({ "kubernetes.rest-service.exposed.type": "NodePort" }),
      options,
    );
    expect(config["taskmanager.numberOfTaskSlots"]).toBe("2");
    expect(config["metrics.reporters"]).toBe("prom");
    expect(config["kubernetes.rest-service.exposed.type"]).toBe("NodePort");
    expect(config["web.cancel.enable"]).toBe("false");
  });

  it("flattens nested flinkConfiguration and refuses what cannot be flattened", () => {
    const config = configOf("basic.yaml", withConf({ state: { backend: { type: "rocksdb" } } }));
    expect(config["state.backend.type"]).toBe("rocksdb");
    expect(() => configOf("basic.yaml", withConf({ "pipeline.name": null }))).toThrow(
      /pipeline.name must have a value/,
    );
  });

  it.each([
    [{ "high-availability.type": "kubernetes" }, true],
    [{ "high-availability": "KUBERNETES" }, true],
    [
      {
        "high-availability":
          "org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory",
      },
      true,
    ],
    [{ "high-availability.type": "NONE" }, false],
    [{}, false],
  ])("treats %o as HA: %s", (conf, ha) => {
    const config = configOf("basic-session-deployment-only.yaml", withConf(conf));
    expect(config["high-availability.cluster-id"] !== undefined).toBe(ha);
    expect(config["jobmanager.rpc.address"] === undefined).toBe(ha);
  });

  it("uses the keys of older Flink versions", () => {
    const config = configOf(
      "basic.yaml",
      raw => {
        raw.spec.flinkVersion = "v1_16";
        raw.spec.image = "flink:1.16";
        raw.spec.job!.allowNonRestoredState = false;
      },
      { ...OPTIONS, restorePath: "s3://bucket/savepoint-1" },
    );
    expect(config["kubernetes.container.image"]).toBe("flink:1.16");
    expect(config["kubernetes.container.image.ref"]).toBeUndefined();
    expect(config["kubernetes.jobmanager.cpu"]).toBe("1");
    expect(config["kubernetes.jobmanager.cpu.amount"]).toBe("1");
    expect(config["execution.savepoint.path"]).toBe("s3://bucket/savepoint-1");
    expect(config["execution.savepoint.ignore-unclaimed-state"]).toBe("false");
  });

  it("defaults the image to the official one of the Flink version", () => {
    expect(
      configOf("basic.yaml", raw => delete raw.spec.image)["kubernetes.container.image.ref"],
    ).toBe("flink:2.2");
  });

  it("sizes parallelism from the TaskManagers when their count is given", () => {
    const config = configOf("basic.yaml", raw => (raw.spec.taskManager!.replicas = 3));
    expect(config["parallelism.default"]).toBe("6");
  });

  it("fixes ports Flink would otherwise pick at random, keeps a fixed one", () => {
    const config = configOf(
      "basic.yaml",
      withConf({ "blob.server.port": "6124-6130", "taskmanager.rpc.port": "6200" }),
    );
    expect(config["blob.server.port"]).toBe("6124");
    expect(config["taskmanager.rpc.port"]).toBe("6200");
  });

  it("gives last-state jobs a checkpoint interval unless one is set", () => {
    const lastState = (raw: Parameters<NonNullable<Raw>>[0]) =>
      (raw.spec.job!.upgradeMode = "last-state");
    expect(configOf("basic.yaml", lastState)["execution.checkpointing.interval"]).toBe("5 min");
    const own = configOf("basic.yaml", raw => {
      lastState(raw);
      raw.spec.flinkConfiguration = { "execution.checkpointing.interval": "30 s" };
    });
    expect(own["execution.checkpointing.interval"]).toBe("30 s");
  });
});

describe("taskManagerReplicas", () => {
  const spec = fixture("basic.yaml").spec!;
  it("is taskManager.replicas, else enough slots for the parallelism", () => {
    expect(
      taskManagerReplicas(
        { ...spec, taskManager: { replicas: 4 } },
        { "taskmanager.numberOfTaskSlots": "2" },
      ),
    ).toBe(4);
    expect(
      taskManagerReplicas(
        { ...spec, job: { ...spec.job!, parallelism: 5 } },
        { "taskmanager.numberOfTaskSlots": "2" },
      ),
    ).toBe(3);
    expect(taskManagerReplicas({ ...spec, job: undefined }, {})).toBe(1);
  });
});

describe("the config file", () => {
  const config = {
    "taskmanager.numberOfTaskSlots": "2",
    "env.java.opts.all": "-XX:+UseG1GC -Dfoo=a: b",
    "pipeline.name": "*",
    "high-availability": "kubernetes",
    "high-availability.storageDir": "s3://b/ha",
    "metrics.reporter.prom.filter.includes": "*:*:*",
  };

  it("is config.yaml from Flink 1.19 on, flink-conf.yaml before", () => {
    expect(flinkConfigFileName("v1_18")).toBe("flink-conf.yaml");
    expect(flinkConfigFileName("v1_19")).toBe("config.yaml");
    expect(flinkConfigFileName("v2_2")).toBe("config.yaml");
  });

  it("config.yaml: flat keys, values quoted where YAML needs it, read back unchanged", () => {
    const text = renderFlinkConfigFile(config, "v1_20");
    expect(text).toContain('taskmanager.numberOfTaskSlots: "2"\n');
    expect(parse(text)).toEqual(config);
  });

  it("flink-conf.yaml: sorted key: value lines, as Flink's line parser reads them", () => {
    expect(renderFlinkConfigFile({ b: "2", a: "x: y" }, "v1_18")).toBe("a: x: y\nb: 2\n");
  });

  it("flink-conf.yaml: refuses values Flink's line parser would cut", () => {
    expect(() => renderFlinkConfigFile({ "pipeline.name": "job #1" }, "v1_18")).toThrow(
      /pipeline.name/,
    );
    expect(() => renderFlinkConfigFile({ "pipeline.name": "a\nb" }, "v1_18")).toThrow(
      /pipeline.name/,
    );
    expect(renderFlinkConfigFile({ "pipeline.name": "job #1" }, "v1_19")).toBe(
      'pipeline.name: "job #1"\n',
    );
  });
});
