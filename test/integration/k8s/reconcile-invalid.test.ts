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
  kubectlStdin,
  ready,
  type Json,
} from "./reconcile-helpers";
import { removeWebhooks, restoreWebhooks, runKubectl } from "./kubectl";

const ns = `rc-invalid-${Date.now()}`;
const OPERATOR_CONFIG = { namespace: "pepr-system", name: "flink-operator-config" };

beforeAll(() => createNamespace(ns));
afterAll(() => deleteNamespace(ns));

/** What a spec looks like when it reaches the operator without admission (webhooks down): CEL still holds. */
describe("reconcile: a spec that slipped past admission", () => {
  const saved: Json[] = [];
  afterAll(async () => {
    if (saved.length) await restoreWebhooks(saved, ns);
  });

  it("reports every error in status and keeps the last valid spec running, children unchanged", async () => {
    await apply(flinkDeployment(ns, "slipped", { mode: "standalone" }));
    const fd = await ready(ns, "slipped");
    const before = await snapshot(ns, fd.metadata.uid);

    saved.push(...(await removeWebhooks(ns)));
    // Two rules only the webhook checks: more JobManagers than one without HA, and an unreadable memory size.
    await kubectl(
      "patch",
      "flinkdep",
      "slipped",
      "-n",
      ns,
      "--type=merge",
      "-p",
      JSON.stringify({
        spec: { jobManager: { replicas: 2 }, taskManager: { resource: { memory: "lots" } } },
      }),
    );

    const invalid = await eventually("InvalidSpec", async () => {
      const f = await find("flinkdeployment", ns, "slipped");
      return condition(f, "Ready")?.reason === "InvalidSpec" && f.status.observedGeneration === 2
        ? f
        : undefined;
    });
    expect(condition(invalid, "Ready").status).toBe("False");
    expect(invalid.status.error).toMatch(
      /^spec generation 2 is invalid, generation 1 keeps running: /,
    );
    expect(invalid.status.error).toContain("spec.jobManager.replicas");
    expect(invalid.status.error).toContain("spec.taskManager.resource.memory");
    expect(invalid.status.reconciliationStatus.lastReconciledSpec).toContain('"generation":1');
    expect(invalid.status.jobManagerDeploymentStatus).toBe("READY");
    expect(
      await kubectl(
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        "involvedObject.name=slipped,reason=InvalidSpec",
        "-o",
        "name",
      ),
    ).not.toBe("");
    // A few more passes change nothing.
    await new Promise(r => setTimeout(r, 5000));
    expect(await snapshot(ns, fd.metadata.uid)).toEqual(before);

    await restoreWebhooks(saved.splice(0), ns);
    // With the webhook back, a write that leaves the invalid spec as stored (a label, the operator's finalizer)
    // is admitted: otherwise the resource could not even be deleted.
    const labelled = await runKubectl(["label", "flinkdep", "slipped", "-n", ns, "team=streaming"]);
    expect(labelled.stderr).toBe("");
    expect(labelled.code).toBe(0);
    await kubectl(
      "patch",
      "flinkdep",
      "slipped",
      "-n",
      ns,
      "--type=merge",
      "-p",
      JSON.stringify({
        spec: { jobManager: { replicas: 1 }, taskManager: { resource: { memory: "1024m" } } },
      }),
    );
    const fixed = await eventually("valid again", async () => {
      const f = await ready(ns, "slipped");
      return f.metadata.generation === 3 ? f : undefined;
    });
    expect(fixed.status.error).toBeUndefined();
  });
});

describe("reconcile: a savepoint upgrade whose savepoint cannot be taken", () => {
  it("keeps the job's cluster running, the stop on record at its savepoint step, with Ready=False naming why and an event", async () => {
    const stateful = flinkDeployment(ns, "stateful", {
      job: true,
      conf: {
        "execution.checkpointing.dir": "file:///flink/checkpoints",
        "execution.checkpointing.savepoint-dir": "file:///flink/savepoints",
      },
    });
    stateful.spec.job!.upgradeMode = "savepoint";
    await apply(stateful);
    const fd = await ready(ns, "stateful");
    const before = await snapshot(ns, fd.metadata.uid);
    await kubectl(
      "patch",
      "flinkdep",
      "stateful",
      "-n",
      ns,
      "--type=merge",
      "-p",
      '{"spec":{"image":"flink:2.2.0"}}',
    );
    // kwok's pods serve no REST API: the JobManager looks ready but cannot be asked for a savepoint.
    const pending = await eventually("JobManagerUnreachable", async () => {
      const f = await find("flinkdeployment", ns, "stateful");
      return condition(f, "Ready")?.reason === "JobManagerUnreachable" ? f : undefined;
    });
    expect(condition(pending, "Ready").message).toContain("cannot reach the JobManager");
    expect(pending.status.reconciliationStatus.operation).toMatchObject({
      kind: "upgrade",
      upgradeMode: "savepoint",
      step: "savepoint",
      jobId: fd.status.jobStatus.jobId,
    });
    expect(pending.status.reconciliationStatus.lastReconciledSpec).toContain('"generation":2');
    expect(
      await kubectl(
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        "involvedObject.name=stateful,reason=JobManagerUnreachable",
        "-o",
        "name",
      ),
    ).not.toBe("");
    expect(await snapshot(ns, fd.metadata.uid)).toEqual(before);
  });
});

describe("reconcile: operator settings", () => {
  afterAll(() =>
    kubectl(
      "delete",
      "configmap",
      OPERATOR_CONFIG.name,
      "-n",
      OPERATOR_CONFIG.namespace,
      "--ignore-not-found",
    ),
  );

  it("reads kubernetes.operator.* keys from the operator ConfigMap, under each resource's own", async () => {
    await kubectlStdin(
      JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: OPERATOR_CONFIG,
        data: { "config.yaml": "kubernetes.operator.jm-deployment-recovery.enabled: false\n" },
      }),
      "apply",
      "-f",
      "-",
    );
    await apply(flinkDeployment(ns, "unrecovered"));
    await apply(
      flinkDeployment(ns, "recovered", {
        conf: { "kubernetes.operator.jm-deployment-recovery.enabled": "true" },
      }),
    );
    await ready(ns, "unrecovered");
    const recovered = await ready(ns, "recovered");
    await kubectl("delete", "deployment", "unrecovered", "recovered", "-n", ns);

    await eventually("recovered's JobManager back", async () => {
      const jm = await find("deployment", ns, "recovered");
      return jm && jm.metadata.uid !== recovered.metadata.uid;
    });
    const missing = await eventually("unrecovered reports its JobManager missing", async () => {
      const f = await find("flinkdeployment", ns, "unrecovered");
      return condition(f, "Ready")?.reason === "JobManagerMissing" ? f : undefined;
    });
    expect(missing.status.jobManagerDeploymentStatus).toBe("MISSING");
    expect(condition(missing, "Ready").status).toBe("False");
    expect(await find("deployment", ns, "unrecovered")).toBeUndefined();
  });
});

/** Children's uids and generation stamps: equal snapshots mean nothing was replaced or re-stamped. */
async function snapshot(namespace: string, uid: string) {
  const names = await children(namespace, uid);
  return Promise.all(
    names.map(async n => {
      const [kindName, name] = n.split("/");
      const o = await find(kindName, namespace, name);
      return {
        n,
        uid: o.metadata.uid,
        generation: o.metadata.annotations["flinkdeployment.flink.apache.org/generation"],
        replicas: o.spec?.replicas,
      };
    }),
  );
}
