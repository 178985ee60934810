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
    await kubectl("delete", "flinkdep", "gone", "-n", ns, "--timeout=60s");
    expect(await find("flinkdeployment", ns, "gone")).toBeUndefined();
    // Deleted by the operator, not left to the garbage collector: nothing owned remains, even briefly orphaned.
    await eventually(
      "no children",
      async () => (await children(ns, fd.metadata.uid)).length === 0,
      30_000,
    );
    expect(await kubectl("get", "pods", "-n", ns, "-l", "app=gone", "-o", "name")).toBe("");
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
