import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { FlinkRestClient } from "../../lib/flink/client";
import { checkpoint } from "../../lib/flink/operations";
import { resolveRestEndpoint } from "../../lib/reconcile/cluster-info";
import {
  apply,
  deleteNamespace,
  compatExample,
  eventually,
  getJson,
  jvmsOfPod,
  kubectl,
  namespaceWithFlinkAccount,
  pods,
  portForward,
  running,
  type Json,
} from "./helpers";

process.env.KUBECONFIG = inject("kubeconfig");

/**
 * The reference operator's basic application (compat example; only image and flinkVersion vary) on the real
 * node: Flink's own native client code in the JobManager creates the TaskManager, the job runs and checkpoints.
 */
describe.each([
  { flink: "1.20", image: "flink:1.20", flinkVersion: "v1_20" },
  { flink: "2.3", image: "flink:2.3", flinkVersion: "v2_3" },
])("the basic application on Flink $flink", ({ image, flinkVersion }) => {
  let ns: string;
  let client: FlinkRestClient;
  const name = "basic-example";

  beforeAll(async () => {
    ns = await namespaceWithFlinkAccount(`e2e-app-${flinkVersion.replace("_", "-")}`);
    await apply({
      ...compatExample("basic.yaml", { image, flinkVersion }),
      metadata: { name, namespace: ns },
    });
  });
  afterAll(() => deleteNamespace(ns));

  it("runs the JobManager, and a TaskManager that Flink itself created through the apiserver", async () => {
    const jm = await eventually(
      "a running JobManager pod",
      async () => (await pods(ns, `app=${name},component=jobmanager`)).find(running),
      180_000,
    );
    expect(jm.spec.nodeName).toBe("localhost");
    const tm = await eventually(
      "a running TaskManager pod",
      async () => (await pods(ns, `app=${name},component=taskmanager`)).find(running),
      180_000,
    );
    // Native mode: the TaskManager pod is Flink's, owned by the JobManager Deployment, not by a workload of ours.
    expect(tm.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "Deployment", name }),
    ]);
    expect(tm.spec.serviceAccountName).toBe("flink");
  });

  it("reports the job RUNNING, read from Flink's REST API through the apiserver's service proxy", async () => {
    const endpoint = await resolveRestEndpoint("proxy", {
      name: `${name}-rest`,
      namespace: ns,
      port: 8081,
    });
    client = new FlinkRestClient({ ...endpoint, timeoutMs: 10_000 });
    const dep: Json = await eventually(
      "status.jobStatus.state RUNNING",
      async () => {
        const d = await getJson("flinkdep", name, "-n", ns);
        return d.status?.jobStatus?.state === "RUNNING" && d;
      },
      180_000,
    );
    const jobs = await client.jobsOverview();
    expect(jobs.map(j => [j.jid, j.state])).toEqual([[dep.status.jobStatus.jobId, "RUNNING"]]);
    // clusterInfo is read in the same passes; the TaskManager registers with Flink after the job is RUNNING.
    const info = await eventually(
      "clusterInfo with the TaskManager",
      async () => {
        const d = await getJson("flinkdep", name, "-n", ns);
        return d.status?.clusterInfo?.["total-taskmanagers"] === "1" && d.status.clusterInfo;
      },
      120_000,
    );
    expect(info["flink-version"]).toBe(image === "flink:1.20" ? "1.20.5" : "2.3.0");
    const table = await kubectl("get", "flinkdep", name, "-n", ns);
    expect(table.split("\n")[1]).toMatch(
      new RegExp(`^${name}\\s+RUNNING\\s+STABLE|^${name}\\s+RUNNING\\s+DEPLOYED`),
    );
  });

  it("completes checkpoints: the example's periodic ones, then one triggered through the proxy", async () => {
    const { jobId } = (await getJson("flinkdep", name, "-n", ns)).status.jobStatus;
    await eventually(
      "a completed periodic checkpoint",
      async () => (await client.checkpoints(jobId)).counts.completed >= 1,
      120_000,
    );
    const done = await checkpoint(client, jobId, { timeoutMs: 60_000 });
    expect(done.checkpointId).toBeGreaterThan(0);
  });

  it("serves the Flink UI through a forwarded local port", async () => {
    const forward = await portForward(ns, `service/${name}-rest`, 8081);
    try {
      const page = await fetch(`${forward.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>Apache Flink Web Dashboard</title>");
      const overview = (await (await fetch(`${forward.url}/overview`)).json()) as Record<
        string,
        unknown
      >;
      expect(overview["jobs-running"]).toBe(1);
    } finally {
      forward.stop();
    }
  });

  it("leaves no JVM of the JobManager behind when its Deployment is scaled to zero", async () => {
    const [jm] = await pods(ns, `app=${name},component=jobmanager`);
    expect(jvmsOfPod(jm.metadata.uid).length).toBeGreaterThan(0);
    // The operator would restore the replica count at its next spec change only; scaling is the user's act here.
    await kubectl("scale", "deployment", name, "-n", ns, "--replicas=0");
    await eventually(
      "the JobManager pod to be gone",
      async () => (await pods(ns, `app=${name},component=jobmanager`)).length === 0,
      120_000,
    );
    expect(jvmsOfPod(jm.metadata.uid)).toEqual([]);
  });
});
