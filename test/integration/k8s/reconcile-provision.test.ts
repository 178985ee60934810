import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apply,
  children,
  condition,
  createNamespace,
  deleteNamespace,
  eventually,
  events,
  find,
  flinkDeployment,
  getJson,
  kubectl,
  ready,
  type Json,
} from "./reconcile-helpers";

const ns = `rc-provision-${Date.now()}`;
const GENERATION = "flinkdeployment.flink.apache.org/generation";

const expectedChildren = {
  "native-app": [
    "ConfigMap/flink-config-native-app",
    "Deployment/native-app",
    "Service/native-app",
    "Service/native-app-rest",
  ],
  "native-session": [
    "ConfigMap/flink-config-native-session",
    "Deployment/native-session",
    "Service/native-session",
    "Service/native-session-rest",
  ],
  "sa-app": [
    "ConfigMap/flink-config-sa-app",
    "Service/sa-app",
    "Service/sa-app-rest",
    "Service/sa-app-taskmanager",
    "StatefulSet/sa-app",
    "StatefulSet/sa-app-taskmanager",
  ],
  "sa-session": [
    "ConfigMap/flink-config-sa-session",
    "Service/sa-session",
    "Service/sa-session-rest",
    "Service/sa-session-taskmanager",
    "StatefulSet/sa-session",
    "StatefulSet/sa-session-taskmanager",
  ],
};

describe("reconcile: provisioning, readiness, upgrades and recovery", () => {
  const uids: Record<string, string> = {};

  beforeAll(async () => {
    await createNamespace(ns);
    await apply(flinkDeployment(ns, "native-app", { job: true }));
    await apply(flinkDeployment(ns, "native-session"));
    await apply(flinkDeployment(ns, "sa-app", { mode: "standalone", job: true }));
    await apply(flinkDeployment(ns, "sa-session", { mode: "standalone", replicas: 2 }));
  });
  afterAll(() => deleteNamespace(ns));

  it("gives application and session clusters of both modes their children, owned, labelled and stamped", async () => {
    for (const [name, expected] of Object.entries(expectedChildren)) {
      const fd = await ready(ns, name);
      uids[name] = fd.metadata.uid;
      expect(fd.metadata.finalizers).toContain("flinkdeployments.flink.apache.org/finalizer");
      expect(await children(ns, fd.metadata.uid)).toEqual(expected);
      const mode = name.startsWith("sa-") ? "standalone" : "native";
      const owned = (
        await getJson("deployments,statefulsets,services,configmaps", "-n", ns, "-l", `app=${name}`)
      ).items as Json[];
      expect(owned).toHaveLength(expected.length);
      for (const o of owned) {
        expect(o.metadata.ownerReferences).toEqual([
          {
            apiVersion: "flink.apache.org/v1beta1",
            kind: "FlinkDeployment",
            name,
            uid: fd.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ]);
        expect(o.metadata.annotations[GENERATION]).toBe("1");
        expect(o.metadata.labels).toMatchObject({ app: name, type: `flink-${mode}-kubernetes` });
      }
    }
  });

  it("takes a standalone cluster from DEPLOYING to READY with the scale subresource's fields, and says so in events", async () => {
    const fd = await ready(ns, "sa-session");
    expect(fd.status).toMatchObject({
      jobManagerDeploymentStatus: "READY",
      lifecycleState: "STABLE",
      observedGeneration: 1,
      taskManager: {
        replicas: 2,
        labelSelector: "type=flink-standalone-kubernetes,app=sa-session,component=taskmanager",
      },
      reconciliationStatus: { state: "DEPLOYED" },
    });
    expect(condition(fd, "Ready")).toMatchObject({
      status: "True",
      reason: "Ready",
      observedGeneration: 1,
    });
    expect(condition(fd, "Running")).toMatchObject({ status: "True" });
    const seen = await events(ns, "sa-session");
    expect(seen).toEqual(
      expect.arrayContaining([
        "Submit: deploying generation 1",
        "Deployed: generation 1 applied",
        "JobManagerDeploymentStatus: DEPLOYING -> READY",
      ]),
    );
    const pods = (await getJson("pods", "-n", ns, "-l", "app=sa-session")).items as Json[];
    expect(pods.map(p => p.spec.nodeName)).toEqual(Array(3).fill("kwok-node-0"));
    // The printer column shows the lifecycle state.
    expect(await kubectl("get", "flinkdep", "sa-session", "-n", ns)).toMatch(/sa-session\s+STABLE/);
  });

  it("reports a native cluster READY once its JobManager Deployment is ready", async () => {
    const fd = await ready(ns, "native-session");
    const jm = await find("deployment", ns, "native-session");
    expect(jm.status.readyReplicas).toBe(1);
    expect(fd.status.taskManager.labelSelector).toBe(
      "type=flink-native-kubernetes,app=native-session,component=taskmanager",
    );
    expect(await events(ns, "native-session")).toContain(
      "JobManagerDeploymentStatus: DEPLOYING -> READY",
    );
  });

  it("redeploys on a change to what Flink runs: a new JobManager workload with the new generation", async () => {
    for (const name of ["native-app", "sa-app"]) {
      const kindName = name === "sa-app" ? "statefulset" : "deployment";
      const before = await find(kindName, ns, name);
      await kubectl(
        "patch",
        "flinkdep",
        name,
        "-n",
        ns,
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { flinkConfiguration: { "pipeline.max-parallelism": "64" } } }),
      );
      const fd = await eventually(`${name} generation 2 ready`, async () => {
        const f = await ready(ns, name);
        return f.metadata.generation === 2 ? f : undefined;
      });
      const after = await find(kindName, ns, name);
      expect(after.metadata.uid).not.toBe(before.metadata.uid);
      expect(after.metadata.annotations[GENERATION]).toBe("2");
      expect((await find("configmap", ns, `flink-config-${name}`)).data["config.yaml"]).toContain(
        'pipeline.max-parallelism: "64"',
      );
      expect(fd.status.reconciliationStatus.lastReconciledSpec).toContain('"generation":2');
      expect(await events(ns, name)).toEqual(
        expect.arrayContaining([
          "SpecChanged: generation 2: upgrade, stateless stop of the running cluster",
          expect.stringMatching(/^ClusterStopped: stateless stop of job [0-9a-f]{32} done$/),
          "Deployed: generation 2 applied",
        ]),
      );
      // Nothing is left of the first cluster.
      expect(await children(ns, fd.metadata.uid)).toEqual(
        expectedChildren[name as keyof typeof expectedChildren],
      );
    }
    // A new image is a redeploy too.
    const before = await find("deployment", ns, "native-session");
    await kubectl(
      "patch",
      "flinkdep",
      "native-session",
      "-n",
      ns,
      "--type=merge",
      "-p",
      '{"spec":{"image":"flink:2.2.0"}}',
    );
    await eventually("native-session on the new image", async () => {
      const jm = await find("deployment", ns, "native-session");
      return (
        jm &&
        jm.metadata.uid !== before.metadata.uid &&
        jm.spec.template.spec.containers[0].image === "flink:2.2.0" &&
        (await ready(ns, "native-session"))
      );
    });
  });

  it("scales standalone TaskManagers in place, also through kubectl scale, keeping the JobManager", async () => {
    const jm = await find("statefulset", ns, "sa-session");
    await kubectl("scale", "flinkdep/sa-session", "-n", ns, "--replicas=3");
    const fd = await eventually("three TaskManagers", async () => {
      const f = await ready(ns, "sa-session");
      return f.metadata.generation === 2 && f.status.taskManager.replicas === 3 ? f : undefined;
    });
    expect((await find("statefulset", ns, "sa-session-taskmanager")).spec.replicas).toBe(3);
    const jmAfter = await find("statefulset", ns, "sa-session");
    expect(jmAfter.metadata.uid).toBe(jm.metadata.uid);
    expect(jmAfter.metadata.annotations[GENERATION]).toBe("2");
    expect(fd.status.observedGeneration).toBe(2);
    expect(await events(ns, "sa-session")).toContain("SpecChanged: generation 2: in-place");
    expect(
      await kubectl(
        "get",
        "flinkdep",
        "sa-session",
        "-n",
        ns,
        "-o",
        "jsonpath={.status.taskManager.replicas}",
      ),
    ).toBe("3");
  });

  it("recreates a JobManager Deployment deleted behind the operator's back", async () => {
    const old = await find("deployment", ns, "native-session");
    await kubectl("delete", "deployment", "native-session", "-n", ns);
    await eventually("a new JobManager Deployment", async () => {
      const jm = await find("deployment", ns, "native-session");
      return jm && jm.metadata.uid !== old.metadata.uid;
    });
    await ready(ns, "native-session");
    expect(await events(ns, "native-session")).toContain(
      "RecoverDeployment: the JobManager was deleted behind the operator's back; recreated it",
    );
    expect(
      await kubectl(
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        "reason=RecoverDeployment",
        "-o",
        "name",
      ),
    ).not.toBe("");
  });
});
