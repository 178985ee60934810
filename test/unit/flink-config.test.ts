import { describe, expect, it } from "vitest";
import {
  checkpointDir,
  flattenFlinkConfiguration,
  isHaEnabled,
  savepointDir,
} from "../../lib/api/flink-config";

describe("flinkConfiguration flattening", () => {
  it("flattens nested maps into dotted keys and scalars into strings", () => {
    const { config, problems } = flattenFlinkConfiguration({
      "taskmanager.numberOfTaskSlots": 2,
      state: { "savepoints.dir": "file:///sp", checkpoints: { dir: "file:///cp" } },
      "high-availability": { type: "kubernetes", storageDir: "file:///ha" },
      "pipeline.object-reuse": true,
      "execution.checkpointing.interval": "10 s",
      "taskmanager.memory.managed.fraction": 0.4,
    });
    expect(problems).toEqual([]);
    expect(config).toEqual({
      "taskmanager.numberOfTaskSlots": "2",
      "state.savepoints.dir": "file:///sp",
      "state.checkpoints.dir": "file:///cp",
      "high-availability.type": "kubernetes",
      "high-availability.storageDir": "file:///ha",
      "pipeline.object-reuse": "true",
      "execution.checkpointing.interval": "10 s",
      "taskmanager.memory.managed.fraction": "0.4",
    });
  });

  it("writes lists of scalars in Flink's ';' list syntax", () => {
    expect(flattenFlinkConfiguration({ "pipeline.jars": ["a.jar", "b.jar"] }).config).toEqual({
      "pipeline.jars": "a.jar;b.jar",
    });
    expect(flattenFlinkConfiguration({ "env.java.opts.all": ["-Da=1;2", "it's"] }).config).toEqual({
      "env.java.opts.all": "'-Da=1;2';'it''s'",
    });
  });

  it("reports nulls, lists of maps and a key given twice with different values", () => {
    const { problems } = flattenFlinkConfiguration({
      "a.b": "1",
      a: { b: "2" },
      "c.d": null,
      e: [{ f: 1 }],
    });
    expect(problems).toEqual([
      { key: "a.b", message: 'is given twice with different values ("1" and "2")' },
      { key: "c.d", message: "must have a value (got null)" },
      { key: "e", message: "a list may only hold strings, numbers or booleans" },
    ]);
  });

  it("reads HA and state directories under old and new keys", () => {
    expect(isHaEnabled({ "high-availability.type": "kubernetes" })).toBe(true);
    expect(
      isHaEnabled({
        "high-availability":
          "org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory",
      }),
    ).toBe(true);
    expect(isHaEnabled({ "high-availability.type": "NONE" })).toBe(false);
    expect(isHaEnabled({})).toBe(false);
    expect(checkpointDir({ "state.checkpoints.dir": "s3://a" })).toBe("s3://a");
    expect(
      savepointDir({
        "execution.checkpointing.savepoint-dir": "s3://b",
        "state.savepoints.dir": "s3://c",
      }),
    ).toBe("s3://b");
    expect(savepointDir({ "state.savepoints.dir": " " })).toBeUndefined();
  });
});
