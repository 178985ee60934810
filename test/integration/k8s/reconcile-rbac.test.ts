import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  apply,
  createNamespace,
  deleteNamespace,
  eventually,
  find,
  flinkDeployment,
  kubectl,
  kubectlStdin,
  ready,
} from "./reconcile-helpers";

const ns = `rc-rbac-${Date.now()}`;
const role = `${ns}-operator`;
const sa = `system:serviceaccount:${ns}:operator`;
const pkg = JSON.parse(readFileSync(join(process.cwd(), "package.json"), "utf8"));

/** Every call lib/reconcile makes (kube.ts, api.ts, operator-config.ts) and the module's watches, as verb resource. */
const NEEDED = [
  "get flinkdeployments.flink.apache.org",
  "list flinkdeployments.flink.apache.org",
  "watch flinkdeployments.flink.apache.org",
  "patch flinkdeployments.flink.apache.org",
  "patch flinkdeployments.flink.apache.org --subresource=status",
  "update flinkdeployments.flink.apache.org --subresource=finalizers",
  "list flinksessionjobs.flink.apache.org",
  ...["deployments.apps", "statefulsets.apps"].flatMap(r =>
    ["get", "list", "watch", "create", "patch", "delete"].map(v => `${v} ${r}`),
  ),
  ...["get", "list", "watch", "create", "patch", "delete"].map(v => `${v} configmaps`),
  ...["services", "ingresses.networking.k8s.io"].flatMap(r =>
    ["list", "create", "patch", "delete"].map(v => `${v} ${r}`),
  ),
  "list pods",
  "create events",
  "get namespaces",
];
const NOT_NEEDED = [
  "get secrets",
  "delete pods",
  "create pods",
  "update deployments.apps",
  "delete flinkdeployments.flink.apache.org",
  "delete namespaces",
  "create flinksessionjobs.flink.apache.org",
];

describe("RBAC of the deployed operator (package.json pepr.rbac)", () => {
  beforeAll(async () => {
    await createNamespace(ns);
    await kubectl("create", "serviceaccount", "operator", "-n", ns);
    await apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: role },
      rules: pkg.pepr.rbac,
    });
    await kubectl(
      "create",
      "clusterrolebinding",
      role,
      `--clusterrole=${role}`,
      `--serviceaccount=${ns}:operator`,
    );
  });
  afterAll(async () => {
    await kubectl("delete", "clusterrolebinding,clusterrole", role, "--ignore-not-found");
    await deleteNamespace(ns);
  });

  it("grants no wildcards", () => {
    for (const rule of pkg.pepr.rbac)
      for (const field of ["apiGroups", "resources", "verbs"])
        expect(rule[field]).not.toContain("*");
  });

  it("allows every call the reconciler makes, cluster-wide, and nothing it does not make", async () => {
    for (const check of NEEDED) {
      const [verb, resource, ...rest] = check.split(" ");
      expect(`${check}: ${await canI(verb, resource, ...rest)}`).toBe(`${check}: yes`);
    }
    for (const check of NOT_NEEDED) {
      const [verb, resource] = check.split(" ");
      expect(`${check}: ${await canI(verb, resource)}`).toBe(`${check}: no`);
    }
  });

  it("lets the operator's identity create children with server-side apply (which needs create as well as patch)", async () => {
    const cm = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "applied-by-operator", namespace: ns },
      data: { a: "b" },
    };
    await kubectlStdin(
      JSON.stringify(cm),
      "apply",
      "--server-side",
      "--field-manager=pepr",
      `--as=${sa}`,
      "-f",
      "-",
    );
    expect(await find("configmap", ns, "applied-by-operator")).toBeDefined();
  });

  it("runs reconcile passes as that identity", async () => {
    const admin = JSON.parse(readFileSync(inject("kubeconfig"), "utf8"));
    const token = await kubectl("create", "token", "operator", "-n", ns);
    const file = join(tmpdir(), `${ns}-kubeconfig.json`);
    writeFileSync(file, JSON.stringify({ ...admin, users: [{ name: "admin", user: { token } }] }), {
      mode: 0o600,
    });
    // The reconciler's client reads KUBECONFIG once, at its first call in this process.
    process.env.KUBECONFIG = file;
    const { reconcileDeployment } = await import("../../../lib/reconcile/deployment");
    const env = { defaults: async () => ({}) };

    await apply(flinkDeployment(ns, "scoped", { mode: "standalone" }));
    await reconcileDeployment(ns, "scoped", env);
    await ready(ns, "scoped");
    await reconcileDeployment(ns, "scoped", env);
    await kubectl("delete", "flinkdep", "scoped", "-n", ns, "--wait=false");
    await eventually("deletion as the operator", async () => {
      if (!(await find("flinkdeployment", ns, "scoped"))) return true;
      await reconcileDeployment(ns, "scoped", env);
      return false;
    });
  });
});

async function canI(verb: string, resource: string, ...rest: string[]): Promise<string> {
  try {
    return await kubectl(
      "auth",
      "can-i",
      verb,
      resource,
      ...rest,
      `--as=${sa}`,
      "--all-namespaces",
    );
  } catch (e) {
    // kubectl auth can-i exits 1 for "no".
    return /no\s*$/.test(String((e as { stdout?: string }).stdout ?? "")) ? "no" : String(e);
  }
}
