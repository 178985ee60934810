import { describe, expect, it } from "vitest";
import {
  admitFlinkDeployment,
  admitFlinkSessionJob,
  applyDefaults,
  applySessionJobDefaults,
} from "../../lib/admission";
import { operatorSettings } from "../../lib/settings";
import { application, session, sessionJob } from "./validation/fixtures";

const settings = operatorSettings();

describe("admission", () => {
  it("denies with every message, one per line, each with its field path", () => {
    const o = application();
    o.spec.job.parallelism = 0;
    o.spec.jobManager.replicas = 0;
    const v = admitFlinkDeployment(o, settings);
    expect(v.allowed).toBe(false);
    expect(v.message).toBe(
      "FlinkDeployment has 2 problems:\n- spec.job.parallelism: must be at least 1, got 0\n- spec.jobManager.replicas: must be at least 1, got 0",
    );
  });

  it("admits with warnings", () => {
    const o = application();
    o.spec.image = "flink:1.19";
    const v = admitFlinkDeployment(o, settings);
    expect(v).toMatchObject({ allowed: true, message: "" });
    expect(v.warnings).toHaveLength(1);
  });

  it("applies the operator's allowed schemes and artifacts directory to session jobs", () => {
    const o = sessionJob();
    o.spec.job.jarURI = "s3://bucket/job.jar";
    expect(admitFlinkSessionJob(o, session(), settings).allowed).toBe(false);
    const permissive = operatorSettings({
      "kubernetes.operator.user.artifacts.allowed-schemes": "https;s3",
    });
    expect(admitFlinkSessionJob(o, session(), permissive).allowed).toBe(true);
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

  it("labels session jobs with their target session", () => {
    const o = applySessionJobDefaults(sessionJob());
    expect(o.metadata.labels).toEqual({ "target.session": "basic-session" });
  });
});
