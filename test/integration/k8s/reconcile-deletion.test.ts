import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apply,
  children,
  condition,
  createNamespace,
  deleteNamespace,
  eventually,
  find,
  flinkDeployment,
  kubectl,
  ready,
} from "./reconcile-helpers";

const ns = `rc-deletion-${Date.now()}`;
const doomed = `rc-doomed-${Date.now()}`;
const TEST_FINALIZER = "test.flink-pepr-operator/hold";
const CHILD_KINDS = "deployments,statefulsets,services,configmaps,ingresses";

const sessionJob = (name: string, deploymentName: string) => ({
  apiVersion: "flink.apache.org/v1beta1",
  kind: "FlinkSessionJob",
  metadata: { name, namespace: ns },
  spec: {
    deploymentName,
    job: {
      jarURI:
        "https://repo1.maven.org/maven2/org/apache/flink/flink-examples-streaming/1.20.0/flink-examples-streaming-1.20.0.jar",
      parallelism: 1,
    },
  },
});

describe("reconcile: deletion", () => {
  beforeAll(() => Promise.all([createNamespace(ns), createNamespace(doomed)]));
  afterAll(() => Promise.all([deleteNamespace(ns), deleteNamespace(doomed)]));

  it("removes every child, then the finalizer", async () => {
    await apply(flinkDeployment(ns, "gone", { mode: "standalone", job: true }));
    const fd = await ready(ns, "gone");
    expect(await children(ns, fd.metadata.uid)).toHaveLength(6);
    // A second finalizer of the test's own keeps the FlinkDeployment in the API after the operator releases its
    // own. The garbage collector deletes the dependents of an owner only once the owner is gone (background
    // propagation), so whatever is gone while the owner is held was deleted by the operator.
    await kubectl(
      "patch",
      "flinkdep",
      "gone",
      "-n",
      ns,
      "--type=json",
      "-p",
      JSON.stringify([{ op: "add", path: "/metadata/finalizers/-", value: TEST_FINALIZER }]),
    );
    await kubectl("delete", "flinkdep", "gone", "-n", ns, "--wait=false");
    const held = await eventually(
      "the operator's finalizer released",
      async () => {
        const f = await find("flinkdeployment", ns, "gone");
        return f?.metadata.finalizers?.join() === TEST_FINALIZER ? f : undefined;
      },
      60_000,
    );
    expect(held.metadata.deletionTimestamp).toBeDefined();
    expect(await kubectl("get", CHILD_KINDS, "-n", ns, "-l", "app=gone", "-o", "name")).toBe("");
    expect(await children(ns, fd.metadata.uid)).toEqual([]);

    await kubectl(
      "patch",
      "flinkdep",
      "gone",
      "-n",
      ns,
      "--type=json",
      "-p",
      JSON.stringify([{ op: "remove", path: "/metadata/finalizers" }]),
    );
    await eventually(
      "the FlinkDeployment gone",
      async () => !(await find("flinkdeployment", ns, "gone")),
      30_000,
    );
    await eventually(
      "no pods",
      async () => (await kubectl("get", "pods", "-n", ns, "-l", "app=gone", "-o", "name")) === "",
      30_000,
    );
  });

  it("holds a session cluster with a session job, with a DeletionBlocked condition, until the job is gone", async () => {
    await apply(flinkDeployment(ns, "busy"));
    const fd = await ready(ns, "busy");
    await apply(sessionJob("busy-job", "busy"));
    expect(
      await kubectl(
        "get",
        "flinksessionjob",
        "busy-job",
        "-n",
        ns,
        "-o",
        "jsonpath={.metadata.labels.target\\.session}",
      ),
    ).toBe("busy");
    await kubectl("delete", "flinkdep", "busy", "-n", ns, "--wait=false");
    const blocked = await eventually("DeletionBlocked", async () => {
      const f = await find("flinkdeployment", ns, "busy");
      return condition(f, "Ready")?.reason === "DeletionBlocked" ? f : undefined;
    });
    expect(condition(blocked, "Ready")).toMatchObject({ status: "False" });
    expect(condition(blocked, "Ready").message).toContain("busy-job");
    expect(blocked.status.lifecycleState).toBe("DELETING");
    expect(await children(ns, fd.metadata.uid)).toHaveLength(4);
    expect(
      await kubectl(
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        "involvedObject.name=busy,reason=DeletionBlocked",
        "-o",
        "name",
      ),
    ).not.toBe("");

    await kubectl("delete", "flinksessionjob", "busy-job", "-n", ns);
    await eventually(
      "the session cluster gone",
      async () => !(await find("flinkdeployment", ns, "busy")),
      30_000,
    );
    await eventually(
      "no children",
      async () => (await children(ns, fd.metadata.uid)).length === 0,
      30_000,
    );
  });

  it("does not wait for session jobs when the resource says so (kubernetes.operator.session.deletion.block-on-session-jobs)", async () => {
    await apply(
      flinkDeployment(ns, "impatient", {
        conf: { "kubernetes.operator.session.deletion.block-on-session-jobs": "false" },
      }),
    );
    await ready(ns, "impatient");
    await apply(sessionJob("impatient-job", "impatient"));
    await kubectl("delete", "flinkdep", "impatient", "-n", ns, "--timeout=60s");
    expect(await find("flinkdeployment", ns, "impatient")).toBeUndefined();
    await kubectl("delete", "flinksessionjob", "impatient-job", "-n", ns);
  });

  it("finishes deleting a namespace that holds a FlinkDeployment and a session job", async () => {
    await apply({ ...flinkDeployment(doomed, "session") });
    await ready(doomed, "session");
    await apply({ ...sessionJob("job", "session"), metadata: { name: "job", namespace: doomed } });
    await kubectl("delete", "namespace", doomed, "--timeout=90s");
    expect(await kubectl("get", "namespace", doomed, "--ignore-not-found", "-o", "name")).toBe("");
  });
});
