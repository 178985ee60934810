import { describe, expect, it } from "vitest";
import {
  BUILT_IN_DEFAULTS,
  IMPLEMENTED_OPTIONS,
  OPERATOR_OPTIONS,
  defaultConfiguration,
  optionFindings,
  resolveSettings,
} from "../../lib/settings";

const NS = "kubernetes.operator.default-configuration.namespace.";
const V = "kubernetes.operator.default-configuration.flink-version.";

describe("one settings source: option defaults, operator ConfigMap, resource", () => {
  it("layers the operator ConfigMap under the resource, for Flink keys and operator options alike", () => {
    const s = resolveSettings({
      operatorConfig: {
        "kubernetes.operator.reconcile.interval": "30 s",
        "execution.checkpointing.savepoint-dir": "s3://ops/savepoints",
        "taskmanager.numberOfTaskSlots": "4",
      },
      namespace: "team-a",
      flinkVersion: "v1_20",
      resource: {
        "kubernetes.operator.reconcile.interval": "5 s",
        "taskmanager.numberOfTaskSlots": "2",
      },
    });
    expect(s.operator.durationMs("reconcile.interval")).toBe(5000);
    expect(s.operator.durationMs("observer.progress-check.interval")).toBe(10_000);
    expect(s.defaults["execution.checkpointing.savepoint-dir"]).toBe("s3://ops/savepoints");
    expect(s.defaults["taskmanager.numberOfTaskSlots"]).toBe("4");
    expect(s.config["taskmanager.numberOfTaskSlots"]).toBe("2");
    expect(s.config["execution.checkpointing.savepoint-dir"]).toBe("s3://ops/savepoints");
  });

  it("keeps the layer below when a value does not fit its option", () => {
    const s = resolveSettings({
      operatorConfig: {
        "kubernetes.operator.reconcile.interval": "often",
        "kubernetes.operator.observer.progress-check.interval": "3 s",
      },
      resource: { "kubernetes.operator.observer.progress-check.interval": "soon" },
    });
    expect(s.operator.durationMs("reconcile.interval")).toBe(60_000);
    expect(s.operator.durationMs("observer.progress-check.interval")).toBe(3000);
  });
});

describe("default configuration sections, as the reference operator layers them", () => {
  const operatorConfig = {
    "pipeline.name": "plain",
    "parallelism.default": "1",
    "taskmanager.numberOfTaskSlots": "1",
    [`${NS}team-a.parallelism.default`]: "3",
    [`${NS}team-a.pipeline.name`]: "team-a",
    [`${V}v1_18+.pipeline.name`]: "1.18 and newer",
    [`${V}v1_19+.pipeline.name`]: "1.19 and newer",
    [`${V}v1_20.pipeline.name`]: "exactly 1.20",
    [`${V}v2_0+.taskmanager.numberOfTaskSlots`]: "2",
  };

  it("applies the plain keys to every resource", () => {
    const c = defaultConfiguration(operatorConfig, "other", "v1_17");
    expect(c["pipeline.name"]).toBe("plain");
    expect(c["parallelism.default"]).toBe("1");
  });

  it("applies a namespace's section to resources in that namespace only", () => {
    expect(defaultConfiguration(operatorConfig, "team-a", "v1_17")["parallelism.default"]).toBe(
      "3",
    );
    expect(defaultConfiguration(operatorConfig, "team-b", "v1_17")["parallelism.default"]).toBe(
      "1",
    );
  });

  it("applies '+' sections from the oldest matching version up, then the exact version's", () => {
    const at = (v: string) => defaultConfiguration(operatorConfig, "other", v)["pipeline.name"];
    expect(at("v1_17")).toBe("plain");
    expect(at("v1_18")).toBe("1.18 and newer");
    expect(at("v1_19")).toBe("1.19 and newer");
    expect(at("v1_20")).toBe("exactly 1.20");
    expect(at("v2_2")).toBe("1.19 and newer");
    expect(
      defaultConfiguration(operatorConfig, "other", "v2_2")["taskmanager.numberOfTaskSlots"],
    ).toBe("2");
    expect(
      defaultConfiguration(operatorConfig, "other", "v1_20")["taskmanager.numberOfTaskSlots"],
    ).toBe("1");
  });

  it("lets a version section win over a namespace section, as the reference applies them in that order", () => {
    expect(defaultConfiguration(operatorConfig, "team-a", "v1_20")["pipeline.name"]).toBe(
      "exactly 1.20",
    );
    expect(defaultConfiguration(operatorConfig, "team-a", "v1_17")["pipeline.name"]).toBe("team-a");
  });

  it("puts the resource's own keys above every section", () => {
    const s = resolveSettings({
      operatorConfig,
      namespace: "team-a",
      flinkVersion: "v1_20",
      resource: { "pipeline.name": "mine" },
    });
    expect(s.config["pipeline.name"]).toBe("mine");
    expect(s.defaults["pipeline.name"]).toBe("exactly 1.20");
  });

  it("ships Flink's Java 17 options: env.java.opts.all for 1.18, env.java.default-opts.all from 1.19", () => {
    const jvm = (v: string) => defaultConfiguration({}, "ns", v);
    const opens = /--add-opens=java\.base\/java\.util=ALL-UNNAMED/;
    expect(jvm("v1_17")["env.java.opts.all"]).toBeUndefined();
    expect(jvm("v1_17")["env.java.default-opts.all"]).toBeUndefined();
    expect(jvm("v1_18")["env.java.opts.all"]).toMatch(opens);
    expect(jvm("v1_18")["env.java.default-opts.all"]).toBeUndefined();
    for (const v of ["v1_19", "v1_20", "v2_0", "v2_3"]) {
      expect(jvm(v)["env.java.default-opts.all"]).toMatch(opens);
      expect(jvm(v)["env.java.opts.all"]).toBeUndefined();
    }
    // The reference's list: three exports, twelve opens.
    const list = jvm("v2_0")["env.java.default-opts.all"].split(" ");
    expect(list.filter(o => o.startsWith("--add-exports="))).toHaveLength(3);
    expect(list.filter(o => o.startsWith("--add-opens="))).toHaveLength(12);
  });

  it("lets the operator ConfigMap replace or clear the built-in JVM options", () => {
    const key = `${V}v1_19+.env.java.default-opts.all`;
    expect(Object.keys(BUILT_IN_DEFAULTS)).toContain(key);
    expect(defaultConfiguration({ [key]: "" }, "ns", "v1_20")["env.java.default-opts.all"]).toBe(
      "",
    );
    // A user's env.java.opts.all sits beside them: Flink 1.19+ appends it to the defaults.
    const s = resolveSettings({
      operatorConfig: {},
      flinkVersion: "v1_20",
      resource: { "env.java.opts.all": "-XX:+UseG1GC" },
    });
    expect(s.config["env.java.opts.all"]).toBe("-XX:+UseG1GC");
    expect(s.config["env.java.default-opts.all"]).toMatch(/--add-opens/);
  });
});

describe("operator options that have no effect", () => {
  it("implements 40 of the 50 options it type-checks; the list names only known options", () => {
    expect(OPERATOR_OPTIONS).toHaveLength(50);
    expect(IMPLEMENTED_OPTIONS.size).toBe(40);
    for (const key of IMPLEMENTED_OPTIONS) expect(OPERATOR_OPTIONS.map(o => o.key)).toContain(key);
  });

  it("names each option set but not implemented in a warning, and nothing for implemented ones", () => {
    const findings = optionFindings(
      {
        "kubernetes.operator.exception.stacktrace.enabled": "true",
        "kubernetes.operator.job.upgrade.ignore-pending-savepoint": "true",
        "kubernetes.operator.cluster.health-check.enabled": "true",
        "kubernetes.operator.savepoint.history.max.count": "5",
        "kubernetes.operator.periodic.savepoint.interval": "1 h",
        "kubernetes.operator.reconcile.interval": "30 s",
        "pipeline.name": "x",
      },
      "resource",
    );
    expect(findings).toEqual([
      {
        key: "kubernetes.operator.exception.stacktrace.enabled",
        severity: "warning",
        message: "is not implemented by this operator yet, so it has no effect",
      },
      {
        key: "kubernetes.operator.job.upgrade.ignore-pending-savepoint",
        severity: "warning",
        message: "is not implemented by this operator yet, so it has no effect",
      },
    ]);
  });

  it("warns about every unimplemented option, one by one", () => {
    const unimplemented = OPERATOR_OPTIONS.filter(o => !IMPLEMENTED_OPTIONS.has(o.key));
    expect(unimplemented).toHaveLength(10);
    for (const o of unimplemented) {
      const value = o.default ?? (o.type === "duration" ? "1 min" : "x");
      expect(optionFindings({ [o.key]: value }, "resource").map(f => f.key)).toEqual([o.key]);
    }
  });

  it("says an operator-wide option in a resource has no effect, and refuses values that do not fit", () => {
    expect(
      optionFindings({ "kubernetes.operator.reconcile.parallelism": "5" }, "resource"),
    ).toEqual([
      {
        key: "kubernetes.operator.reconcile.parallelism",
        severity: "warning",
        message:
          "applies to the whole operator, so only the operator ConfigMap's own keys set it; here it has no effect",
      },
    ]);
    expect(
      optionFindings({ "kubernetes.operator.reconcile.parallelism": "5" }, "operator"),
    ).toEqual([]);
    expect(
      optionFindings({ "kubernetes.operator.reconcile.parallelism": "0" }, "operator")[0],
    ).toMatchObject({
      severity: "error",
      message: "must be at least 1, or -1 for no limit, got 0",
    });
    expect(
      optionFindings({ "kubernetes.operator.reconcile.parallelism": "-1" }, "operator"),
    ).toEqual([]);
  });
});

describe("periodic snapshot intervals", () => {
  it("warns that a cron expression takes no periodic snapshots, and accepts a duration", () => {
    expect(
      optionFindings(
        {
          "kubernetes.operator.periodic.savepoint.interval": "0 0 * * * ?",
          "kubernetes.operator.periodic.checkpoint.interval": "10 min",
        },
        "resource",
      ),
    ).toEqual([
      {
        key: "kubernetes.operator.periodic.savepoint.interval",
        severity: "warning",
        message:
          'takes a duration such as "1 h" here; cron expressions are not supported yet, so "0 0 * * * ?" takes no periodic snapshots',
      },
    ]);
  });
});

describe("the session job artifact options", () => {
  const hosts = "kubernetes.operator.user.artifacts.allowed-internal-hosts";
  const ca = "kubernetes.operator.user.artifacts.trusted-ca";

  it("take host names, addresses and CIDR networks as internal hosts, and refuse anything else by value", () => {
    expect(
      optionFindings({ [hosts]: "jars.internal;127.0.0.1,10.1.0.0/16; fd00::/8" }, "operator"),
    ).toEqual([]);
    expect(optionFindings({ [hosts]: "10.0.0.0/33;http://x;a b" }, "operator")).toEqual([
      {
        key: hosts,
        severity: "error",
        message:
          'must list host names, IP addresses or CIDR networks, got "10.0.0.0/33", "http://x", "a b"',
      },
    ]);
    expect(
      resolveSettings({ operatorConfig: { [hosts]: "a.internal;127.0.0.1" } }).operator.list(
        "user.artifacts.allowed-internal-hosts",
      ),
    ).toEqual(["a.internal", "127.0.0.1"]);
  });

  it("takes PEM certificates as trusted CAs, and nothing else", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    expect(optionFindings({ [ca]: pem }, "operator")).toEqual([]);
    expect(optionFindings({ [ca]: "/etc/ssl/ca.pem" }, "operator")[0]).toMatchObject({
      severity: "error",
      message:
        "must hold PEM certificates (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)",
    });
  });
});
