import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ensureHelm } from "../../scripts/sandbox/build";
import type { Dist } from "../../scripts/sandbox/dist";
import {
  CONTROLLER_DEPLOYMENTS,
  PEPR_NAMESPACE,
  installInCluster,
  prepareInCluster,
  uninstallInCluster,
  waitForControllers,
  type InstallMethod,
} from "../../scripts/sandbox/in-cluster";
import { MODULE_IMAGE, PEPR_CONTROLLER_IMAGE } from "../../scripts/sandbox/image-module";
import { run, sleep } from "../../scripts/sandbox/proc";
import {
  apply,
  compatExample,
  eventually,
  getJson,
  kubectl,
  kubectlStdin,
  pods,
  portForward,
  running,
  type Json,
} from "./helpers";

process.env.KUBECONFIG = inject("kubeconfig");

/*
 * The operator installed into the real node as users install it: the module image built locally and imported
 * into the node's containerd, then the manifests `npm run build` wrote (kubectl apply) or its Helm chart (helm
 * install). The host's operator of the e2e run is stopped meanwhile (two operators would both reconcile, and
 * their webhook configurations share a name) and started again afterwards.
 */
const cluster = {
  kubectl: inject("kubectl"),
  kubeconfig: inject("kubeconfig"),
  dir: inject("sandboxDir"),
};
const WEBHOOKS = [
  "mutatingwebhookconfiguration/pepr-flink-pepr-operator",
  "validatingwebhookconfiguration/pepr-flink-pepr-operator",
];
const ADMISSION = CONTROLLER_DEPLOYMENTS[0];
const name = "basic-example";
let dist: Dist;
let installed: InstallMethod | undefined;

async function hostModule(action: "stop" | "start"): Promise<void> {
  const res = await fetch(`${inject("moduleControl")}/module/${action}`, { method: "POST" });
  if (!res.ok) throw new Error(`host module ${action}: ${res.status} ${await res.text()}`);
}

/** kubectl whose failure is an answer (a denial), not an error. */
async function attempt(obj: object, ...args: string[]): Promise<{ ok: boolean; stderr: string }> {
  try {
    await kubectlStdin(JSON.stringify(obj), ...(args.length ? args : ["create", "-f", "-"]));
    return { ok: true, stderr: "" };
  } catch (err) {
    return { ok: false, stderr: err instanceof Error ? err.message : String(err) };
  }
}

/** The apiserver's count of requests through the service proxy (what the operator uses from outside a cluster). */
async function serviceProxyRequests(): Promise<number> {
  const metrics = await kubectl("get", "--raw", "/metrics");
  return metrics
    .split("\n")
    .filter(
      l =>
        l.startsWith("apiserver_request_total{") &&
        l.includes('resource="services"') &&
        l.includes('subresource="proxy"'),
    )
    .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
}

const controllerPods = (controller: "admission" | "watcher") =>
  pods(PEPR_NAMESPACE, `pepr.dev/controller=${controller}`);

/** Every controller container's log, the restarted ones' previous logs included. */
async function controllerLogs(): Promise<string> {
  const logs: string[] = [];
  for (const p of (await getJson("pods", "-n", PEPR_NAMESPACE)).items as Json[]) {
    logs.push(await kubectl("logs", "-n", PEPR_NAMESPACE, p.metadata.name, "--all-containers"));
    if ((p.status.containerStatuses ?? []).some((c: Json) => c.restartCount > 0))
      logs.push(
        await kubectl("logs", "-n", PEPR_NAMESPACE, p.metadata.name, "--previous").catch(() => ""),
      );
  }
  return logs.join("\n");
}

/** Six problems at once, as admission.test.ts lists them. */
const manyProblems = (namespace: string) => ({
  apiVersion: "flink.apache.org/v1beta1",
  kind: "FlinkDeployment",
  metadata: { name: "many-problems", namespace },
  spec: {
    image: "flink:1.20",
    flinkVersion: "v1_20",
    serviceAccount: "flink",
    flinkConfiguration: { "kubernetes.namespace": "other" },
    jobManager: { replicas: 2, resource: { memory: "2 gigs" } },
    taskManager: { resource: { memory: "2g" } },
    job: { jarURI: "ftp://example.com/job.jar", parallelism: 2, upgradeMode: "savepoint" },
  },
});

const MANY_PROBLEMS = [
  'admission webhook "pepr-flink-pepr-operator.pepr.dev" denied the request: FlinkDeployment has 6 problems:',
  `- spec.flinkConfiguration["kubernetes.namespace"]: is set by the operator from the resource's name and namespace; remove it`,
  "- spec.job.upgradeMode: savepoint upgrades need a checkpoint directory",
  "- spec.job.upgradeMode: savepoint upgrade mode needs a savepoint directory",
  '- spec.job.jarURI: scheme "ftp" is not supported for application clusters',
  '- spec.jobManager.resource.memory: must be a memory size such as 2048m, 2g or 2Gi, got "2 gigs"',
  "- spec.jobManager.replicas: 2 JobManagers need high availability: set high-availability.type to kubernetes",
];

/** Valid but for a rule the CRD's CEL also holds (jobManager.replicas at least 1). */
const celInvalid = (namespace: string, suffix: string) => ({
  apiVersion: "flink.apache.org/v1beta1",
  kind: "FlinkDeployment",
  metadata: { name: `cel-${suffix}`, namespace },
  spec: {
    image: "flink:1.20",
    flinkVersion: "v1_20",
    serviceAccount: "flink",
    jobManager: { replicas: 0, resource: { memory: "1g", cpu: 1 } },
    taskManager: { resource: { memory: "1g", cpu: 1 } },
  },
});

const setFailurePolicy = async (policy: "Fail" | "Ignore") => {
  for (const webhook of WEBHOOKS)
    await kubectl(
      "patch",
      webhook,
      "--type=json",
      `-p=${JSON.stringify([{ op: "replace", path: "/webhooks/0/failurePolicy", value: policy }])}`,
    );
};

beforeAll(async () => {
  await hostModule("stop");
  for (const w of WEBHOOKS)
    expect(await kubectl("get", w, "--ignore-not-found", "-o", "name")).toBe("");
  // npm run build, the module image, its import into the node's containerd; helm for the chart.
  dist = await prepareInCluster(cluster);
  await ensureHelm();
});

afterAll(async () => {
  try {
    if (installed) await uninstallInCluster(cluster, dist, installed);
  } finally {
    await hostModule("start");
  }
});

describe.each(["manifests", "helm"] as const)("the operator installed with %s", method => {
  // The manifests give package.json's namespaces (default) the `flink` account; the chart is told its own.
  const ns = method === "manifests" ? "default" : `e2e-helm-${Date.now().toString(36)}`;
  let proxiedBefore = 0;

  beforeAll(async () => {
    if (method === "helm") await kubectl("create", "namespace", ns);
    proxiedBefore = await serviceProxyRequests();
    const started = Date.now();
    await installInCluster(cluster, dist, method, { flinkNamespaces: [ns] });
    installed = method;
    process.stdout.write(
      `[measure] in-cluster install (${method}) to both controllers Ready: ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  });

  afterAll(async () => {
    // FlinkDeployments first, while the operator runs to release its finalizers (docs: uninstalling).
    await kubectl("delete", "flinkdeployment", "--all", "-n", ns, "--wait=true", "--timeout=180s");
    await eventually(
      "the example's pods to be gone",
      async () => (await pods(ns, `app=${name}`)).length === 0,
      180_000,
    );
    await uninstallInCluster(cluster, dist, method);
    installed = undefined;
    // Nothing left that would block creates in a namespace.
    for (const w of WEBHOOKS)
      expect(await kubectl("get", w, "--ignore-not-found", "-o", "name")).toBe("");
    await eventually(
      `namespace ${PEPR_NAMESPACE} gone`,
      async () =>
        (await kubectl("get", "namespace", PEPR_NAMESPACE, "--ignore-not-found", "-o", "name")) ===
        "",
      120_000,
    );
    if (method === "helm") await kubectl("delete", "namespace", ns, "--wait=false");
  });

  it("runs the admission and watcher pods from the local image, the webhooks calling the module's Service", async () => {
    const admission = await controllerPods("admission");
    const watcher = await controllerPods("watcher");
    expect(admission.filter(running)).toHaveLength(2);
    expect(watcher.filter(running)).toHaveLength(1);
    for (const p of [...admission, ...watcher]) {
      expect(p.spec.nodeName).toBe("localhost");
      const image = method === "helm" ? MODULE_IMAGE : PEPR_CONTROLLER_IMAGE;
      expect(p.spec.containers[0].image).toBe(image);
    }
    for (const w of WEBHOOKS) {
      const config = await getJson(w);
      for (const hook of config.webhooks) {
        expect(hook.clientConfig.url).toBeUndefined();
        expect(hook.clientConfig.service).toMatchObject({
          name: ADMISSION,
          namespace: PEPR_NAMESPACE,
        });
        expect(hook.failurePolicy).toBe("Fail");
      }
    }
    // The Flink pods' service account and Role came with the install.
    await kubectl("get", "serviceaccount", "flink", "-n", ns);
    await kubectl("get", "role", "flink", "-n", ns);
    await kubectl("get", "rolebinding", "flink", "-n", ns);
  });

  it("denies an invalid spec with every error at once", async () => {
    const r = await attempt(manyProblems(ns));
    expect(r.ok).toBe(false);
    for (const line of MANY_PROBLEMS) expect(r.stderr).toContain(line);
  });

  it("refuses creates while the admission pods are down (failurePolicy Fail); CEL rules still hold; admission works once back", async () => {
    await kubectl("scale", "deployment", ADMISSION, "-n", PEPR_NAMESPACE, "--replicas=0");
    try {
      await eventually(
        "the admission pods to be gone",
        async () => (await controllerPods("admission")).length === 0,
        60_000,
      );
      const valid = {
        ...compatExample("basic.yaml"),
        metadata: { name: "while-down", namespace: ns },
      };
      const refused = await attempt(valid);
      expect(refused.ok).toBe(false);
      expect(refused.stderr).toContain(
        'failed calling webhook "pepr-flink-pepr-operator.pepr.dev"',
      );
      expect(await attempt(celInvalid(ns, "down"))).toMatchObject({ ok: false });
      // With the webhooks ignored, the CRD's CEL rules alone still refuse what they cover.
      await setFailurePolicy("Ignore");
      try {
        const cel = await attempt(celInvalid(ns, "ignored"));
        expect(cel.ok).toBe(false);
        expect(cel.stderr).toContain("jobManager.replicas must be at least 1");
        expect(await attempt(valid, "create", "--dry-run=server", "-f", "-")).toEqual({
          ok: true,
          stderr: "",
        });
      } finally {
        await setFailurePolicy("Fail");
      }
    } finally {
      await kubectl("scale", "deployment", ADMISSION, "-n", PEPR_NAMESPACE, "--replicas=2");
    }
    await waitForControllers(cluster, 180_000);
    const back = await attempt(manyProblems(ns));
    expect(back.ok).toBe(false);
    for (const line of MANY_PROBLEMS) expect(back.stderr).toContain(line);
  });

  it("runs the reference's basic example: job RUNNING, clusterInfo filled, REST by the Service's DNS name", async () => {
    await apply({ ...compatExample("basic.yaml"), metadata: { name, namespace: ns } });
    const fd = await eventually(
      "the job RUNNING",
      async () => {
        const d = await getJson("flinkdeployment", name, "-n", ns);
        return d.status?.jobStatus?.state === "RUNNING" && d.status?.clusterInfo?.["flink-version"]
          ? d
          : undefined;
      },
      300_000,
    );
    expect(fd.status.jobManagerDeploymentStatus).toBe("READY");
    expect(fd.status.clusterInfo["flink-version"]).toMatch(/^2\.2\./);
    // In a pod the operator calls http://<name>-rest.<namespace>.svc: the apiserver's service proxy stayed unused.
    expect(await serviceProxyRequests()).toBe(proxiedBefore);
  });

  it("converges after its watcher pod is killed during an upgrade, with nothing created twice", async () => {
    const before = await getJson("flinkdeployment", name, "-n", ns);
    const nonce = (before.spec.restartNonce ?? 0) + 1;
    await kubectl(
      "patch",
      "flinkdeployment",
      name,
      "-n",
      ns,
      "--type=merge",
      `-p=${JSON.stringify({ spec: { restartNonce: nonce } })}`,
    );
    // Killed once the operator has recorded the upgrade's operation: in the middle of it.
    await eventually(
      "the upgrade under way",
      async () => {
        const d = await getJson("flinkdeployment", name, "-n", ns);
        const rs = d.status?.reconciliationStatus;
        return (
          !!rs?.operation || rs?.state === "UPGRADING" || d.status?.lifecycleState === "UPGRADING"
        );
      },
      60_000,
    );
    const [watcher] = await controllerPods("watcher");
    await kubectl(
      "delete",
      "pod",
      watcher.metadata.name,
      "-n",
      PEPR_NAMESPACE,
      "--grace-period=0",
      "--force",
    );
    const after = await eventually(
      "the new generation's job RUNNING",
      async () => {
        const d = await getJson("flinkdeployment", name, "-n", ns);
        return d.status?.jobStatus?.state === "RUNNING" &&
          d.status?.observedGeneration === d.metadata.generation &&
          !d.status?.reconciliationStatus?.operation &&
          String(d.status?.reconciliationStatus?.lastReconciledSpec).includes(
            `"restartNonce":${nonce}`,
          )
          ? d
          : undefined;
      },
      300_000,
    );
    const [newWatcher] = await controllerPods("watcher");
    expect(newWatcher.metadata.name).not.toBe(watcher.metadata.name);
    expect(await getJson("deployments", "-n", ns, "-l", `app=${name}`)).toMatchObject({
      items: [expect.objectContaining({ metadata: expect.objectContaining({ name }) })],
    });
    const jms = await pods(ns, `app=${name},component=jobmanager`);
    expect(jms.filter(running)).toHaveLength(1);
    const forward = await portForward(ns, `service/${name}-rest`, 8081);
    try {
      const overview = (await (await fetch(`${forward.url}/jobs/overview`)).json()) as {
        jobs: { jid: string; state: string }[];
      };
      expect(overview.jobs.filter(j => j.state === "RUNNING").map(j => j.jid)).toEqual([
        after.status.jobStatus.jobId,
      ]);
    } finally {
      forward.stop();
    }
  });

  it("makes no call its RBAC refuses: no 403 in the controllers' logs", async () => {
    // Give the restarted watcher a resync's worth of calls.
    await sleep(5_000);
    const logs = await controllerLogs();
    expect(logs.length).toBeGreaterThan(0);
    // A refused call's status is 403 and its message says "forbidden".
    expect(logs.split("\n").filter(l => /forbidden/i.test(l))).toEqual([]);
  });
});

it("leaves no Helm release behind", async () => {
  const out = await run(await ensureHelm(), ["list", "--all-namespaces", "-q"], {
    quiet: true,
    env: { ...process.env, KUBECONFIG: inject("kubeconfig") },
  });
  expect(out.trim()).toBe("");
});
