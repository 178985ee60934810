import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  apply,
  createNamespace,
  crashLoop,
  deleteNamespace,
  find,
  flinkDeployment,
  kubectl,
  withModuleStopped,
  type Json,
} from "./reconcile-helpers";

const ns = `rc-rbac-${Date.now()}`;
const role = `${ns}-operator`;
const user = `system:serviceaccount:${ns}:operator`;
const pkg = JSON.parse(readFileSync(join(process.cwd(), "package.json"), "utf8"));

/** Calls the operator must never be allowed, whatever it makes. */
const NEVER = [
  "get secrets",
  "delete pods",
  "create pods",
  "update deployments.apps",
  "delete flinkdeployments.flink.apache.org",
  "delete namespaces",
  "create flinksessionjobs.flink.apache.org",
];

/**
 * Granted for calls the passes here cannot reach: Flink REST PATCH and DELETE (cancel, deleting an uploaded jar)
 * through the apiserver's service proxy come after a JobManager answered, and kwok's pods serve no REST API.
 * Anything else granted must be called.
 */
const NOT_CALLED_YET = ["delete services/proxy", "patch services/proxy"];

/** A permission as "verb group/resource[/subresource]" ("verb resource" in the core group). */
const permission = (verb: string, group: string, resource: string) =>
  `${verb} ${group ? `${group}/` : ""}${resource}`;

/** What the rules grant, one permission per (group, resource, verb). */
function granted(rules: Json[]): string[] {
  return rules
    .flatMap(r =>
      r.apiGroups.flatMap((g: string) =>
        r.resources.flatMap((res: string) => r.verbs.map((v: string) => permission(v, g, res))),
      ),
    )
    .sort();
}

/**
 * What the calls in the audit log need: each call's own verb; create as well for a server-side apply that
 * created its object (the apiserver authorizes it as a create); and update on the owner's finalizers for an
 * object written with an owner reference that blocks the owner's deletion (OwnerReferencesPermissionEnforcement,
 * which the sandbox does not enable but clusters may).
 */
function needed(calls: Json[]): string[] {
  const need = new Set<string>();
  for (const c of calls) {
    const { apiGroup = "", resource, subresource } = c.objectRef;
    const res = subresource ? `${resource}/${subresource}` : resource;
    need.add(permission(c.verb, apiGroup, res));
    if (c.verb === "patch" && c.responseStatus?.code === 201)
      need.add(permission("create", apiGroup, res));
    for (const ref of c.requestObject?.metadata?.ownerReferences ?? []) {
      if (!ref.blockOwnerDeletion) continue;
      const group = ref.apiVersion.includes("/") ? ref.apiVersion.split("/")[0] : "";
      need.add(permission("update", group, `${ref.kind.toLowerCase()}s/finalizers`));
    }
  }
  return [...need].sort();
}

/**
 * The audit log's entries for the operator's identity, one per request: its last stage (a watch that is still
 * open has only ResponseStarted).
 */
function callsOf(username: string): Json[] {
  const calls = new Map<string, Json>();
  for (const line of readFileSync(inject("auditLog"), "utf8").split("\n")) {
    if (!line) continue;
    const e = JSON.parse(line);
    if (e.user?.username === username) calls.set(e.auditID, e);
  }
  return [...calls.values()];
}

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

  it("refuses calls the operator must never make", async () => {
    for (const check of NEVER) {
      const [verb, resource] = check.split(" ");
      expect(`${check}: ${await canI(verb, resource)}`).toBe(`${check}: no`);
    }
  });

  it("grants what the operator's reconcilers call as that identity, none refused, and nothing it does not call but the Flink calls kwok cannot answer", async () => {
    const admin = JSON.parse(readFileSync(inject("kubeconfig"), "utf8"));
    const token = await kubectl("create", "token", "operator", "-n", ns);
    const file = join(tmpdir(), `${ns}-kubeconfig.json`);
    writeFileSync(file, JSON.stringify({ ...admin, users: [{ name: "admin", user: { token } }] }), {
      mode: 0o600,
    });
    // The reconciler's client and the fluent client read KUBECONFIG at their first call in this process.
    process.env.KUBECONFIG = file;
    const { reconcileDeployment } = await import("../../../lib/reconcile/deployment");
    const { serviceAccountExists } = await import("../../../lib/reconcile/kube");
    const { reconcileSessionJob } = await import("../../../lib/reconcile/sessionjob");
    const { JarCache } = await import("../../../lib/artifacts/cache");
    const { operatorConfigSource } = await import("../../../lib/reconcile/operator-config");
    // Pepr registers a capability's watch bindings only in the modes that run or build them.
    process.env.PEPR_MODE = "build";
    const { FlinkOperator } = await import("../../../capabilities/flink");
    const { K8s } = await import("kubernetes-fluent-client");
    const watches = FlinkOperator.bindings.filter(b => b.isWatch);
    expect(watches.length).toBeGreaterThan(0);
    // As the controller runs passes: with the operator ConfigMap's defaults (read and watched).
    const source = operatorConfigSource();
    const env = { defaults: () => source.get() };

    /** Passes until `done`; a pass that fails (a refused call, say) fails the test. */
    const passUntil = async (name: string, what: string, done: (fd: Json) => boolean) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        await reconcileDeployment(ns, name, env);
        const fd = await find("flinkdeployment", ns, name);
        if (done(fd)) return fd;
        if (Date.now() > deadline) throw new Error(`${name}: no ${what} after 60 s of passes`);
        await new Promise(r => setTimeout(r, 500));
      }
    };
    const stable = (generation: number) => (fd: Json) =>
      fd?.status?.lifecycleState === "STABLE" &&
      fd.status.jobManagerDeploymentStatus === "READY" &&
      fd.metadata.generation === generation;
    const patchSpec = (name: string, spec: Json) =>
      kubectl("patch", "flinkdep", name, "-n", ns, "--type=merge", "-p", JSON.stringify({ spec }));

    await withModuleStopped(ns, async () => {
      // The module's watches, opened as Pepr's watch processor opens them for the capability's bindings.
      for (const b of watches) {
        const watch = K8s(b.model, { ...b.filters, kindOverride: b.kind }).Watch(() => undefined);
        await watch.start();
        watch.close();
      }

      // Every kind of child: native (a Deployment) with an ingress, then standalone (StatefulSets).
      const native = flinkDeployment(ns, "scoped-native");
      const ingress = { template: "{{name}}.{{namespace}}.example.com" };
      await apply({ ...native, spec: { ...native.spec, ingress } });
      await passUntil("scoped-native", "READY", stable(1));
      // An upgrade (workloads replaced, the rest patched in place), then one that drops the ingress.
      await patchSpec("scoped-native", { image: "flink:2.2.0" });
      await passUntil("scoped-native", "READY at generation 2", stable(2));
      await patchSpec("scoped-native", { ingress: null });
      await passUntil("scoped-native", "READY at generation 3", stable(3));
      expect(await find("ingress", ns, "scoped-native")).toBeUndefined();
      // A crash-looping JobManager: its previous log is read (kwok's node serves none, the read is made).
      await crashLoop(ns, "app=scoped-native,component=jobmanager");
      await passUntil(
        "scoped-native",
        "ERROR",
        fd => fd?.status?.jobManagerDeploymentStatus === "ERROR",
      );

      const standalone = flinkDeployment(ns, "scoped-standalone", { mode: "standalone" });
      await apply({ ...standalone, spec: { ...standalone.spec, ingress } });
      await passUntil("scoped-standalone", "READY", stable(1));

      // A StatefulSet that cannot create pods says why only in its events.
      const missing = flinkDeployment(ns, "scoped-missing", { mode: "standalone" });
      await apply({ ...missing, spec: { ...missing.spec, serviceAccount: "missing" } });
      await passUntil("scoped-missing", "the missing account named", fd =>
        fd?.status?.error?.includes('serviceaccount "missing" not found'),
      );
      // The webhook's look-up of spec.serviceAccount.
      expect(await serviceAccountExists(ns, "operator")).toBe(true);
      expect(await serviceAccountExists(ns, "missing")).toBe(false);

      // A session job: finalizer, status and Events; its jar (a local file) fetched and uploaded to the session's
      // JobManager through the service proxy (a POST kwok's pod does not answer); then its deletion, which cannot
      // ask the job to stop and so releases the finalizer at resource.cleanup.timeout.
      await apply(flinkDeployment(ns, "scoped-session"));
      await passUntil("scoped-session", "READY", stable(1));
      const artifacts = mkdtempSync(join(tmpdir(), `${ns}-artifacts-`));
      writeFileSync(join(artifacts, "job.jar"), "PK\u0003\u0004");
      const jobEnv = {
        defaults: async () => ({
          ...(await source.get()),
          "kubernetes.operator.user.artifacts.base.dir": artifacts,
          "kubernetes.operator.resource.cleanup.timeout": "3 s",
        }),
        jars: new JarCache({ dir: join(artifacts, "cache") }),
      };
      await apply({
        apiVersion: "flink.apache.org/v1beta1",
        kind: "FlinkSessionJob",
        metadata: { name: "scoped-job", namespace: ns },
        spec: {
          deploymentName: "scoped-session",
          job: { jarURI: `file://${artifacts}/job.jar`, parallelism: 1 },
        },
      });
      const jobPassUntil = async (what: string, done: (job: Json) => boolean) => {
        const deadline = Date.now() + 60_000;
        for (;;) {
          // A pass may fail (the JobManager does not answer); its calls are what this test looks at.
          await reconcileSessionJob(ns, "scoped-job", jobEnv).catch(() => undefined);
          const job = await find("flinksessionjob", ns, "scoped-job");
          if (done(job)) return job;
          if (Date.now() > deadline) throw new Error(`scoped-job: no ${what} after 60 s of passes`);
          await new Promise(r => setTimeout(r, 500));
        }
      };
      await jobPassUntil(
        "upload attempt",
        j =>
          j?.status?.jobStatus?.state === "RECONCILING" &&
          j.status.conditions?.some((c: Json) => c.reason === "JobManagerUnreachable"),
      );
      await kubectl("delete", "flinksessionjob", "scoped-job", "-n", ns, "--wait=false");
      await jobPassUntil("deletion", j => !j);
      rmSync(artifacts, { recursive: true, force: true });

      for (const name of [
        "scoped-native",
        "scoped-standalone",
        "scoped-missing",
        "scoped-session",
      ]) {
        await kubectl("delete", "flinkdep", name, "-n", ns, "--wait=false");
        await passUntil(name, "deletion", fd => !fd);
      }
    });
    // The audit backend writes an entry once its request completes; give it a moment.
    await new Promise(r => setTimeout(r, 1_000));

    const calls = callsOf(user);
    // Refused by authorization, not a 403 of another origin (the machine's network guard answers the service
    // proxy's dial to a kwok pod's address with one).
    const refused = calls
      .filter(c => c.annotations?.["authorization.k8s.io/decision"] !== "allow")
      .map(c => `${c.verb} ${c.requestURI}`);
    expect(refused).toEqual([]);
    const need = needed(calls);
    const grant = granted(pkg.pepr.rbac);
    expect(need.filter(p => !grant.includes(p))).toEqual([]);
    expect(grant.filter(p => !need.includes(p))).toEqual(NOT_CALLED_YET);
  }, 300_000);
});

async function canI(verb: string, resource: string): Promise<string> {
  try {
    return await kubectl("auth", "can-i", verb, resource, `--as=${user}`, "--all-namespaces");
  } catch (e) {
    // kubectl auth can-i exits 1 for "no".
    return /no\s*$/.test(String((e as { stdout?: string }).stdout ?? "")) ? "no" : String(e);
  }
}
