import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { guardRules, POD_NET } from "../../scripts/sandbox/host";
import {
  apply,
  deleteNamespace,
  compatExample,
  eventually,
  getJson,
  kubectl,
  namespaceWithFlinkAccount,
  pods,
  processesOfPod,
  running,
} from "./helpers";

describe("the real node", () => {
  let ns: string;
  beforeAll(async () => {
    ns = await namespaceWithFlinkAccount("e2e-node");
  });
  afterAll(() => deleteNamespace(ns));

  it("had the guard rules in place before containerd or the kubelet started, and still has them", async () => {
    const state = JSON.parse(readFileSync(join(inject("sandboxDir"), "state.json"), "utf8"));
    const order = state.steps.map((s: { step: string }) => s.step);
    expect(order.indexOf("guard")).toBeGreaterThanOrEqual(0);
    expect(order.indexOf("guard")).toBeLessThan(order.indexOf("containerd"));
    expect(order.indexOf("guard")).toBeLessThan(order.indexOf("kubelet"));
    const rules = await guardRules();
    // Forwarded traffic from the bridge stays on the bridge; anything else from it is dropped.
    expect(rules.forward).toContain(
      `-A FPO-GUARD-FORWARD -i ${POD_NET.bridge} -o ${POD_NET.bridge} -j RETURN`,
    );
    expect(rules.forward).toContain(`-A FPO-GUARD-FORWARD -i ${POD_NET.bridge} -j DROP`);
    // Packets with a pod source leave only by the bridge or loopback.
    expect(rules.egress).toContain(`-A FPO-GUARD-EGRESS -o ${POD_NET.bridge} -j RETURN`);
    expect(rules.egress).toContain("-A FPO-GUARD-EGRESS -o lo -j RETURN");
    expect(rules.egress).toContain("-A FPO-GUARD-EGRESS -j DROP");
  });

  it("kills every process of a pod that is deleted", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "sleeper", namespace: ns, labels: { app: "sleeper" } },
      spec: {
        terminationGracePeriodSeconds: 2,
        containers: [{ name: "main", image: "flink:1.20", command: ["sleep", "3600"] }],
      },
    });
    const pod = await eventually(
      "the pod running",
      async () => (await pods(ns, "app=sleeper")).find(running),
      60_000,
    );
    expect(processesOfPod(pod.metadata.uid).length).toBeGreaterThanOrEqual(2); // the sandbox and sleep
    await kubectl("delete", "pod", "sleeper", "-n", ns, "--wait=true", "--timeout=60s");
    await eventually(
      "no process of the pod",
      async () => processesOfPod(pod.metadata.uid).length === 0,
      30_000,
    );
  });

  it("resolves Service names through cluster DNS and nothing outside the cluster domain", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "dns", namespace: ns, labels: { app: "dns" } },
      spec: {
        restartPolicy: "Never",
        containers: [
          {
            name: "main",
            image: "flink:1.20",
            command: [
              "bash",
              "-c",
              "getent hosts kubernetes.default.svc.cluster.local && ! getent hosts example.com && echo ok",
            ],
          },
        ],
      },
    });
    await eventually(
      "the DNS pod to finish",
      async () => {
        const p = await getJson("pod", "dns", "-n", ns);
        return ["Succeeded", "Failed"].includes(p.status.phase);
      },
      60_000,
    );
    const log = await kubectl("logs", "dns", "-n", ns);
    expect(log).toMatch(/^10\.0\.0\.1\s+kubernetes\.default\.svc\.cluster\.local$/m);
    expect(log.trim().split("\n").at(-1)).toBe("ok");
  });

  it("reports an image that is not on the node in the FlinkDeployment's status within a minute", async () => {
    const started = Date.now();
    await apply({
      ...compatExample("basic.yaml", { image: "flink:1.20-java11", flinkVersion: "v1_20" }),
      metadata: { name: "no-such-image", namespace: ns },
    });
    const dep = await eventually(
      "jobManagerDeploymentStatus ERROR",
      async () => {
        const d = await getJson("flinkdep", "no-such-image", "-n", ns);
        return d.status?.jobManagerDeploymentStatus === "ERROR" && d;
      },
      60_000,
    );
    expect(Date.now() - started).toBeLessThan(60_000);
    const ready = dep.status.conditions.find((c: { type: string }) => c.type === "Ready");
    expect(ready.reason).toBe("JobManagerError");
    expect(ready.message).toMatch(/ErrImagePull|ImagePullBackOff/);
    expect(ready.message).toContain("flink:1.20-java11");
    await kubectl("delete", "flinkdep", "no-such-image", "-n", ns, "--wait=true", "--timeout=60s");
  });
});

describe("one real node per machine", () => {
  it("refuses a second one, naming the sandbox that runs it, and leaves that one running", async () => {
    const { startControlPlane } = await import("../../scripts/sandbox/controlplane");
    await expect(startControlPlane({ node: "real" })).rejects.toThrow(
      new RegExp(
        `another sandbox runs the real node on this machine \\(state ${inject("sandboxDir")}`,
      ),
    );
    const nodes = await getJson("nodes");
    expect(nodes.items.map((n: { metadata: { name: string } }) => n.metadata.name)).toEqual([
      "localhost",
    ]);
  });
});
