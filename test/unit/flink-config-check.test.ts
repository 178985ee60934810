import { describe, expect, it } from "vitest";
import {
  catalogFor,
  checkFlinkConfiguration,
  isFlinkDuration,
  isFlinkMemorySize,
  type FlinkConfigIssue,
} from "../../lib/flink/config-check";
import { editDistance } from "../../lib/suggest";

const only = (config: Record<string, string>, version = "1.20") =>
  checkFlinkConfiguration(config, version);
const one = (config: Record<string, string>, version = "1.20"): FlinkConfigIssue => {
  const issues = only(config, version);
  expect(issues).toHaveLength(1);
  return issues[0];
};

describe("checkFlinkConfiguration", () => {
  it("accepts a typical valid configuration without findings", () => {
    for (const version of ["1.20", "2.3"]) {
      expect(
        only(
          {
            "taskmanager.numberOfTaskSlots": "2",
            "execution.checkpointing.interval": "10 s",
            "execution.checkpointing.dir": "s3://bucket/checkpoints",
            "taskmanager.memory.process.size": "2048m",
            "jobmanager.memory.process.size": "1g",
            "state.backend.type": "rocksdb",
            "jobmanager.scheduler": "adaptive",
            "high-availability.type": "kubernetes",
            "restart-strategy.fixed-delay.attempts": "3",
            "taskmanager.memory.managed.fraction": "0.4",
            "kubernetes.jobmanager.annotations": "team:data,tier:gold",
            "pipeline.jars": "local:///opt/flink/usrlib/job.jar",
          },
          version,
        ),
      ).toEqual([]);
    }
  });

  it("shapes findings with a path, the key, a severity and a message", () => {
    expect(one({ "parallelism.default": "two" })).toEqual({
      path: 'spec.flinkConfiguration["parallelism.default"]',
      key: "parallelism.default",
      severity: "error",
      message: expect.stringContaining('"parallelism.default": value "two" is not an integer'),
    });
    const [issue] = checkFlinkConfiguration({ "parallelism.default": "x" }, "1.20", {
      pathPrefix: "spec.job.flinkConfiguration",
    });
    expect(issue.path).toBe('spec.job.flinkConfiguration["parallelism.default"]');
  });

  it("skips the operator's own keys", () => {
    expect(
      only({
        "kubernetes.operator.periodic.savepoint.interval": "nonsense",
        "job.autoscaler.enabled": "maybe",
      }),
    ).toEqual([]);
  });

  describe("unknown keys", () => {
    it("suggests the key a typo was meant to be", () => {
      const issue = one({ "taskmanager.numberOfTaskSlot": "2" });
      expect(issue.severity).toBe("warning");
      expect(issue.message).toBe(
        'unknown Flink 1.20 option "taskmanager.numberOfTaskSlot"; did you mean "taskmanager.numberOfTaskSlots"?',
      );
      expect(one({ "jobmanager.schedular": "adaptive" }).message).toContain(
        'did you mean "jobmanager.scheduler"',
      );
      // Close to the old name state.checkpoints.dir: the current key is what to suggest.
      expect(one({ "state.checkpoint.dir": "s3://b" }).message).toContain(
        'did you mean "execution.checkpointing.dir"',
      );
    });

    it("matches a key written with other separators or case", () => {
      expect(one({ "taskmanager.number-of-task-slots": "2" }).message).toContain(
        '"taskmanager.numberOfTaskSlots"',
      );
      expect(one({ "Execution.Checkpointing.Interval": "10 s" }).message).toContain(
        '"execution.checkpointing.interval"',
      );
    });

    it("finds a key whose prefix was left out", () => {
      expect(one({ "checkpointing.interval": "10 s" }).message).toContain(
        'did you mean "execution.checkpointing.interval"',
      );
    });

    it("says Flink ignores a key nothing resembles", () => {
      expect(one({ "completely.made-up.thing": "1" }).message).toBe(
        'unknown Flink 1.20 option "completely.made-up.thing"; Flink ignores keys it does not know',
      );
    });

    it("accepts templated families and pass-through prefixes", () => {
      expect(
        only({
          "metrics.reporter.prom.factory.class":
            "org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
          "metrics.reporter.prom.port": "9249",
          "external-resource.gpu.amount": "1",
          "s3.access-key": "key",
          "fs.s3a.endpoint": "http://minio:9000",
          "containerized.master.env.JAVA_HOME": "/opt/java",
          "$internal.pipeline.job-id": "00000000000000000000000000000001",
        }),
      ).toEqual([]);
    });

    it("checks values of templated families too", () => {
      expect(one({ "metrics.reporter.prom.interval": "often" }).severity).toBe("error");
    });
  });

  describe("deprecated keys", () => {
    it("names the replacement", () => {
      const issue = one({ "state.savepoints.dir": "s3://b/sp" });
      expect(issue.severity).toBe("warning");
      expect(issue.message).toBe(
        '"state.savepoints.dir" is deprecated in Flink 1.20; use "execution.checkpointing.savepoint-dir"',
      );
      expect(one({ "kubernetes.jobmanager.cpu": "1" }).message).toContain(
        'use "kubernetes.jobmanager.cpu.amount"',
      );
      expect(one({ "high-availability": "kubernetes" }, "2.3").message).toContain(
        'use "high-availability.type"',
      );
    });

    it("says which key wins when both are set", () => {
      const issues = only({
        "state.checkpoints.dir": "s3://old",
        "execution.checkpointing.dir": "s3://new",
      });
      expect(issues).toHaveLength(1);
      expect(issues[0].message).toContain(
        '("execution.checkpointing.dir" is also set and takes precedence)',
      );
    });

    it("checks the value with the replacement's type", () => {
      const issues = only({ "kubernetes.jobmanager.cpu": "one" });
      expect(issues.map(i => i.severity).sort()).toEqual(["error", "warning"]);
    });
  });

  describe("values", () => {
    it("durations", () => {
      for (const ok of [
        "10 s",
        "1min",
        "500ms",
        "10",
        "3h",
        "1 d",
        "2 minutes",
        "10 sec",
        "10S",
        "0",
      ]) {
        expect(only({ "execution.checkpointing.timeout": ok }), ok).toEqual([]);
      }
      for (const bad of ["1.5s", "-1 s", "10 sec s", "ten seconds", "", "1 mins", "1m30s"]) {
        expect(one({ "execution.checkpointing.timeout": bad }).severity, bad).toBe("error");
      }
    });

    it("ISO-8601 durations only where the real Flink takes them (2.x, not 1.20)", () => {
      expect(only({ "pekko.ask.timeout": "PT10S" }, "2.3")).toEqual([]);
      expect(one({ "pekko.ask.timeout": "PT10S" }, "1.20").message).toContain("is not a duration");
    });

    it("memory sizes", () => {
      for (const ok of ["1g", "2048m", "1024 mb", "1GB", "512", "1 kibibytes", "1t"]) {
        expect(only({ "taskmanager.memory.process.size": ok }), ok).toEqual([]);
      }
      for (const bad of ["1.5g", "-1m", "1gi", "lots", "1 byte"]) {
        const issue = one({ "taskmanager.memory.process.size": bad });
        expect(issue.severity, bad).toBe("error");
        expect(issue.message).toContain("is not a memory size");
      }
    });

    it("integers and longs, with their ranges", () => {
      expect(only({ "parallelism.default": "+4" })).toEqual([]);
      expect(one({ "parallelism.default": "2147483648" }).severity).toBe("error");
      expect(one({ "parallelism.default": " 2" }).severity).toBe("error");
    });

    it("doubles the way Java parses them", () => {
      for (const ok of ["0.4", ".5", "1e-1", " 0.5"]) {
        expect(only({ "taskmanager.memory.managed.fraction": ok }), ok).toEqual([]);
      }
      expect(one({ "taskmanager.memory.managed.fraction": "0,4" }).message).toContain(
        "is not a number",
      );
    });

    it("booleans: true or false in any case, nothing else", () => {
      expect(only({ "web.submit.enable": "TRUE" })).toEqual([]);
      for (const bad of ["yes", "1", " true"])
        expect(one({ "web.submit.enable": bad }).severity).toBe("error");
    });

    it("enums, case-insensitively, listing the allowed values", () => {
      expect(only({ "execution.checkpointing.mode": "at_least_once" })).toEqual([]);
      const issue = one({ "jobmanager.scheduler": "fast" }, "2.3");
      expect(issue.severity).toBe("error");
      expect(issue.message).toContain('"Default", "Adaptive", "AdaptiveBatch"');
    });

    it("typed lists and maps", () => {
      expect(one({ "kubernetes.jobmanager.annotations": "a:1,b" }).message).toContain(
        "is not a map",
      );
      expect(only({ "kubernetes.jobmanager.annotations": "{a: 1, b: 2}" })).toEqual([]);
    });
  });

  it("maps the CRD's version names onto the nearest catalog", () => {
    expect(catalogFor("v1_20")).toMatchObject({ minor: "1.20", exact: true });
    expect(catalogFor("1.20.5")).toMatchObject({ minor: "1.20", exact: true });
    expect(catalogFor("v1_18")).toMatchObject({ minor: "1.20", exact: false });
    expect(catalogFor("v2_0")).toMatchObject({ minor: "2.3", exact: false });
    expect(one({ "foo.bar": "1" }, "v2_1").message).toContain("Flink 2.3 (nearest catalog to 2.1)");
  });
});

describe("parsers and distance", () => {
  it("isFlinkDuration / isFlinkMemorySize follow Flink's syntax", () => {
    expect(isFlinkDuration("9223372036854775807 ms")).toBe(true);
    expect(isFlinkDuration("99999999999999999999 s")).toBe(false);
    expect(isFlinkDuration("P1D", true)).toBe(true);
    expect(isFlinkDuration("PT", true)).toBe(false);
    expect(isFlinkMemorySize("9223372036854775807")).toBe(true);
    expect(isFlinkMemorySize("9223372036854775807 kb")).toBe(false);
  });

  it("editDistance counts an adjacent swap as one edit", () => {
    expect(editDistance("slots", "slost")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("abc", "abcdefgh", 2)).toBe(3);
  });
});
