import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  apply,
  createNamespace,
  deleteNamespace,
  eventually,
  events,
  find,
  flinkDeployment,
  kubectl,
  ready,
  withModuleStopped,
  type Json,
} from "./reconcile-helpers";

const ns = `rc-cleanup-${Date.now()}`;
const role = `${ns}-operator`;
const pkg = JSON.parse(readFileSync(join(process.cwd(), "package.json"), "utf8"));
const TIMEOUT_S = 6;

/** The deployed operator's rules without one (group, resource, verb). */
function rulesWithout(group: string, resource: string, verb: string): Json[] {
  return pkg.pepr.rbac
    .map((r: Json) =>
      r.apiGroups.includes(group) && r.resources.includes(resource)
        ? { ...r, verbs: r.verbs.filter((v: string) => v !== verb) }
        : r,
    )
    .filter((r: Json) => r.verbs.length > 0);
}

/** Each of the calls a deletion makes before its clean-up proper, refused in turn. */
const REFUSED = [
  { name: "no-ns-get", call: ["", "namespaces", "get"], says: 'cannot get resource "namespaces"' },
  {
    name: "no-job-list",
    call: ["flink.apache.org", "flinksessionjobs", "list"],
    says: 'cannot list resource "flinksessionjobs"',
  },
  {
    name: "no-status",
    call: ["flink.apache.org", "flinkdeployments/status", "patch"],
    says: 'cannot patch resource "flinkdeployments/status"',
  },
] as const;

const setRole = (rules: Json[]) =>
  apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: role },
    rules,
  });

describe("reconcile: a deletion whose calls keep failing", () => {
  beforeAll(async () => {
    await createNamespace(ns);
    await kubectl("create", "serviceaccount", "operator", "-n", ns);
    await setRole(pkg.pepr.rbac);
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

  it(`releases the finalizer within resource.cleanup.timeout (${TIMEOUT_S} s), whichever call is refused`, async () => {
    // Session clusters, so that a deletion looks for session jobs; deployed by the run's module.
    for (const { name } of REFUSED)
      await apply(
        flinkDeployment(ns, name, {
          conf: { "kubernetes.operator.resource.cleanup.timeout": `${TIMEOUT_S} s` },
        }),
      );
    for (const { name } of REFUSED) await ready(ns, name);

    const admin = JSON.parse(readFileSync(inject("kubeconfig"), "utf8"));
    const token = await kubectl("create", "token", "operator", "-n", ns);
    const file = join(tmpdir(), `${ns}-kubeconfig.json`);
    writeFileSync(file, JSON.stringify({ ...admin, users: [{ name: "admin", user: { token } }] }), {
      mode: 0o600,
    });
    // The reconciler's client reads KUBECONFIG at its first call in this process.
    process.env.KUBECONFIG = file;
    const { reconcileDeployment } = await import("../../../lib/reconcile/deployment");
    const env = { defaults: async () => ({}) };

    await withModuleStopped(ns, async () => {
      for (const { name, call, says } of REFUSED) {
        const [group, resource, verb] = call;
        await setRole(rulesWithout(group, resource, verb));
        await eventually(`${verb} ${resource} refused`, async () => {
          const r = await kubectl(
            "auth",
            "can-i",
            verb,
            group ? `${resource.split("/")[0]}.${group}` : resource,
            ...(resource.includes("/") ? [`--subresource=${resource.split("/")[1]}`] : []),
            `--as=system:serviceaccount:${ns}:operator`,
            "-n",
            ns,
          ).catch((e: { stdout?: string }) => String(e.stdout ?? ""));
          return r.trim() === "no";
        });
        await kubectl("delete", "flinkdep", name, "-n", ns, "--wait=false");
        const asked = Date.parse(
          (await find("flinkdeployment", ns, name)).metadata.deletionTimestamp,
        );
        // Passes as the queue runs them: each when the previous one asked; a pass that throws fails the test.
        for (;;) {
          const { requeueAfterMs } = await reconcileDeployment(ns, name, env);
          if (requeueAfterMs === undefined) break;
          await new Promise(r => setTimeout(r, requeueAfterMs));
        }
        const released = Date.now();
        expect(await find("flinkdeployment", ns, name)).toBeUndefined();
        // deletionTimestamp has whole seconds; a pass takes a moment.
        expect(released - asked).toBeGreaterThanOrEqual(TIMEOUT_S * 1000);
        expect(released - asked).toBeLessThan((TIMEOUT_S + 3) * 1000);
        const failed = (await events(ns, name)).filter(e => e.startsWith("CleanupFailed: "));
        expect(failed).toHaveLength(1);
        expect(failed[0]).toContain(says);
        await setRole(pkg.pepr.rbac);
      }
    });
  }, 240_000);
});
