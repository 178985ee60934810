import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { ensureHelm } from "./build";
import type { ControlPlane } from "./controlplane";
import { ensureDist, type Dist, type Manifest } from "./dist";
import { MODULE_IMAGE, ensureModuleImage } from "./image-module";
import { importImages } from "./images";
import { containerdSocket } from "./node";
import { run, say, seconds } from "./proc";

/**
 * The operator installed into the sandbox's real node as users install it: the module's image imported into the
 * node's containerd, then the manifests `npm run build` wrote (kubectl apply) or its Helm chart (helm install).
 * The CRDs come first (installCrds), as for any install.
 */

export type InstallMethod = "manifests" | "helm";

export const PEPR_NAMESPACE = "pepr-system";
export const HELM_RELEASE = "flink-operator";
export const CONTROLLER_DEPLOYMENTS = [
  "pepr-flink-pepr-operator",
  "pepr-flink-pepr-operator-watcher",
];

type Cluster = Pick<ControlPlane, "kubectl" | "kubeconfig" | "dir">;

export interface InstallOptions {
  /** Namespaces that get the Flink pods' service account (the chart's flinkServiceAccount.namespaces). */
  flinkNamespaces?: string[];
  readyTimeoutMs?: number;
}

const CTR = "/usr/bin/ctr";

/**
 * The sandbox's node has 2 CPUs, all of which the reference's basic example requests (1 for the JobManager, 1 for
 * the TaskManager): the controllers keep their limits but request no CPU, so the example still fits.
 */
function sandboxResources(manifests: Manifest[]): Manifest[] {
  return manifests.map(m => {
    if (m.kind !== "Deployment") return m;
    const copy = structuredClone(m);
    for (const c of copy.spec.template.spec.containers) c.resources.requests.cpu = "0";
    return copy;
  });
}

/** Builds the module (npm run build) and its image, and imports the image into the node's containerd. */
export async function prepareInCluster(cluster: Cluster): Promise<Dist> {
  const dist = await ensureDist();
  const archive = await ensureModuleImage();
  await importImages(CTR, containerdSocket(cluster.dir), [archive]);
  return dist;
}

/** Installs with the given method and waits until the admission and watcher pods are Ready. */
export async function installInCluster(
  cluster: Cluster,
  dist: Dist,
  method: InstallMethod,
  opts: InstallOptions = {},
): Promise<void> {
  const started = Date.now();
  const kubectl = (...args: string[]) =>
    run(cluster.kubectl, [`--kubeconfig=${cluster.kubeconfig}`, ...args], { quiet: true });
  if (method === "manifests") {
    // What pepr build wrote, applied as is but for the CPU requests (sandboxResources); the image name in it is
    // one the module image carries.
    const file = join(cluster.dir, "in-cluster-manifests.yaml");
    await writeFile(
      file,
      sandboxResources(dist.manifests)
        .map(m => stringify(m))
        .join("---\n"),
    );
    await kubectl("apply", "--server-side", "--force-conflicts", "-f", file);
  } else {
    const helm = await ensureHelm();
    const namespaces = opts.flinkNamespaces ?? ["default"];
    await run(
      helm,
      [
        "install",
        HELM_RELEASE,
        dist.chart,
        "--set",
        `admission.image=${MODULE_IMAGE}`,
        "--set",
        `watcher.image=${MODULE_IMAGE}`,
        "--set-string",
        "admission.resources.requests.cpu=0",
        "--set-string",
        "watcher.resources.requests.cpu=0",
        "--set",
        `flinkServiceAccount.namespaces={${namespaces.join(",")}}`,
      ],
      { quiet: true, env: { ...process.env, KUBECONFIG: cluster.kubeconfig } },
    );
  }
  await waitForControllers(cluster, opts.readyTimeoutMs ?? 180_000);
  say(
    `operator installed in the cluster (${method}) and ready in ${seconds(Date.now() - started)}`,
  );
}

/**
 * Both Deployments rolled out (every replica Ready: Pepr's probes, /healthz on port 3000), and the webhooks
 * answering through their Service.
 */
export async function waitForControllers(cluster: Cluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of CONTROLLER_DEPLOYMENTS)
    await run(
      cluster.kubectl,
      [
        `--kubeconfig=${cluster.kubeconfig}`,
        "rollout",
        "status",
        "-n",
        PEPR_NAMESPACE,
        `deployment/${name}`,
        `--timeout=${Math.ceil(timeoutMs / 1000)}s`,
      ],
      { quiet: true },
    );
  await waitForWebhooks(cluster, deadline);
}

/**
 * Ready pods are not yet a reachable Service: the apiserver calls the webhooks at the Service's address, which
 * leads to the pods only once the node's Service rules list them (seen: connection refused just after the
 * rollout). A server-side dry run that the webhooks answer, a denial included, shows they are reachable.
 */
async function waitForWebhooks(cluster: Cluster, deadline: number): Promise<void> {
  const probe = join(cluster.dir, "webhook-probe.json");
  await writeFile(
    probe,
    JSON.stringify({
      apiVersion: "flink.apache.org/v1beta1",
      kind: "FlinkDeployment",
      metadata: { name: "webhook-probe", namespace: "default" },
      spec: {},
    }),
  );
  const args = [`--kubeconfig=${cluster.kubeconfig}`, "create", "--dry-run=server", "-f", probe];
  for (;;) {
    const failure = await run(cluster.kubectl, args, { quiet: true }).then(
      () => "",
      (e: Error) => e.message,
    );
    if (!failure.includes("failed calling webhook")) return;
    if (Date.now() > deadline)
      throw new Error(
        `the operator's webhooks are not reachable through their Service: ${failure}`,
      );
    await new Promise(r => setTimeout(r, 1000));
  }
}

/** Removes what installInCluster installed, waiting until the controllers' pods are gone. */
export async function uninstallInCluster(
  cluster: Cluster,
  dist: Dist,
  method: InstallMethod,
): Promise<void> {
  if (method === "manifests") {
    await run(
      cluster.kubectl,
      [
        `--kubeconfig=${cluster.kubeconfig}`,
        "delete",
        "--ignore-not-found",
        "--wait",
        "-f",
        dist.manifestFile,
      ],
      { quiet: true, timeoutMs: 5 * 60_000 },
    );
  } else {
    await run(await ensureHelm(), ["uninstall", HELM_RELEASE, "--wait"], {
      quiet: true,
      env: { ...process.env, KUBECONFIG: cluster.kubeconfig },
      timeoutMs: 5 * 60_000,
    });
  }
}
