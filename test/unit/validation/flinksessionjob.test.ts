import { describe, expect, it } from "vitest";
import { validateFlinkSessionJob } from "../../../lib/validation/flinksessionjob";
import { errorsOf, formatIssue, warningsOf } from "../../../lib/validation/issues";
import { ARTIFACTS, application, deployed, session, sessionJob } from "./fixtures";
import { HOST_TABLE } from "./host-table";

const check = (obj: unknown, target: any = session()) =>
  validateFlinkSessionJob(obj, { session: target, artifacts: ARTIFACTS });
const errors = (obj: unknown, target?: any) => errorsOf(check(obj, target)).map(formatIssue);

type Case = {
  rule: string;
  bad: (o: any) => void;
  good: (o: any) => void;
  error: string;
  target?: () => any;
};

const cases: Case[] = [
  {
    rule: "deploymentName required",
    bad: o => delete o.spec.deploymentName,
    good: o => (o.spec.deploymentName = "basic-session"),
    error: "spec.deploymentName: is required: name the session FlinkDeployment to run on",
  },
  {
    rule: "deploymentName is a valid name",
    bad: o => (o.spec.deploymentName = "Basic_Session"),
    good: o => (o.spec.deploymentName = "basic-session-2"),
    error: 'spec.deploymentName: is not a valid FlinkDeployment name, got "Basic_Session"',
  },
  {
    rule: "job required",
    bad: o => delete o.spec.job,
    good: o => (o.spec.job.entryClass = "org.example.Main"),
    error: "spec.job: is required",
  },
  {
    rule: "deploymentName immutable",
    bad: o => deployed(o, { ...sessionJob().spec, deploymentName: "other-session" }),
    good: o => deployed(o, sessionJob().spec),
    error:
      'spec.deploymentName: cannot change from "other-session" once the job was submitted; create a new FlinkSessionJob',
  },
  {
    rule: "jarURI required",
    bad: o => delete o.spec.job.jarURI,
    good: o => (o.spec.job.jarURI = "https://repo.example.com/a.jar"),
    error: "spec.job.jarURI: is required",
  },
  {
    rule: "jarURI scheme allow-list",
    bad: o => (o.spec.job.jarURI = "http://repo.example.com/job.jar"),
    good: o => (o.spec.job.jarURI = "https://repo.example.com/job.jar"),
    error:
      'spec.job.jarURI: scheme "http" is not allowed; allowed: https and file:// under /opt/flink/artifacts (operator option kubernetes.operator.user.artifacts.allowed-schemes)',
  },
  {
    rule: "local jars only under the artifacts directory",
    bad: o => (o.spec.job.jarURI = "file:///opt/flink/artifacts/../../../etc/passwd"),
    good: o => (o.spec.job.jarURI = "file:///opt/flink/artifacts/team-a/job.jar"),
    error:
      'spec.job.jarURI: local jars must be under the artifacts directory /opt/flink/artifacts, got "file:///opt/flink/artifacts/../../../etc/passwd"',
  },
  ...HOST_TABLE.filter(h => h.reason).map(
    ({ written, shown, reason }): Case => ({
      rule: `restricted host ${written}`,
      bad: o => (o.spec.job.jarURI = `https://${written}/job.jar`),
      good: o => (o.spec.job.jarURI = "https://8.8.8.8/job.jar"),
      error: `spec.job.jarURI: host "${shown}" is ${reason}; jars must come from a public host`,
    }),
  ),
  {
    rule: "target must be a session cluster",
    bad: () => undefined,
    target: () => ({ ...application(), metadata: { name: "basic-session" } }),
    good: () => undefined,
    error:
      'spec.deploymentName: "basic-session" is an application cluster; session jobs need a session FlinkDeployment (one without spec.job)',
  },
  {
    rule: "job rules with the session's configuration",
    bad: o => (
      (o.spec.job.upgradeMode = "savepoint"),
      (o.spec.flinkConfiguration = { "execution.checkpointing.savepoint-dir": "" })
    ),
    good: o => (o.spec.job.upgradeMode = "savepoint"),
    error:
      "spec.job.upgradeMode: savepoint upgrade mode needs a savepoint directory: set execution.checkpointing.savepoint-dir (state.savepoints.dir before Flink 1.20) in flinkConfiguration",
  },
  {
    rule: "parallelism at least 1",
    bad: o => (o.spec.job.parallelism = 0),
    good: o => (o.spec.job.parallelism = 1),
    error: "spec.job.parallelism: must be at least 1, got 0",
  },
  {
    rule: "autoscaler ranges",
    bad: o =>
      (o.spec.flinkConfiguration = {
        "job.autoscaler.enabled": true,
        "job.autoscaler.target.utilization": 3,
      }),
    good: o =>
      (o.spec.flinkConfiguration = {
        "job.autoscaler.enabled": true,
        "job.autoscaler.target.utilization": 0.5,
      }),
    error: 'spec.flinkConfiguration["job.autoscaler.target.utilization"]: must be in [0, 1], got 3',
  },
  {
    rule: "forbidden keys",
    bad: o => (o.spec.flinkConfiguration = { "kubernetes.cluster-id": "x" }),
    good: o => (o.spec.flinkConfiguration = { "pipeline.name": "x" }),
    error:
      'spec.flinkConfiguration["kubernetes.cluster-id"]: is set by the operator from the resource\'s name and namespace; remove it',
  },
];

describe("FlinkSessionJob rules", () => {
  it("accepts the base session job", () => expect(errors(sessionJob())).toEqual([]));

  it.each(cases)("$rule: denied with the exact message", c => {
    const o = sessionJob();
    c.bad(o);
    expect(errors(o, c.target?.() ?? session())).toEqual([c.error]);
  });

  it.each(cases.filter(c => !c.target))("$rule: the fixed job passes", c => {
    const o = sessionJob();
    c.good(o);
    expect(errors(o)).toEqual([]);
  });

  it("checks what it can when the session cluster does not exist yet", () => {
    const o = sessionJob();
    o.spec.job.upgradeMode = "savepoint";
    expect(errors(o, null)).toEqual([]);
    o.spec.job.parallelism = 0;
    expect(errors(o, null)).toEqual(["spec.job.parallelism: must be at least 1, got 0"]);
  });

  it("warns about cluster options a session job cannot change", () => {
    const o = sessionJob();
    o.spec.flinkConfiguration = { "taskmanager.numberOfTaskSlots": "4" };
    expect(warningsOf(check(o)).map(formatIssue)).toEqual([
      'spec.flinkConfiguration["taskmanager.numberOfTaskSlots"]: is a cluster option; a job on a running session cluster cannot change it (set it on the session FlinkDeployment)',
    ]);
  });
});
