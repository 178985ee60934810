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
  kubectlStdin,
  ready,
  type Json,
} from "./reconcile-helpers";

/*
 * The module's passes read watch-fed caches (lib/reconcile/cache.ts): what changes behind the operator's back
 * must reach them, and what the operator writes must be seen by its next pass.
 */
const ns = `rc-cache-${Date.now()}`;
const NAME = "cached";
const CHILDREN = [
  `ConfigMap/flink-config-${NAME}`,
  `Deployment/${NAME}`,
  `Service/${NAME}`,
  `Service/${NAME}-rest`,
];

const reasons = async () => (await events(ns, NAME)).map(e => e.split(":")[0]);

/** The object as someone else's: the same kind and name, no owner, nothing the apiserver set. */
function ownerless(o: Json): Json {
  const { name, namespace, labels } = o.metadata;
  const spec = { ...o.spec };
  delete spec.clusterIP;
  delete spec.clusterIPs;
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name, namespace, labels }, spec };
}

describe("reconcile: the caches the passes read", () => {
  let uid = "";

  /** Once the object in the way is gone: the child recreated as the FlinkDeployment's, and Ready again. */
  const recovered = async (what: string, child: () => Promise<Json>) => {
    await eventually(`${what} recreated as the FlinkDeployment's`, async () =>
      (await child())?.metadata.ownerReferences?.some((r: Json) => r.uid === uid),
    );
    await eventually("Ready again", async () => {
      const f = await find("flinkdeployment", ns, NAME);
      return condition(f, "Ready")?.status === "True";
    });
  };

  beforeAll(async () => {
    await createNamespace(ns);
    await apply(flinkDeployment(ns, NAME));
    uid = (await ready(ns, NAME)).metadata.uid;
  });
  afterAll(() => deleteNamespace(ns));

  it("sees its own creates: every child applied once, nothing reported recreated", async () => {
    expect(await children(ns, uid)).toEqual(CHILDREN);
    // A few more passes (reconcile.interval 5 s) must find what the first ones created.
    await new Promise(r => setTimeout(r, 7_000));
    const seen = await reasons();
    expect(seen.filter(r => r === "Submit")).toHaveLength(1);
    expect(seen).not.toContain("RecreatedChildren");
    expect(seen).not.toContain("RecoverDeployment");
    const applies = (await getJson("configmap", `flink-config-${NAME}`, "-n", ns)).metadata;
    expect(applies.ownerReferences[0].uid).toBe(uid);
  });

  it("sees a child deleted behind its back and recreates it", async () => {
    const old = await find("service", ns, `${NAME}-rest`);
    await kubectl("delete", "service", `${NAME}-rest`, "-n", ns);
    const fresh = await eventually("the rest Service recreated", async () => {
      const s = await find("service", ns, `${NAME}-rest`);
      return s && s.metadata.uid !== old.metadata.uid ? s : undefined;
    });
    expect(fresh.metadata.ownerReferences[0].uid).toBe(uid);
    expect(await events(ns, NAME)).toContain(
      `RecreatedChildren: recreated Service/${NAME}-rest, deleted behind the operator's back`,
    );
    await ready(ns, NAME);
  });

  it("sees a child edited behind its back: one whose owner reference is removed is no longer its own", async () => {
    const cm = `flink-config-${NAME}`;
    await kubectl(
      "patch",
      "configmap",
      cm,
      "-n",
      ns,
      "--type=json",
      "-p",
      JSON.stringify([{ op: "remove", path: "/metadata/ownerReferences" }]),
    );
    const fd = await eventually("ChildConflict", async () => {
      const f = await find("flinkdeployment", ns, NAME);
      return condition(f, "Ready")?.reason === "ChildConflict" ? f : undefined;
    });
    expect(fd.status.error).toContain(`ConfigMap/${cm} (controlled by nobody)`);
    // Never adopted: still without an owner.
    expect((await find("configmap", ns, cm)).metadata.ownerReferences).toBeUndefined();
    await kubectl("delete", "configmap", cm, "-n", ns);
    await recovered(`ConfigMap/${cm}`, () => find("configmap", ns, cm));
  });

  it("sees a child deleted and created again under the same name by someone else", async () => {
    const svc = await getJson("service", NAME, "-n", ns);
    // Delete and create in one command, before the next pass (reconcile.interval 5 s) could recreate it.
    await kubectlStdin(JSON.stringify(ownerless(svc)), "replace", "--force", "-f", "-");
    const fd = await eventually("ChildConflict", async () => {
      const f = await find("flinkdeployment", ns, NAME);
      return condition(f, "Ready")?.reason === "ChildConflict" ? f : undefined;
    });
    expect(fd.status.error).toContain(`Service/${NAME} (controlled by nobody)`);
    const users = await find("service", ns, NAME);
    expect(users.metadata.ownerReferences).toBeUndefined();
    await kubectl("delete", "service", NAME, "-n", ns);
    await recovered(`Service/${NAME}`, () => find("service", ns, NAME));
  });

  it("sees a FlinkDeployment deleted and created again under the same name: children of the new uid", async () => {
    await kubectl("delete", "flinkdep", NAME, "-n", ns, "--timeout=60s");
    expect(await find("flinkdeployment", ns, NAME)).toBeUndefined();
    await apply(flinkDeployment(ns, NAME));
    const fd = await ready(ns, NAME);
    expect(fd.metadata.uid).not.toBe(uid);
    await eventually("the children of the new uid", async () => {
      const now = await children(ns, fd.metadata.uid);
      return JSON.stringify(now) === JSON.stringify(CHILDREN);
    });
    expect(await children(ns, uid)).toEqual([]);
  });
});
