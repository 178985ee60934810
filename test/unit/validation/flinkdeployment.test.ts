import { describe, expect, it } from "vitest";
import { validateFlinkDeployment } from "../../../lib/validation/flinkdeployment";
import { errorsOf, formatIssue, warningsOf } from "../../../lib/validation/issues";
import { application, deployed, session } from "./fixtures";

const errors = (obj: unknown, defaults?: Record<string, string>) =>
  errorsOf(validateFlinkDeployment(obj, { defaults })).map(formatIssue);
const warnings = (obj: unknown) => warningsOf(validateFlinkDeployment(obj)).map(formatIssue);

type Case = { rule: string; bad: (o: any) => void; good: (o: any) => void; error: string };

const SP = "execution.checkpointing.savepoint-dir (state.savepoints.dir before Flink 1.20)";
const CP = "execution.checkpointing.dir (state.checkpoints.dir before Flink 1.20)";
const conf = (o: any) => o.spec.flinkConfiguration;

const cases: Case[] = [
  {
    rule: "name pattern and length",
    bad: o => (o.metadata.name = "Basic_Example"),
    good: o => (o.metadata.name = "a".repeat(45)),
    error: `metadata.name: must start with a lowercase letter, contain only lowercase letters, digits and '-', end with a letter or digit, and be at most 45 characters, got "Basic_Example"`,
  },
  {
    rule: "standalone name fits StatefulSet labels",
    bad: o => ((o.spec.mode = "standalone"), (o.metadata.name = "a".repeat(41))),
    good: o => ((o.spec.mode = "standalone"), (o.metadata.name = "a".repeat(40))),
    error:
      "metadata.name: must be at most 40 characters in standalone mode (its StatefulSets' pod labels would exceed 63), got 41",
  },
  {
    rule: "flinkVersion required",
    bad: o => delete o.spec.flinkVersion,
    good: o => (o.spec.flinkVersion = "v2_2"),
    error: "spec.flinkVersion: is required",
  },
  {
    rule: "flinkVersion supported",
    bad: o => (o.spec.flinkVersion = "v1_14"),
    good: o => (o.spec.flinkVersion = "v1_15"),
    error: "spec.flinkVersion: v1_14 is not supported; use v1_15 or newer",
  },
  {
    rule: "flinkVersion enum",
    bad: o => (o.spec.flinkVersion = "1.20"),
    good: o => (o.spec.flinkVersion = "v2_0"),
    error:
      'spec.flinkVersion: must be one of v1_13, v1_14, v1_15, v1_16, v1_17, v1_18, v1_19, v1_20, v2_0, v2_1, v2_2, v2_3, v2_4, got "1.20"',
  },
  {
    rule: "serviceAccount required",
    bad: o => delete o.spec.serviceAccount,
    good: o => (o.spec.serviceAccount = "other"),
    error: "spec.serviceAccount: is required: the Flink pods run as this service account",
  },
  ...["kubernetes.namespace", "kubernetes.cluster-id", "high-availability.cluster-id"].map(
    (key): Case => ({
      rule: `forbidden key ${key}`,
      bad: o => (conf(o)[key] = "x"),
      good: o => (conf(o)[`${key}.suffix`] = "x"),
      error: `spec.flinkConfiguration["${key}"]: is set by the operator from the resource's name and namespace; remove it`,
    }),
  ),
  {
    rule: "rollback needs HA",
    bad: o => (conf(o)["kubernetes.operator.deployment.rollback.enabled"] = "true"),
    good: o => (
      (conf(o)["kubernetes.operator.deployment.rollback.enabled"] = "true"),
      (conf(o)["high-availability.type"] = "kubernetes")
    ),
    error:
      'spec.flinkConfiguration["kubernetes.operator.deployment.rollback.enabled"]: rollback needs high availability: set high-availability.type',
  },
  {
    rule: "health check needs deployment recovery",
    bad: o => (
      (conf(o)["kubernetes.operator.cluster.health-check.enabled"] = "true"),
      (conf(o)["kubernetes.operator.jm-deployment-recovery.enabled"] = "false")
    ),
    good: o => (conf(o)["kubernetes.operator.cluster.health-check.enabled"] = "true"),
    error:
      'spec.flinkConfiguration["kubernetes.operator.cluster.health-check.enabled"]: the health check needs kubernetes.operator.jm-deployment-recovery.enabled to be true',
  },
  {
    rule: "ingress needs a template",
    bad: o => (o.spec.ingress = { className: "nginx" }),
    good: o => (o.spec.ingress = { template: "https://{{name}}.{{namespace}}.example.com/ui" }),
    error:
      'spec.ingress.template: is required when spec.ingress is set, e.g. "{{name}}.{{namespace}}.example.com"',
  },
  {
    rule: "ingress template placeholders",
    bad: o => (o.spec.ingress = { template: "{{cluster}}.example.com" }),
    good: o => (o.spec.ingress = { template: "/{{namespace}}/{{name}}(/|$)(.*)" }),
    error:
      "spec.ingress.template: unknown placeholder {{cluster}}; only {{name}} and {{namespace}} are replaced",
  },
  {
    rule: "ingress template host",
    bad: o => (o.spec.ingress = { template: "Flink_UI.example.com/{{name}}" }),
    good: o => (o.spec.ingress = { template: "example.com/{{namespace}}/{{name}}(/|$)(.*)" }),
    error:
      "spec.ingress.template: gives host \"Flink_UI.example.com\", which is not a valid DNS name (lowercase letters, digits, '-' and '.')",
  },
  {
    rule: "log configuration keys",
    bad: o => (o.spec.logConfiguration = { "log4j.properties": "x" }),
    good: o =>
      (o.spec.logConfiguration = { "log4j-console.properties": "x", "logback-console.xml": "y" }),
    error:
      'spec.logConfiguration["log4j.properties"]: is not a log configuration file; use log4j-console.properties or logback-console.xml',
  },
  {
    rule: "stateful upgrades need a checkpoint directory",
    bad: o => (
      (o.spec.job.upgradeMode = "last-state"),
      delete conf(o)["execution.checkpointing.dir"]
    ),
    good: o => (
      (o.spec.job.upgradeMode = "last-state"),
      delete conf(o)["execution.checkpointing.dir"],
      (conf(o)["state.checkpoints.dir"] = "s3://b/cp")
    ),
    error: `spec.job.upgradeMode: last-state upgrades need a checkpoint directory: set ${CP} in flinkConfiguration`,
  },
  {
    rule: "savepoint upgrades need a savepoint directory",
    bad: o => delete conf(o)["execution.checkpointing.savepoint-dir"],
    good: o => (
      delete conf(o)["execution.checkpointing.savepoint-dir"],
      (conf(o)["state.savepoints.dir"] = "s3://b/sp")
    ),
    error: `spec.job.upgradeMode: savepoint upgrade mode needs a savepoint directory: set ${SP} in flinkConfiguration`,
  },
  {
    rule: "manual savepoints need a savepoint directory",
    bad: o => (
      (o.spec.job.upgradeMode = "stateless"),
      (o.spec.job.savepointTriggerNonce = 1),
      delete conf(o)["execution.checkpointing.savepoint-dir"]
    ),
    good: o => ((o.spec.job.upgradeMode = "stateless"), (o.spec.job.savepointTriggerNonce = 1)),
    error: `spec.job.savepointTriggerNonce: a manual savepoint needs a savepoint directory: set ${SP} in flinkConfiguration`,
  },
  {
    rule: "periodic savepoints need a savepoint directory",
    bad: o => (
      (o.spec.job.upgradeMode = "stateless"),
      (conf(o)["kubernetes.operator.periodic.savepoint.interval"] = "1h"),
      delete conf(o)["execution.checkpointing.savepoint-dir"]
    ),
    good: o => (conf(o)["kubernetes.operator.periodic.savepoint.interval"] = "1h"),
    error: `spec.flinkConfiguration["kubernetes.operator.periodic.savepoint.interval"]: periodic savepoints needs a savepoint directory: set ${SP} in flinkConfiguration`,
  },
  {
    rule: "checkpoint age limit needs a savepoint directory",
    bad: o => (
      (o.spec.job.upgradeMode = "stateless"),
      (conf(o)["kubernetes.operator.job.upgrade.last-state.max.allowed.checkpoint.age"] = "10 min"),
      delete conf(o)["execution.checkpointing.savepoint-dir"]
    ),
    good: o =>
      (conf(o)["kubernetes.operator.job.upgrade.last-state.max.allowed.checkpoint.age"] = "10 min"),
    error: `spec.flinkConfiguration["kubernetes.operator.job.upgrade.last-state.max.allowed.checkpoint.age"]: a maximum checkpoint age (it falls back to savepoint upgrades) needs a savepoint directory: set ${SP} in flinkConfiguration`,
  },
  {
    rule: "taskManager.replicas at least 1",
    bad: o => (o.spec.taskManager.replicas = 0),
    good: o => (o.spec.taskManager.replicas = 1),
    error: "spec.taskManager.replicas: must be at least 1, got 0",
  },
  {
    rule: "parallelism at least 1 without replicas",
    bad: o => (o.spec.job.parallelism = 0),
    good: o => ((o.spec.job.parallelism = 0), (o.spec.taskManager.replicas = 2)),
    error: "spec.job.parallelism: must be at least 1, got 0",
  },
  {
    rule: "parallelism required without replicas",
    bad: o => delete o.spec.job.parallelism,
    good: o => (delete o.spec.job.parallelism, (o.spec.taskManager.replicas = 2)),
    error: "spec.job.parallelism: is required when spec.taskManager.replicas is not set",
  },
  ...(["jobManager", "taskManager"] as const).flatMap((role): Case[] => {
    const key =
      role === "jobManager" ? "jobmanager.memory.process.size" : "taskmanager.memory.process.size";
    return [
      {
        rule: `${role} memory required`,
        bad: o => delete o.spec[role].resource.memory,
        good: o => (delete o.spec[role].resource.memory, (conf(o)[key] = "2g")),
        error: `spec.${role}.resource.memory: is required (or set resources.requests.memory, or ${key} in flinkConfiguration)`,
      },
      {
        rule: `${role} memory parses`,
        bad: o => (o.spec[role].resource.memory = "2 gigs"),
        good: o => (o.spec[role].resource.memory = "2Gi"),
        error: `spec.${role}.resource.memory: must be a memory size such as 2048m, 2g or 2Gi, got "2 gigs"`,
      },
      {
        rule: `${role} memory positive`,
        bad: o => (o.spec[role].resource.memory = "0m"),
        good: o => (o.spec[role].resource.memory = "1g"),
        error: `spec.${role}.resource.memory: must be greater than 0, got "0m"`,
      },
      {
        rule: `${role} ephemeral storage parses`,
        bad: o => (o.spec[role].resource.ephemeralStorage = "ten gigs"),
        good: o => (o.spec[role].resource.ephemeralStorage = "10Gi"),
        error: `spec.${role}.resource.ephemeralStorage: must be a Kubernetes quantity such as 10Gi, got "ten gigs"`,
      },
      {
        rule: `${role} cpu positive`,
        bad: o => (o.spec[role].resource.cpu = 0),
        good: o => (o.spec[role].resource.cpu = 0.5),
        error: `spec.${role}.resource.cpu: must be greater than 0, got 0`,
      },
      {
        rule: `${role} resources memory positive`,
        bad: o => (o.spec[role] = { resources: { requests: { memory: "0" } } }),
        good: o => (o.spec[role] = { resources: { requests: { memory: "2Gi" } } }),
        error: `spec.${role}.resources.requests.memory: must be greater than 0, got "0"`,
      },
      {
        rule: `${role} resources cpu positive`,
        bad: o => (o.spec[role] = { resources: { requests: { memory: "2Gi", cpu: 0 } } }),
        good: o => (o.spec[role] = { resources: { requests: { memory: "2Gi", cpu: "500m" } } }),
        error: `spec.${role}.resources.requests.cpu: must be greater than 0, got 0`,
      },
      {
        rule: `${role} resources other amounts not negative`,
        bad: o =>
          (o.spec[role] = {
            resources: { requests: { memory: "2Gi", "ephemeral-storage": "-1Gi" } },
          }),
        good: o =>
          (o.spec[role] = { resources: { requests: { memory: "2Gi", "ephemeral-storage": "0" } } }),
        error: `spec.${role}.resources.requests.ephemeral-storage: must not be negative, got "-1Gi"`,
      },
      {
        rule: `${role} resources request within limit`,
        bad: o =>
          (o.spec[role] = {
            resources: { requests: { memory: "4Gi" }, limits: { memory: "2Gi" } },
          }),
        good: o =>
          (o.spec[role] = {
            resources: { requests: { memory: "2Gi" }, limits: { memory: "4Gi" } },
          }),
        error: `spec.${role}.resources.requests.memory: must not exceed limits.memory ("4Gi" > "2Gi")`,
      },
      {
        rule: `${role} resources quantities parse`,
        bad: o => (o.spec[role] = { resources: { requests: { memory: "2 GB" } } }),
        good: o => (o.spec[role] = { resources: { requests: { memory: "2G" } } }),
        error: `spec.${role}.resources.requests.memory: must be a Kubernetes quantity such as 500m, 2Gi or 1, got "2 GB"`,
      },
    ];
  }),
  {
    rule: "jobManager.replicas at least 1",
    bad: o => (o.spec.jobManager.replicas = 0),
    good: o => (o.spec.jobManager.replicas = 1),
    error: "spec.jobManager.replicas: must be at least 1, got 0",
  },
  {
    rule: "standby JobManagers need HA",
    bad: o => (o.spec.jobManager.replicas = 2),
    good: o => (
      (o.spec.jobManager.replicas = 2),
      (conf(o)["high-availability"] = { type: "kubernetes", storageDir: "s3://b/ha" })
    ),
    error:
      "spec.jobManager.replicas: 2 JobManagers need high availability: set high-availability.type to kubernetes",
  },
  {
    rule: "no session to application switch",
    bad: o => deployed(o, session().spec),
    good: o => deployed(o, application().spec),
    error:
      "spec.job: cannot be added: a session cluster cannot become an application cluster; create a new FlinkDeployment",
  },
  {
    rule: "no application to session switch",
    bad: o => (delete o.spec.job, deployed(o, application().spec)),
    good: o => (delete o.spec.job, deployed(o, session().spec)),
    error:
      "spec.job: cannot be removed: an application cluster cannot become a session cluster; create a new FlinkDeployment",
  },
  {
    rule: "no native to standalone switch",
    bad: o => ((o.spec.mode = "standalone"), deployed(o, application().spec)),
    good: o => ((o.spec.mode = "native"), deployed(o, application().spec)),
    error: "spec.mode: cannot change from native to standalone after the first deployment",
  },
  {
    rule: "no standalone to native switch",
    bad: o => deployed(o, { ...application().spec, mode: "standalone" }),
    good: o => (
      (o.spec.mode = "standalone"),
      deployed(o, { ...application().spec, mode: "standalone" })
    ),
    error: "spec.mode: cannot change from standalone to native after the first deployment",
  },
  {
    rule: "no version change after last-state suspend",
    bad: o => {
      const last = application().spec;
      last.flinkVersion = "v1_19";
      last.job.upgradeMode = "last-state";
      last.job.state = "suspended";
      deployed(o, last);
    },
    good: o => {
      const last = application().spec;
      last.job.upgradeMode = "last-state";
      last.job.state = "suspended";
      deployed(o, last);
    },
    error:
      "spec.flinkVersion: cannot change from v1_19 to v1_20 while the job is suspended with last-state; resume it on v1_19 first, then upgrade",
  },
  {
    rule: "savepoint redeploy needs a savepoint path",
    bad: o => ((o.spec.job.savepointRedeployNonce = 2), deployed(o, application().spec)),
    good: o => (
      (o.spec.job.savepointRedeployNonce = 2),
      (o.spec.job.initialSavepointPath = "s3://b/sp/savepoint-1"),
      deployed(o, application().spec)
    ),
    error:
      "spec.job.initialSavepointPath: is required when savepointRedeployNonce changes: it names the savepoint to redeploy from",
  },
  ...[
    ["job.autoscaler.scale-down.max-factor", "1.5", "0.5", "must be in [0, 1], got 1.5"],
    ["job.autoscaler.scale-up.max-factor", "-1", "100000", "must be in [0, ∞), got -1"],
    ["job.autoscaler.target.utilization", "1.2", "0.7", "must be in [0, 1], got 1.2"],
    ["job.autoscaler.target.utilization.boundary", "-0.1", "0.3", "must be in [0, ∞), got -0.1"],
    ["job.autoscaler.utilization.min", "2", "0.3", "must be in [0, 1], got 2"],
    ["job.autoscaler.utilization.max", "-1", "0.9", "must be in [0, 1], got -1"],
    ["job.autoscaler.vertex.min-parallelism", "0", "1", "must be in [1, ∞), got 0"],
    [
      "job.autoscaler.vertex.max-parallelism",
      "2.5",
      "8",
      'must be a whole number in [1, ∞), got "2.5"',
    ],
  ].map(
    ([key, bad, good, message]): Case => ({
      rule: `autoscaler ${key}`,
      bad: o => ((conf(o)["job.autoscaler.enabled"] = "true"), (conf(o)[key] = bad)),
      good: o => ((conf(o)["job.autoscaler.enabled"] = "true"), (conf(o)[key] = good)),
      error: `spec.flinkConfiguration["${key}"]: ${message}`,
    }),
  ),
  {
    rule: "autoscaler utilization order",
    bad: o =>
      Object.assign(conf(o), {
        "job.autoscaler.enabled": "true",
        "job.autoscaler.utilization.min": "0.8",
        "job.autoscaler.target.utilization": "0.7",
      }),
    good: o =>
      Object.assign(conf(o), {
        "job.autoscaler.enabled": "true",
        "job.autoscaler.utilization.min": "0.6",
        "job.autoscaler.target.utilization": "0.7",
      }),
    error:
      'spec.flinkConfiguration["job.autoscaler.utilization.min"]: must not be greater than job.autoscaler.target.utilization (0.8 > 0.7)',
  },
  {
    rule: "autoscaler parallelism order",
    bad: o =>
      Object.assign(conf(o), {
        "job.autoscaler.enabled": "true",
        "job.autoscaler.vertex.min-parallelism": "8",
        "job.autoscaler.vertex.max-parallelism": "4",
      }),
    good: o =>
      Object.assign(conf(o), {
        "job.autoscaler.enabled": "false",
        "job.autoscaler.vertex.min-parallelism": "8",
        "job.autoscaler.vertex.max-parallelism": "4",
      }),
    error:
      'spec.flinkConfiguration["job.autoscaler.vertex.min-parallelism"]: must not be greater than job.autoscaler.vertex.max-parallelism (8 > 4)',
  },
  {
    rule: "application jar scheme",
    bad: o => (o.spec.job.jarURI = "ftp://host/job.jar"),
    good: o => (o.spec.job.jarURI = "s3://bucket/jobs/job.jar"),
    error:
      'spec.job.jarURI: scheme "ftp" is not supported for application clusters; use local:// for a jar in the image, or http(s):// or s3:// for a jar the operator fetches',
  },
  {
    rule: "application jar is a URI",
    bad: o => (o.spec.job.jarURI = "/opt/flink/job.jar"),
    good: o => (o.spec.job.jarURI = "https://repo.example.com/job.jar"),
    error:
      'spec.job.jarURI: must be a URI with a scheme such as local:///opt/flink/usrlib/job.jar, got "/opt/flink/job.jar"',
  },
  {
    rule: "pod template container without image is the main one",
    bad: o =>
      (o.spec.podTemplate = {
        spec: { containers: [{ name: "main", volumeMounts: [{ name: "v", mountPath: "/data" }] }] },
      }),
    good: o =>
      (o.spec.podTemplate = {
        spec: {
          containers: [{ name: "flink-main-container" }, { name: "sidecar", image: "busybox" }],
        },
      }),
    error:
      'spec.podTemplate.spec.containers[0].name: a container without an image must be the main container, named flink-main-container, got "main"',
  },
  {
    rule: "pod template is a Pod",
    bad: o =>
      (o.spec.taskManager.podTemplate = {
        spec: { containers: [{ name: "flink-main-container", volumeMount: [] }] },
      }),
    good: o =>
      (o.spec.taskManager.podTemplate = {
        spec: { containers: [{ name: "flink-main-container", volumeMounts: [] }] },
      }),
    error:
      'spec.taskManager.podTemplate.spec.containers[0].volumeMount: unknown field; did you mean "volumeMounts"?',
  },
  {
    rule: "pod template field types",
    bad: o =>
      (o.spec.jobManager.podTemplate = {
        spec: { containers: [{ name: "flink-main-container", ports: [{ containerPort: 70000 }] }] },
      }),
    good: o =>
      (o.spec.jobManager.podTemplate = {
        spec: { containers: [{ name: "flink-main-container", ports: [{ containerPort: 9249 }] }] },
      }),
    error:
      "spec.jobManager.podTemplate.spec.containers[0].ports[0].containerPort: must be at most 65535, got 70000",
  },
  {
    rule: "unknown spec field",
    bad: o => (o.spec.jobManger = {}),
    good: o => (o.spec.jobManager.replicas = 1),
    error: 'spec.jobManger: unknown field; did you mean "jobManager"?',
  },
  {
    rule: "upgradeMode enum",
    bad: o => (o.spec.job.upgradeMode = "laststate"),
    good: o => (o.spec.job.upgradeMode = "last-state"),
    error: 'spec.job.upgradeMode: must be one of stateless, savepoint, last-state, got "laststate"',
  },
  {
    rule: "imagePullPolicy",
    bad: o => (o.spec.imagePullPolicy = "always"),
    good: o => (o.spec.imagePullPolicy = "Always"),
    error: 'spec.imagePullPolicy: must be one of Always, IfNotPresent, Never, got "always"',
  },
  {
    rule: "operator option types",
    bad: o => (conf(o)["kubernetes.operator.reconcile.interval"] = "often"),
    good: o => (conf(o)["kubernetes.operator.reconcile.interval"] = "15 s"),
    error:
      'spec.flinkConfiguration["kubernetes.operator.reconcile.interval"]: must be a duration such as "30 s" or "5 min", got "often"',
  },
  {
    rule: "typed Flink options from the catalog",
    bad: o => (conf(o)["execution.checkpointing.timeout"] = "ten"),
    good: o => (conf(o)["execution.checkpointing.timeout"] = "10 min"),
    error:
      'spec.flinkConfiguration["execution.checkpointing.timeout"]: "execution.checkpointing.timeout": value "ten" is not a duration: use a whole number and a unit, e.g. "500 ms", "10 s", "5 min", "1 h"',
  },
  {
    rule: "configuration values have a value",
    bad: o => (conf(o)["pipeline.name"] = null),
    good: o => (conf(o)["pipeline.name"] = "x"),
    error: 'spec.flinkConfiguration["pipeline.name"]: must have a value (got null)',
  },
];

describe("FlinkDeployment rules", () => {
  it("accepts the base application and session specs", () => {
    expect(errors(application())).toEqual([]);
    expect(errors(session())).toEqual([]);
  });

  it.each(cases)("$rule: denied with the exact message", c => {
    const o = application();
    c.bad(o);
    expect(errors(o)).toEqual([c.error]);
  });

  it.each(cases)("$rule: the fixed spec passes", c => {
    const o = application();
    c.good(o);
    expect(errors(o)).toEqual([]);
  });

  it("reports every problem at once", () => {
    const o = application();
    o.spec.job.parallelism = 0;
    o.spec.jobManager.replicas = 0;
    o.spec.flinkConfiguration["kubernetes.namespace"] = "x";
    delete o.spec.serviceAccount;
    expect(errors(o)).toHaveLength(4);
  });

  it("takes operator defaults into the effective configuration", () => {
    const o = application();
    delete o.spec.flinkConfiguration["execution.checkpointing.savepoint-dir"];
    expect(errors(o, { "state.savepoints.dir": "s3://defaults/sp" })).toEqual([]);
  });

  it("skips the canary resource the reference operator uses for health checks", () => {
    expect(
      errors({ metadata: { name: "canary", labels: { "flink.apache.org/canary": "true" } } }),
    ).toEqual([]);
  });

  it("warns about suspicious but legal specs", () => {
    const o = application();
    o.spec.image = "flink:2.1";
    o.spec.flinkConfiguration["kubernetes.operator.reconcile.intervall"] = "15 s";
    o.spec.flinkConfiguration["taskmanager.numberOfTaskSlot"] = "2";
    o.spec.taskManager = { resources: { requests: { memory: "2048m" } } };
    o.spec.jobManager.resources = { requests: { memory: "1Gi" } };
    expect(warnings(o)).toEqual([
      'spec.flinkVersion: is v1_20 but image "flink:2.1" looks like Flink 2.1; the REST API and config keys follow flinkVersion',
      'spec.flinkConfiguration["kubernetes.operator.reconcile.intervall"]: is not an option this operator knows, so it has no effect; did you mean "kubernetes.operator.reconcile.interval"?',
      'spec.flinkConfiguration["taskmanager.numberOfTaskSlot"]: unknown Flink 1.20 option "taskmanager.numberOfTaskSlot"; did you mean "taskmanager.numberOfTaskSlots"?',
      "spec.jobManager.resource: is ignored because resources is also set; keep one of them",
      'spec.taskManager.resources.requests.memory: "2048m" is read as 2048 MiB, as Flink does; to Kubernetes it would mean 2.048 bytes. Write 2048Mi to be unambiguous',
    ]);
  });
});
