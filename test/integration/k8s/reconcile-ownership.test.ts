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
  type Json,
} from "./reconcile-helpers";

const ns = `rc-owner-${Date.now()}`;
const NAME = "taken";

/** A user's own Deployment named like the FlinkDeployment's JobManager, with the label the operator lists by. */
const usersDeployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: NAME, namespace: ns, labels: { app: NAME } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: NAME, role: "web" } },
    template: {
      metadata: { labels: { app: NAME, role: "web" } },
      spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
    },
  },
};

/** A Service named like the FlinkDeployment's REST Service, controlled by another object (a ConfigMap here). */
const othersService = (owner: Json) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: {
    name: `${NAME}-rest`,
    namespace: ns,
    labels: { app: NAME },
    ownerReferences: [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        name: owner.metadata.name,
        uid: owner.metadata.uid,
        controller: true,
      },
    ],
  },
  spec: { selector: { app: NAME, role: "web" }, ports: [{ name: "http", port: 80 }] },
});

/** What must not change: identity, version, spec, owners and the field managers (the operator's is "pepr"). */
const fingerprint = (o: Json) => ({
  uid: o.metadata.uid,
  resourceVersion: o.metadata.resourceVersion,
  generation: o.metadata.generation,
  ownerReferences: o.metadata.ownerReferences,
  labels: o.metadata.labels,
  annotations: o.metadata.annotations,
  managers: o.metadata.managedFields.map((f: Json) => `${f.manager}/${f.operation}`).sort(),
  spec: o.spec,
});

describe("reconcile: objects the FlinkDeployment does not control", () => {
  beforeAll(() => createNamespace(ns));
  afterAll(() => deleteNamespace(ns));

  it("are never patched, adopted or deleted: Ready=False ChildConflict, status.error and an Event name them", async () => {
    await apply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "someone-else", namespace: ns },
    });
    const owner = await find("configmap", ns, "someone-else");
    await apply(usersDeployment);
    await apply(othersService(owner));
    // The user's Deployment settles (kwok makes its pod ready) before the baseline is taken: after that its
    // controller has nothing more to write.
    await eventually("the user's Deployment rolled out", async () => {
      const d = await find("deployment", ns, NAME);
      const progressing = d?.status?.conditions?.find((c: Json) => c.type === "Progressing");
      return (
        d?.status?.observedGeneration === d?.metadata.generation &&
        d?.status?.availableReplicas === 1 &&
        progressing?.reason === "NewReplicaSetAvailable"
      );
    });
    const current = async () => ({
      deployment: fingerprint(await getJson("deployment", NAME, "-n", ns, "--show-managed-fields")),
      service: fingerprint(
        await getJson("service", `${NAME}-rest`, "-n", ns, "--show-managed-fields"),
      ),
    });
    const before = await current();
    expect(before.deployment.managers).not.toContain("pepr/Apply");

    await apply(flinkDeployment(ns, NAME));
    const fd = await eventually("ChildConflict", async () => {
      const f = await find("flinkdeployment", ns, NAME);
      return condition(f, "Ready")?.reason === "ChildConflict" ? f : undefined;
    });
    expect(condition(fd, "Ready").status).toBe("False");
    expect(fd.status.error).toContain(`Deployment/${NAME} (controlled by nobody)`);
    expect(fd.status.error).toContain(
      `Service/${NAME}-rest (controlled by ConfigMap/someone-else)`,
    );
    expect(condition(fd, "Ready").message).toBe(fd.status.error);
    const conflictEvents = (await events(ns, NAME)).filter(e => e.startsWith("ChildConflict: "));
    expect(conflictEvents).toEqual([`ChildConflict: ${fd.status.error}`]);

    // A few retries later (the first backoff is 5 s): nothing applied, nothing touched.
    await new Promise(r => setTimeout(r, 8_000));
    expect(await children(ns, fd.metadata.uid)).toEqual([]);
    expect(await current()).toEqual(before);

    await kubectl("delete", "flinkdep", NAME, "-n", ns, "--timeout=60s");
    expect(await find("flinkdeployment", ns, NAME)).toBeUndefined();
    expect(await current()).toEqual(before);
  });
});
