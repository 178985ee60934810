import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ensureDist } from "../../../scripts/sandbox/dist";
import { kubectl, runKubectl } from "./kubectl";

const REPO = join(__dirname, "../../..");

let docs: any[] = [];
let createdPeprSystem = false;

beforeAll(async () => {
  docs = (await ensureDist()).manifests;
  // The namespaced objects of a server-side dry run need their namespace to exist for real.
  if ((await runKubectl(["get", "namespace", "pepr-system"])).code !== 0) {
    await kubectl(["create", "namespace", "pepr-system"]);
    createdPeprSystem = true;
  }
}, 120_000);

afterAll(async () => {
  if (createdPeprSystem)
    await kubectl(["delete", "namespace", "pepr-system", "--ignore-not-found"]);
});

describe("the manifests of npm run build (pepr build)", () => {
  it("are accepted by the apiserver in a server-side dry run", async () => {
    // The run's module registered webhook configurations of the same names; a server-side apply would merge
    // with them (url and service together), so the dry run uses names of its own.
    const renamed = docs.map(d =>
      /WebhookConfiguration$/.test(d.kind)
        ? { ...d, metadata: { ...d.metadata, name: `${d.metadata.name}-dry-run` } }
        : d,
    );
    const r = await runKubectl(
      ["apply", "--server-side", "--dry-run=server", "-f", "-"],
      renamed.map(d => stringify(d)).join("---\n"),
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const applied = r.stdout.trim().split("\n");
    expect(applied).toHaveLength(docs.length);
    for (const line of applied) expect(line).toMatch(/ serverside-applied \(server dry run\)$/);
    expect(new Set(docs.map(d => d.kind))).toEqual(
      new Set([
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "ServiceAccount",
        "Secret",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
      ]),
    );
  });

  it("grant no wildcard in any Role or ClusterRole", () => {
    const roles = docs.filter(d => d.kind === "Role" || d.kind === "ClusterRole");
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) {
      for (const rule of role.rules) {
        for (const field of ["verbs", "resources", "apiGroups"]) {
          expect(rule[field], `${role.kind} ${role.metadata.name} ${field}`).toBeDefined();
          expect(rule[field], `${role.kind} ${role.metadata.name} ${field}`).not.toContain("*");
        }
      }
    }
  });

  it("give the module's ClusterRole the rules of package.json pepr.rbac", () => {
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8"));
    expect(pkg.pepr.rbacMode).toBe("scoped");
    const clusterRole = docs.find(d => d.kind === "ClusterRole");
    for (const rule of pkg.pepr.rbac) expect(clusterRole.rules).toContainEqual(rule);
  });

  it("hold the service account of package.json flinkServiceAccount, with its Role, in each of its namespaces", () => {
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8"));
    const { name, namespaces } = pkg.flinkServiceAccount;
    expect(namespaces.length).toBeGreaterThan(0);
    for (const ns of namespaces) {
      const of = (kind: string) =>
        docs.find(d => d.kind === kind && d.metadata.name === name && d.metadata.namespace === ns);
      expect(of("ServiceAccount"), `ServiceAccount ${ns}/${name}`).toBeDefined();
      expect(of("Role").rules).toContainEqual(
        expect.objectContaining({ resources: ["pods"], verbs: expect.arrayContaining(["create"]) }),
      );
      expect(of("RoleBinding").roleRef.name).toBe(name);
      expect(of("RoleBinding").subjects).toEqual([{ kind: "ServiceAccount", name, namespace: ns }]);
    }
  });
});
