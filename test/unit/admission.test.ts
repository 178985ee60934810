import { describe, expect, it } from "vitest";
import {
  admitFlinkDeployment,
  admitFlinkSessionJob,
  applyDefaults,
  applySessionJobDefaults,
  mutationDenials,
  serviceAccountToCheck,
} from "../../lib/admission";
import { application, deployed, session, sessionJob } from "./validation/fixtures";

const none = { operatorConfig: {} };

describe("admission", () => {
  it("denies with every message, one per line, each with its field path", () => {
    const o = application();
    o.spec.job.parallelism = 0;
    o.spec.jobManager.replicas = 0;
    const v = admitFlinkDeployment(o, none);
    expect(v.allowed).toBe(false);
    expect(v.message).toBe(
      "FlinkDeployment has 2 problems:\n- spec.job.parallelism: must be at least 1, got 0\n- spec.jobManager.replicas: must be at least 1, got 0",
    );
  });

  it("admits with warnings", () => {
    const o = application();
    o.spec.image = "flink:1.19";
    const v = admitFlinkDeployment(o, none);
    expect(v).toMatchObject({ allowed: true, message: "" });
    expect(v.warnings).toHaveLength(1);
  });

  it("warns, naming the field, when spec.serviceAccount does not exist in the namespace, and still admits", () => {
    const o = application();
    expect(serviceAccountToCheck(o, { old: null })).toEqual({
      namespace: "default",
      name: "flink",
    });
    const v = admitFlinkDeployment(o, { ...none, old: null, serviceAccountExists: false });
    expect(v).toMatchObject({ allowed: true, message: "" });
    expect(v.warnings).toEqual([
      'spec.serviceAccount: service account "flink" does not exist in namespace "default": the cluster\'s pods cannot be created until it does',
    ]);
    // Found, or not looked up (the apiserver did not answer in time): nothing to say.
    expect(admitFlinkDeployment(o, { ...none, serviceAccountExists: true }).warnings).toEqual([]);
    expect(admitFlinkDeployment(o, none).warnings).toEqual([]);
    // An update that leaves the spec alone is not judged, so the account is not looked up.
    const old = structuredClone(o);
    o.metadata.labels = { team: "a" };
    expect(serviceAccountToCheck(o, { old })).toBeUndefined();
  });

  it("applies the operator's allowed schemes and artifacts directory to session jobs", () => {
    const o = sessionJob();
    o.spec.job.jarURI = "s3://bucket/job.jar";
    expect(admitFlinkSessionJob(o, session(), none).allowed).toBe(false);
    const permissive = {
      operatorConfig: { "kubernetes.operator.user.artifacts.allowed-schemes": "https;s3" },
    };
    expect(admitFlinkSessionJob(o, session(), permissive).allowed).toBe(true);
    // A session job cannot widen the policy for itself.
    o.spec.flinkConfiguration = { "kubernetes.operator.user.artifacts.allowed-schemes": "s3" };
    expect(admitFlinkSessionJob(o, session(), none).allowed).toBe(false);
  });

  it("admits a jar from an internal host only when the operator ConfigMap names it, never by the job's own say", () => {
    const o = sessionJob();
    o.spec.job.jarURI = "https://127.0.0.1:8443/job.jar";
    expect(admitFlinkSessionJob(o, session(), none).message).toContain(
      'host "127.0.0.1" is loopback; jars must come from a public host',
    );
    const allowing = {
      operatorConfig: { "kubernetes.operator.user.artifacts.allowed-internal-hosts": "127.0.0.1" },
    };
    expect(admitFlinkSessionJob(o, session(), allowing).allowed).toBe(true);
    o.spec.job.jarURI = "https://jars.localhost/job.jar";
    const byName = {
      operatorConfig: {
        "kubernetes.operator.user.artifacts.allowed-internal-hosts": "jars.localhost",
      },
    };
    expect(admitFlinkSessionJob(o, session(), byName).allowed).toBe(true);
    o.spec.flinkConfiguration = {
      "kubernetes.operator.user.artifacts.allowed-internal-hosts": "jars.localhost",
    };
    expect(admitFlinkSessionJob(o, session(), none).allowed).toBe(false);
  });

  it("admits a spec whose savepoint directory comes from the operator ConfigMap, and denies it without", () => {
    const o = application();
    delete o.spec.flinkConfiguration["execution.checkpointing.savepoint-dir"];
    expect(admitFlinkDeployment(o, none).message).toContain(
      "spec.job.upgradeMode: savepoint upgrade mode needs a savepoint directory",
    );
    const withDir = {
      operatorConfig: { "execution.checkpointing.savepoint-dir": "s3://bucket/savepoints" },
    };
    expect(admitFlinkDeployment(o, withDir)).toEqual({ allowed: true, message: "", warnings: [] });
    // The same directory in the ConfigMap's section for another namespace does not count here.
    const elsewhere = {
      operatorConfig: {
        "kubernetes.operator.default-configuration.namespace.team-b.execution.checkpointing.savepoint-dir":
          "s3://bucket/savepoints",
      },
    };
    expect(admitFlinkDeployment(o, elsewhere).allowed).toBe(false);
    o.metadata.namespace = "team-b";
    expect(admitFlinkDeployment(o, elsewhere).allowed).toBe(true);
  });

  it("admits an update that leaves the spec alone even when the spec no longer passes, so it can be deleted", () => {
    const o = application();
    delete o.spec.flinkConfiguration["execution.checkpointing.savepoint-dir"];
    // Admitted while the operator ConfigMap gave the directory; the ConfigMap lost it since.
    const old = structuredClone(o);
    o.metadata.finalizers = [];
    expect(admitFlinkDeployment(o, { operatorConfig: {}, old })).toEqual({
      allowed: true,
      message: "",
      warnings: [],
    });
    o.spec.job.parallelism = 3;
    expect(admitFlinkDeployment(o, { operatorConfig: {}, old }).allowed).toBe(false);
    const job = sessionJob();
    job.spec.job.jarURI = "s3://bucket/job.jar";
    expect(admitFlinkSessionJob(job, session(), { operatorConfig: {}, old: job }).allowed).toBe(
      true,
    );
  });

  it("says when the operator ConfigMap was not read in time, so the verdict knows only the built-in defaults", () => {
    const v = admitFlinkDeployment(application(), {
      operatorConfig: {},
      stale: "the operator ConfigMap was not read within 2000 ms",
    });
    expect(v.allowed).toBe(true);
    expect(v.warnings).toEqual([
      "checked against the built-in defaults only: the operator ConfigMap was not read within 2000 ms",
    ]);
  });

  it("warns about an operator option that has no effect yet, naming it, and still admits", () => {
    const o = application();
    o.spec.flinkConfiguration["kubernetes.operator.exception.stacktrace.enabled"] = "true";
    const v = admitFlinkDeployment(o, none);
    expect(v.allowed).toBe(true);
    expect(v.warnings).toEqual([
      'spec.flinkConfiguration["kubernetes.operator.exception.stacktrace.enabled"]: is not implemented by this operator yet, so it has no effect',
    ]);
  });

  it("defaults job state and upgrade mode and flattens the configuration", () => {
    const o = application();
    delete o.spec.job.state;
    delete o.spec.job.upgradeMode;
    o.spec.flinkConfiguration = {
      state: { "savepoints.dir": "s3://b/sp" },
      "taskmanager.numberOfTaskSlots": 2,
    };
    applyDefaults(o);
    expect(o.spec.job).toMatchObject({ state: "running", upgradeMode: "stateless" });
    expect(o.spec.flinkConfiguration).toEqual({
      "state.savepoints.dir": "s3://b/sp",
      "taskmanager.numberOfTaskSlots": "2",
    });
  });

  it("keeps a configuration it cannot flatten for validation to report", () => {
    const o = application();
    o.spec.flinkConfiguration = { a: null };
    applyDefaults(o);
    expect(o.spec.flinkConfiguration).toEqual({ a: null });
  });

  it("defaults nothing in a job or session target of the wrong type, leaving it for validation to deny", () => {
    // The mutating webhook runs before the CRD schema: a throw here would be demoted to a warning.
    const o = application();
    o.spec.job = "x";
    expect(admitFlinkDeployment(applyDefaults(o), none)).toMatchObject({ allowed: false });
    expect(o.spec.job).toBe("x");
    const j = sessionJob();
    j.spec.deploymentName = 5;
    j.spec.job = ["x"];
    applySessionJobDefaults(j);
    expect(j.spec.job).toEqual(["x"]);
    expect(j.metadata.labels).toBeUndefined();
  });

  it("labels session jobs with their target session", () => {
    const o = applySessionJobDefaults(sessionJob());
    expect(o.metadata.labels).toEqual({ "target.session": "basic-session" });
  });

  it("reports the rules the CRD also has as CEL together with the webhook-only ones", () => {
    // The spec of issue 12: the apiserver's CEL would catch the first two, only the webhook the third.
    const o = application();
    o.spec.job.parallelism = -1;
    o.spec.logConfiguration = { "log4j.properties": "rootLogger.level = INFO" };
    o.spec.flinkConfiguration["kubernetes.cluster-id"] = "other";
    const v = admitFlinkDeployment(applyDefaults(o), none);
    expect(v.message.split("\n")).toEqual([
      "FlinkDeployment has 3 problems:",
      `- spec.flinkConfiguration["kubernetes.cluster-id"]: is set by the operator from the resource's name and namespace; remove it`,
      '- spec.logConfiguration["log4j.properties"]: is not a log configuration file; use log4j-console.properties or logback-console.xml',
      "- spec.job.parallelism: must be at least 1, got -1",
    ]);
  });

  it("judges a create in full: no stored object (null) is not an unchanged spec, even without a spec", () => {
    const o = application();
    delete o.spec;
    expect(admitFlinkDeployment(o, { ...none, old: null })).toMatchObject({
      allowed: false,
      message: "FlinkDeployment has 1 problem:\n- spec: is required",
    });
  });
});

describe("the deployed spec an update is judged against", () => {
  it("is read from the stored object's status, not from the status sent with the request", () => {
    const stored = deployed(session(), session().spec);
    const update = session();
    update.spec.mode = "standalone";
    const denial =
      "FlinkDeployment has 1 problem:\n- spec.mode: cannot change from native to standalone after the first deployment";
    expect(admitFlinkDeployment(update, { ...none, old: stored }).message).toBe(denial);
    update.status = deployed(session(), { ...session().spec, mode: "standalone" }).status;
    expect(admitFlinkDeployment(update, { ...none, old: stored }).message).toBe(denial);
    // A create stores no status.
    expect(admitFlinkDeployment(update, { ...none, old: null }).allowed).toBe(true);
  });
});

describe("denials from the mutating webhook", () => {
  const denied = {
    allowed: false,
    message: "FlinkDeployment has 1 problem:\n- x: y",
    warnings: ["w"],
  };

  it("turn Pepr's answer to a throwing Mutate into a denial with the verdict's message and warnings", () => {
    const d = mutationDenials();
    expect(() => d.deny("uid-1", denied)).toThrow("FlinkDeployment has 1 problem");
    const answer = {
      uid: "uid-1",
      allowed: false,
      result: "Pepr module configured to reject on error",
      warnings: ["Action failed: FlinkDeployment has 1 problem:\n- x: y"],
    };
    d.afterHook(answer);
    expect(answer).toEqual({
      uid: "uid-1",
      allowed: false,
      status: { code: 422, message: denied.message },
      warnings: ["w"],
    });
  });

  it("leave other answers alone, and each denial is used once", () => {
    const d = mutationDenials();
    expect(() => d.deny("uid-1", { ...denied, warnings: [] })).toThrow();
    const other = { uid: "uid-2", allowed: true, patch: "p", patchType: "JSONPatch" };
    d.afterHook(other);
    expect(other).toEqual({ uid: "uid-2", allowed: true, patch: "p", patchType: "JSONPatch" });
    const first = { uid: "uid-1", allowed: false };
    d.afterHook(first);
    expect(first).toEqual({
      uid: "uid-1",
      allowed: false,
      status: { code: 422, message: denied.message },
      warnings: undefined,
    });
    const again = { uid: "uid-1", allowed: true };
    d.afterHook(again);
    expect(again).toEqual({ uid: "uid-1", allowed: true });
  });
});
