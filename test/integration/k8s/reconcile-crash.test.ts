import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apply,
  children,
  createNamespace,
  deleteNamespace,
  eventually,
  events,
  find,
  flinkDeployment,
  kubectl,
  modulePid,
  ready,
} from "./reconcile-helpers";

const ns = `rc-crash-${Date.now()}`;

/** SIGKILL: no clean-up, no last status write, as when a node dies. dev.ts starts the module again. */
async function killModule(): Promise<void> {
  const pid = modulePid();
  expect(pid).toBeDefined();
  process.kill(pid!, "SIGKILL");
  await eventually("the module restarted", async () => {
    const next = modulePid();
    return next !== undefined && next !== pid;
  });
}

const STANDALONE_SESSION = [
  "ConfigMap/flink-config-crash",
  "Service/crash",
  "Service/crash-rest",
  "Service/crash-taskmanager",
  "StatefulSet/crash",
  "StatefulSet/crash-taskmanager",
];

describe("reconcile: the operator killed mid-reconcile", () => {
  beforeAll(() => createNamespace(ns));
  afterAll(() => deleteNamespace(ns));

  it("resumes an upgrade recorded ahead of acting, without duplicate children or lost status", async () => {
    await apply(flinkDeployment(ns, "crash", { mode: "standalone", replicas: 1 }));
    const first = await ready(ns, "crash");
    const jm = await find("statefulset", ns, "crash");

    await kubectl(
      "patch",
      "flinkdep",
      "crash",
      "-n",
      ns,
      "--type=merge",
      "-p",
      '{"spec":{"image":"flink:2.2.0"}}',
    );
    // Killed as soon as the new target is on record: the old cluster may or may not be stopped yet.
    await eventually(
      "the write-ahead of generation 2",
      async () =>
        (
          await find("flinkdeployment", ns, "crash")
        ).status.reconciliationStatus.lastReconciledSpec.includes('"generation":2'),
      30_000,
    );
    await killModule();

    const fd = await eventually(
      "generation 2 ready",
      async () => {
        const f = await ready(ns, "crash", 90_000);
        return f.metadata.generation === 2 ? f : undefined;
      },
      90_000,
    );
    expect(await children(ns, first.metadata.uid)).toEqual(STANDALONE_SESSION);
    const jmAfter = await find("statefulset", ns, "crash");
    expect(jmAfter.metadata.uid).not.toBe(jm.metadata.uid);
    expect(jmAfter.metadata.annotations["flinkdeployment.flink.apache.org/generation"]).toBe("2");
    expect(jmAfter.spec.template.spec.containers[0].image).toBe("flink:2.2.0");
    expect(fd.status.reconciliationStatus.lastReconciledSpec).toContain('"image":"flink:2.2.0"');
    expect(fd.status.reconciliationStatus.lastStableSpec).toBe(
      fd.status.reconciliationStatus.lastReconciledSpec,
    );
    expect(
      await kubectl("get", "pods", "-n", ns, "-l", "app=crash,component=jobmanager", "-o", "name"),
    ).toBe("pod/crash-0");
    expect(await events(ns, "crash")).toContain("Deployed: generation 2 applied");
  });

  it("finishes a first deployment interrupted at its start", async () => {
    await apply(flinkDeployment(ns, "fresh", { job: true }));
    await killModule();
    const fd = await ready(ns, "fresh", 90_000);
    expect(await children(ns, fd.metadata.uid)).toEqual([
      "ConfigMap/flink-config-fresh",
      "Deployment/fresh",
      "Service/fresh",
      "Service/fresh-rest",
    ]);
    expect(fd.metadata.finalizers).toEqual(["flinkdeployments.flink.apache.org/finalizer"]);
    expect(fd.status.jobStatus.jobId).toMatch(/^[0-9a-f]{32}$/);
    expect(
      (await kubectl("get", "replicasets", "-n", ns, "-l", "app=fresh", "-o", "name")).split("\n"),
    ).toHaveLength(1);
  });
});
