import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { ensureHelm } from "../../../scripts/sandbox/build";
import { ensureDist, type Dist, type Manifest } from "../../../scripts/sandbox/dist";
import { MODULE_IMAGE } from "../../../scripts/sandbox/image-module";
import { run } from "../../../scripts/sandbox/proc";
import { kubectl, runKubectl } from "./kubectl";

/**
 * The Helm chart `npm run build` writes (pepr build's, with the Flink service account added), rendered by the
 * cached helm binary with the sandbox's module image, and checked by the apiserver in a server-side dry run.
 */
let dist: Dist;
let helm: string;
const namespaces = ["helm-flink-a", "helm-flink-b"];
const created: string[] = [];

async function template(...set: string[]): Promise<Manifest[]> {
  const out = await run(
    helm,
    [
      "template",
      "flink-operator",
      dist.chart,
      "--set",
      `admission.image=${MODULE_IMAGE}`,
      "--set",
      `watcher.image=${MODULE_IMAGE}`,
      ...set.flatMap(s => ["--set", s]),
    ],
    { quiet: true },
  );
  return parseAllDocuments(out)
    .map(d => d.toJS())
    .filter(Boolean);
}

const webhooks = (docs: Manifest[]) => docs.filter(d => /WebhookConfiguration$/.test(d.kind));

beforeAll(async () => {
  dist = await ensureDist();
  // First use builds helm from the Go module proxy (a few minutes on 2 cores).
  helm = await ensureHelm();
  for (const ns of ["pepr-system", ...namespaces]) {
    if ((await runKubectl(["get", "namespace", ns])).code === 0) continue;
    await kubectl(["create", "namespace", ns]);
    created.push(ns);
  }
}, 1_200_000);

afterAll(async () => {
  for (const ns of created) await kubectl(["delete", "namespace", ns, "--wait=false"]);
});

describe("the Helm chart of npm run build", () => {
  it("renders the admission and watcher Deployments with the image given", async () => {
    const docs = await template();
    const deployments = docs.filter(d => d.kind === "Deployment");
    expect(deployments.map(d => d.metadata.name).sort()).toEqual([
      "pepr-flink-pepr-operator",
      "pepr-flink-pepr-operator-watcher",
    ]);
    for (const d of deployments) {
      const [container] = d.spec.template.spec.containers;
      expect(container.image).toBe(MODULE_IMAGE);
      expect(container.args).toEqual(["/app/node_modules/pepr/dist/controller.js", dist.hash]);
    }
  });

  it("renders the Flink service account with its Role in the namespaces and under the name given", async () => {
    const docs = await template(
      `flinkServiceAccount.namespaces={${namespaces.join(",")}}`,
      "flinkServiceAccount.name=flink-jobs",
    );
    for (const ns of namespaces) {
      const of = (kind: string) =>
        docs.find(
          d => d.kind === kind && d.metadata.namespace === ns && d.metadata.name === "flink-jobs",
        );
      expect(of("ServiceAccount"), `ServiceAccount ${ns}`).toBeDefined();
      expect(of("Role"), `Role ${ns}`).toBeDefined();
      expect(of("RoleBinding").subjects).toEqual([
        { kind: "ServiceAccount", name: "flink-jobs", namespace: ns },
      ]);
    }
    const none = await template("flinkServiceAccount.create=false");
    expect(none.filter(d => d.kind === "ServiceAccount").map(d => d.metadata.name)).toEqual([
      "pepr-flink-pepr-operator",
    ]);
  });

  it("keeps the build's CA bundle and API path in the webhooks whatever the timeout and failure policy", async () => {
    const built = webhooks(dist.manifests);
    const docs = await template("admission.webhookTimeout=15", "admission.failurePolicy=Ignore");
    expect(webhooks(docs)).toHaveLength(2);
    for (const config of webhooks(docs)) {
      const original = built.find(b => b.kind === config.kind)!;
      const [hook] = config.webhooks;
      expect(hook.clientConfig.caBundle).toBe(original.webhooks[0].clientConfig.caBundle);
      expect(hook.clientConfig.service).toEqual(original.webhooks[0].clientConfig.service);
      expect(hook.clientConfig.service.path).toMatch(
        new RegExp(`^/(mutate|validate)/${dist.apiPath}$`),
      );
      expect(hook.timeoutSeconds).toBe(15);
      expect(hook.failurePolicy).toBe("Ignore");
    }
  });

  it("is accepted by the apiserver in a server-side dry run", async () => {
    const docs = await template(`flinkServiceAccount.namespaces={${namespaces.join(",")}}`);
    // The run's module registered webhook configurations of the same names; the dry run uses names of its own.
    const renamed = docs.map(d =>
      /WebhookConfiguration$/.test(d.kind)
        ? { ...d, metadata: { ...d.metadata, name: `${d.metadata.name}-helm-dry-run` } }
        : d,
    );
    const r = await runKubectl(
      ["apply", "--server-side", "--dry-run=server", "-f", "-"],
      renamed.map(d => stringify(d)).join("---\n"),
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(docs.length);
  });
});
