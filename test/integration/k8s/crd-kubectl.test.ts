import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteNamespaces, getJson, kubectl, uniqueNamespace, webhookInPath } from "./kubectl";

const namespace = uniqueNamespace("crd-kubectl");

/** Canary-labelled: the reconciler leaves it alone, so only these tests write its spec and status. */
const canary = {
  apiVersion: "flink.apache.org/v1beta1",
  kind: "FlinkDeployment",
  metadata: { name: "printed", namespace, labels: { "flink.apache.org/canary": "true" } },
  spec: {
    image: "flink:1.20",
    flinkVersion: "v1_20",
    serviceAccount: "flink",
    jobManager: { resource: { memory: "1g", cpu: 1 } },
    taskManager: { replicas: 1, resource: { memory: "1g", cpu: 1 } },
    job: { jarURI: "local:///opt/flink/job.jar" },
  },
};

const sessionJob = {
  apiVersion: "flink.apache.org/v1beta1",
  kind: "FlinkSessionJob",
  metadata: { name: "listed", namespace },
  spec: {
    deploymentName: "some-session",
    job: { jarURI: "https://example.com/job.jar", parallelism: 1 },
  },
};

beforeAll(async () => {
  await kubectl(["create", "namespace", namespace]);
  await webhookInPath(namespace);
  await kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items: [canary, sessionJob] }),
  );
});

afterAll(() => deleteNamespaces([namespace]));

describe("the CRDs as kubectl sees them", () => {
  it("writes status through the status subresource", async () => {
    await kubectl([
      "patch",
      "flinkdep",
      "printed",
      "-n",
      namespace,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { jobStatus: { state: "RUNNING" }, lifecycleState: "STABLE" } }),
    ]);
    expect((await getJson(["flinkdep", "printed", "-n", namespace])).status).toMatchObject({
      jobStatus: { state: "RUNNING" },
      lifecycleState: "STABLE",
    });
  });

  it("ignores a status change sent to the main resource", async () => {
    const before = await getJson(["flinkdep", "printed", "-n", namespace]);
    await kubectl([
      "patch",
      "flinkdep",
      "printed",
      "-n",
      namespace,
      "--type=merge",
      "-p",
      JSON.stringify({ status: { lifecycleState: "FAILED" } }),
    ]);
    const after = await getJson(["flinkdep", "printed", "-n", namespace]);
    expect(after.status).toEqual(before.status);
    expect(after.metadata.generation).toBe(before.metadata.generation);
  });

  it("prints the Job Status, Lifecycle State and Age columns", async () => {
    const lines = (await kubectl(["get", "flinkdep", "printed", "-n", namespace])).split("\n");
    expect(lines[0].split(/\s{2,}/)).toEqual(["NAME", "JOB STATUS", "LIFECYCLE STATE", "AGE"]);
    expect(lines[1]).toMatch(/^printed\s+RUNNING\s+STABLE\s+\d+s$/);
  });

  it("lists both kinds under the flink category", async () => {
    const names = (await kubectl(["get", "flink", "-n", namespace, "-o", "name"]))
      .split("\n")
      .sort();
    expect(names).toEqual([
      "flinkdeployment.flink.apache.org/printed",
      "flinksessionjob.flink.apache.org/listed",
    ]);
  });

  it("finds both kinds by their short names", async () => {
    expect(await kubectl(["get", "sessionjob", "-n", namespace, "-o", "name"])).toBe(
      "flinksessionjob.flink.apache.org/listed",
    );
    expect(await kubectl(["get", "flinkdep", "-n", namespace, "-o", "name"])).toBe(
      "flinkdeployment.flink.apache.org/printed",
    );
  });

  it("scales spec.taskManager.replicas through the scale subresource", async () => {
    expect(await kubectl(["scale", "flinkdep/printed", "-n", namespace, "--replicas=3"])).toBe(
      "flinkdeployment.flink.apache.org/printed scaled",
    );
    const dep = await getJson(["flinkdep", "printed", "-n", namespace]);
    expect(dep.spec.taskManager.replicas).toBe(3);
    expect(dep.spec.taskManager.resource).toEqual({ memory: "1g", cpu: 1 });
    expect(dep.status.lifecycleState).toBe("STABLE");
  });
});
