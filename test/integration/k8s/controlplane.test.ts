import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, describe, expect, inject, it } from "vitest";
import { NODE_NAME } from "../../../scripts/sandbox/controlplane";

const kubeconfig = inject("kubeconfig");
const kubectlPath = inject("kubectl");

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(kubectlPath, [
    `--kubeconfig=${kubeconfig}`,
    ...args,
  ]);
  return stdout.trim();
}

async function eventually(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 500));
  }
}

describe("sandbox control plane", () => {
  const ns = `smoke-${Date.now()}`;
  afterAll(() => kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false"));

  it("exposes the cluster to tests through inject() and KUBECONFIG", () => {
    expect(process.env.KUBECONFIG).toBe(kubeconfig);
  });

  it("creates a namespace with its default service account", async () => {
    await kubectl("create", "namespace", ns);
    await eventually(
      "the default service account",
      async () => (await kubectl("get", "serviceaccounts", "-n", ns, "-o", "name")) !== "",
    );
  });

  it("runs a Deployment's pod on the kwok node", async () => {
    // kwok never pulls the image: any name will do.
    await kubectl(
      "create",
      "deployment",
      "web",
      "--image=example.invalid/web:1",
      "--replicas=2",
      "-n",
      ns,
    );
    await kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=90s");

    const rs = JSON.parse(
      await kubectl("get", "replicasets", "-n", ns, "-l", "app=web", "-o", "json"),
    ).items;
    expect(rs).toHaveLength(1);
    expect(rs[0].metadata.ownerReferences[0]).toMatchObject({ kind: "Deployment", name: "web" });

    const pods = JSON.parse(
      await kubectl("get", "pods", "-n", ns, "-l", "app=web", "-o", "json"),
    ).items;
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.spec.nodeName).toBe(NODE_NAME);
      expect(pod.status.phase).toBe("Running");
      expect(pod.metadata.ownerReferences[0]).toMatchObject({
        kind: "ReplicaSet",
        name: rs[0].metadata.name,
      });
    }
  });

  it("gives simulated pods loopback addresses, so a service proxy call never dials off this machine", async () => {
    await kubectl("expose", "deployment", "web", "-n", ns, "--port=8081", "--name=web");
    const pods = JSON.parse(
      await kubectl("get", "pods", "-n", ns, "-l", "app=web", "-o", "json"),
    ).items;
    for (const pod of pods) expect(pod.status.podIP).toMatch(/^127\.64\./);
    // The apiserver refuses loopback endpoints, so the proxy finds nothing to dial.
    const proxied = await kubectl(
      "get",
      "--raw",
      `/api/v1/namespaces/${ns}/services/web:8081/proxy/`,
    ).then(
      () => "answered",
      (err: Error) => err.message,
    );
    expect(proxied).toContain("Error from server");
    const slices = JSON.parse(
      await kubectl(
        "get",
        "endpointslices",
        "-n",
        ns,
        "-l",
        "kubernetes.io/service-name=web",
        "-o",
        "json",
      ),
    ).items;
    expect(slices.flatMap((e: { endpoints?: unknown[] }) => e.endpoints ?? [])).toEqual([]);
    const node = JSON.parse(await kubectl("get", "node", NODE_NAME, "-o", "json"));
    expect(node.status.addresses).toContainEqual({ type: "InternalIP", address: "127.0.0.1" });
  });

  it("garbage-collects the ReplicaSet and pods of a deleted Deployment", async () => {
    await kubectl("delete", "deployment", "web", "-n", ns, "--cascade=background");
    await eventually("ReplicaSets and pods to be collected", async () => {
      const left = await kubectl(
        "get",
        "replicasets,pods",
        "-n",
        ns,
        "-l",
        "app=web",
        "-o",
        "name",
      );
      return left === "";
    });
  });

  it("completes namespace deletion", async () => {
    await kubectl("create", "deployment", "leftover", "--image=example.invalid/web:1", "-n", ns);
    await kubectl("rollout", "status", "deployment/leftover", "-n", ns, "--timeout=90s");
    await kubectl("delete", "namespace", ns, "--timeout=90s");
    expect(await kubectl("get", "namespace", ns, "--ignore-not-found", "-o", "name")).toBe("");
  });
});
