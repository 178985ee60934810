import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apply,
  createNamespace,
  deleteNamespace,
  eventually,
  events,
  find,
  flinkDeployment,
  kubectl,
  ready,
  type Json,
} from "./reconcile-helpers";

const ns = `rc-lifecycle-${Date.now()}`;

beforeAll(() => createNamespace(ns));
afterAll(() => deleteNamespace(ns));

const patch = (name: string, body: Json) =>
  kubectl("patch", "flinkdep", name, "-n", ns, "--type=merge", "-p", JSON.stringify(body));

/** The operator's own workloads and pods of the resource (kwok pods: no Flink runs). */
async function workloadsAndPods(name: string): Promise<string[]> {
  const out = await kubectl(
    "get",
    "deployments,statefulsets,pods",
    "-n",
    ns,
    "-l",
    `app=${name}`,
    "-o",
    "name",
  );
  return out.split("\n").filter(Boolean);
}

describe("reconcile: suspend and resume of a stateless application (kwok node)", () => {
  it("suspends to no workloads and no pods, then resumes to DEPLOYED with one Deployed event for the resumed generation", async () => {
    const name = "suspend-me";
    await apply(flinkDeployment(ns, name, { job: true }));
    const fd = await ready(ns, name);
    const jobId = fd.status.jobStatus.jobId;

    await patch(name, { spec: { job: { state: "suspended" } } });
    const suspended = await eventually("SUSPENDED with nothing left", async () => {
      const f = await find("flinkdeployment", ns, name);
      return f?.status?.lifecycleState === "SUSPENDED" &&
        !f.status.reconciliationStatus.operation &&
        (await workloadsAndPods(name)).length === 0
        ? f
        : undefined;
    });
    expect(suspended.status.reconciliationStatus).toMatchObject({
      state: "DEPLOYED",
      restore: { upgradeMode: "stateless" },
    });
    expect(suspended.status.jobStatus.state).toBe("SUSPENDED");
    expect(suspended.status.conditions.find((c: Json) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "Suspended",
    });

    await patch(name, { spec: { job: { state: "running" } } });
    const resumed = await ready(ns, name);
    expect(resumed.metadata.generation).toBe(3);
    // The write-ahead UPGRADING must not outlive the pass that deployed: the final write is a patch against it.
    expect(resumed.status.reconciliationStatus.state).toBe("DEPLOYED");
    expect(resumed.status.jobStatus.jobId).not.toBe(jobId);
    const seen = await events(ns, name);
    expect(seen.filter(e => e === "Deployed: generation 3 applied")).toHaveLength(1);
    expect(seen).toEqual(
      expect.arrayContaining([
        "SpecChanged: generation 2: suspend, stateless stop of the running cluster",
        `Suspended: stateless stop of job ${jobId} done`,
        "SpecChanged: resuming generation 3 from empty state",
      ]),
    );
  });

  it("deploys nothing for a resource created suspended, and starts it on resume", async () => {
    const name = "born-suspended";
    const dep = flinkDeployment(ns, name, { job: true });
    (dep.spec.job as Json).state = "suspended";
    await apply(dep);
    const fd = await eventually("SUSPENDED", async () => {
      const f = await find("flinkdeployment", ns, name);
      return f?.status?.lifecycleState === "SUSPENDED" ? f : undefined;
    });
    expect(fd.status.reconciliationStatus.state).toBe("DEPLOYED");
    expect(await workloadsAndPods(name)).toEqual([]);
    await patch(name, { spec: { job: { state: "running" } } });
    await ready(ns, name);
    expect(await workloadsAndPods(name)).toContain(`deployment.apps/${name}`);
  });
});
