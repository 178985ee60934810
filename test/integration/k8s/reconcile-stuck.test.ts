import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { previousLog } from "../../../lib/reconcile/kube";
import { LOG_LIMIT_BYTES, LOG_TAIL_LINES } from "../../../lib/reconcile/why-stuck";
import { runKubectl } from "./kubectl";
import {
  apply,
  condition,
  createNamespace,
  crashLoop,
  deleteNamespace,
  eventually,
  events,
  find,
  flinkDeployment,
  kubectl,
  ready,
  type Json,
} from "./reconcile-helpers";

const ns = `rc-stuck-${Date.now()}`;
const BASIC = join(process.cwd(), "test/fixtures/compat/1.15.0/basic.yaml");

function measure(what: string, ms: number) {
  process.stdout.write(`[measure] ${what}: ${(ms / 1000).toFixed(1)} s\n`);
}

const ofReason = async (name: string, reason: string) =>
  (await events(ns, name)).filter(e => e.startsWith(`${reason}: `));

/** The Events of a reason once there is one (a pass records them after it writes status). */
const firstOf = (name: string, reason: string) =>
  eventually(`a ${reason} Event`, () => ofReason(name, reason).then(e => e.length > 0 && e));

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

describe("reconcile: why a cluster does not run", () => {
  beforeAll(() => createNamespace(ns));
  afterAll(() => deleteNamespace(ns));

  it("applies the compat basic example in a namespace without the flink service account with a warning, then names the missing account in Ready, status.error and one Event within seconds", async () => {
    const applied = await runKubectl(["apply", "-n", ns, "-f", BASIC]);
    expect(applied.code).toBe(0);
    expect(applied.stdout.trim()).toBe("flinkdeployment.flink.apache.org/basic-example created");
    expect(applied.stderr.trim().split("\n")).toContain(
      `Warning: spec.serviceAccount: service account "flink" does not exist in namespace "${ns}": the cluster's pods cannot be created until it does`,
    );
    const started = Date.now();
    const fd = await eventually(
      "Ready naming the missing account",
      async () => {
        const f = await find("flinkdeployment", ns, "basic-example");
        return condition(f, "Ready")?.message?.includes('serviceaccount "flink" not found') && f;
      },
      30_000,
    );
    const took = Date.now() - started;
    measure("basic example without its service account: apply to Ready naming it", took);
    expect(took).toBeLessThan(5_000);
    expect(condition(fd, "Ready")).toMatchObject({ status: "False", reason: "JobManagerError" });
    expect(condition(fd, "Ready").message).toMatch(
      /^the JobManager's pods cannot be created: pods "basic-example-[a-z0-9]+-" is forbidden: error looking up service account rc-stuck-\d+\/flink: serviceaccount "flink" not found/,
    );
    expect(fd.status.jobManagerDeploymentStatus).toBe("ERROR");
    expect(fd.status.error).toContain('serviceaccount "flink" not found');
    const failed = await firstOf("basic-example", "FailedCreate");
    expect(failed).toEqual([`FailedCreate: ${fd.status.error}`]);
  });

  it("runs once the account exists, and a JobManager whose REST API does not answer is a reason in status and one Event, not a failing pass", async () => {
    // kwok runs no containers: the JobManager's REST API never answers here.
    await kubectl("create", "serviceaccount", "flink", "-n", ns);
    const fd = await ready(ns, "basic-example", 120_000);
    expect(fd.status.error).toMatch(
      /^the job's state cannot be read from the JobManager's REST API: /,
    );
    expect(condition(fd, "Running")).toMatchObject({
      status: "Unknown",
      reason: "JobStatusUnknown",
    });
    // Passes keep coming (the job is not RUNNING, so at the progress interval); the Event does not.
    const observed = fd.status.conditions.find((c: Json) => c.type === "Ready").lastTransitionTime;
    await sleep(12_000);
    const later = await find("flinkdeployment", ns, "basic-example");
    expect(condition(later, "Ready")).toMatchObject({
      status: "True",
      lastTransitionTime: observed,
    });
    expect(await ofReason("basic-example", "JobManagerUnreachable")).toHaveLength(1);
    expect(await ofReason("basic-example", "FailedCreate")).toHaveLength(1);
  });

  it("names the FailedCreate events of a standalone cluster's StatefulSet, which has no condition for them", async () => {
    const sa = flinkDeployment(ns, "sa-missing", { mode: "standalone" });
    await apply({ ...sa, spec: { ...sa.spec, serviceAccount: "missing" } });
    const fd = await eventually("Ready naming the missing account", async () => {
      const f = await find("flinkdeployment", ns, "sa-missing");
      return condition(f, "Ready")?.message?.includes('serviceaccount "missing" not found') && f;
    });
    expect(fd.status.jobManagerDeploymentStatus).toBe("ERROR");
    expect(condition(fd, "Ready").message).toMatch(
      /^the JobManager's pods cannot be created: create Pod sa-missing-0 in StatefulSet sa-missing failed error: pods "sa-missing-0" is forbidden: error looking up service account rc-stuck-\d+\/missing: serviceaccount "missing" not found/,
    );
    // Passes every 2 s (FAST), one Event.
    await sleep(5_000);
    expect(await ofReason("sa-missing", "FailedCreate")).toHaveLength(1);
  });

  it("reports an unschedulable JobManager as DEPLOYING with the scheduler's words", async () => {
    const big = flinkDeployment(ns, "too-big");
    await apply({
      ...big,
      spec: { ...big.spec, jobManager: { resource: { memory: "1024m", cpu: 64 } } },
    });
    const fd = await eventually("Ready naming the scheduler's reason", async () => {
      const f = await find("flinkdeployment", ns, "too-big");
      return condition(f, "Ready")?.message?.includes("cannot be scheduled") && f;
    });
    expect(fd.status.jobManagerDeploymentStatus).toBe("DEPLOYING");
    expect(condition(fd, "Ready")).toMatchObject({ status: "False", reason: "Deploying" });
    expect(condition(fd, "Ready").message).toMatch(
      /^the JobManager pod cannot be scheduled: Unschedulable: 0\/1 nodes are available: 1 Insufficient cpu\./,
    );
    expect(await firstOf("too-big", "Unschedulable")).toHaveLength(1);
  });

  it("reports a crash-looping JobManager as ERROR with its exit code, in one Event, and asks the node for its previous log", async () => {
    await apply(flinkDeployment(ns, "crashing"));
    await ready(ns, "crashing");
    const pod = await crashLoop(ns, "app=crashing,component=jobmanager");
    const fd = await eventually("ERROR naming the crash loop", async () => {
      const f = await find("flinkdeployment", ns, "crashing");
      return f?.status?.jobManagerDeploymentStatus === "ERROR" && f;
    });
    expect(condition(fd, "Ready")).toMatchObject({ status: "False", reason: "JobManagerError" });
    // A later pass adds since when (status.ts); the cause is the same.
    const message = condition(fd, "Ready").message.replace(/ \(since [^)]*\)$/, "");
    expect(message).toBe(
      `JobManager container flink-main-container keeps crashing (exit code 1) (pod ${pod.metadata.name})`,
    );
    expect(fd.status.error).toBe(message);
    expect(await firstOf("crashing", "CrashLoopBackOff")).toEqual([`CrashLoopBackOff: ${message}`]);
    // kwok's node serves no logs, so the message has no log lines (the unit tests have a real Flink log).
    // The read itself goes through: the apiserver negotiates it and asks the node, with the pass's limits.
    process.env.KUBECONFIG = inject("kubeconfig");
    const refused = await previousLog(
      ns,
      pod.metadata.name,
      "flink-main-container",
      LOG_TAIL_LINES,
      LOG_LIMIT_BYTES,
    ).catch(e => e);
    expect(refused.status).toBe(500);
    expect(refused.data.message).toContain(
      `/containerLogs/${ns}/${pod.metadata.name}/flink-main-container?limitBytes=16384&previous=true&tailLines=40`,
    );
  });
});
