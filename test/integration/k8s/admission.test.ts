import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { TARGET_SESSION_LABEL } from "../../../lib/api/resources";
import { flattenFlinkConfiguration } from "../../../lib/api/flink-config";
import {
  deleteNamespaces,
  eventually,
  getJson,
  kubectl,
  runKubectl,
  uniqueNamespace,
  webhookInPath,
} from "./kubectl";

const COMPAT = join(__dirname, "../../fixtures/compat");

/** Each example file with its FlinkDeployment and FlinkSessionJob documents (FlinkStateSnapshot is not ours). */
const exampleFiles = readdirSync(COMPAT)
  .flatMap(folder =>
    readdirSync(join(COMPAT, folder))
      .filter(f => f.endsWith(".yaml"))
      .map(file => {
        const docs = parseAllDocuments(readFileSync(join(COMPAT, folder, file), "utf8"))
          .map(d => d.toJS())
          .filter(d => d?.kind === "FlinkDeployment" || d?.kind === "FlinkSessionJob");
        return { name: `${folder}/${file}`, docs };
      }),
  )
  .filter(e => e.docs.length > 0)
  .map((e, i) => ({ ...e, ns: uniqueNamespace(`compat-${i}`) }));

const created = new Set<string>();

async function createNamespace(name: string): Promise<void> {
  await kubectl(["create", "namespace", name]);
  created.add(name);
}

/** Denials and the webhook probe; each example file gets a namespace of its own since names repeat across files. */
const namespace = uniqueNamespace("admission");

beforeAll(async () => {
  await createNamespace(namespace);
  await webhookInPath(namespace);
});

afterAll(() => deleteNamespaces([...created]));

describe("reference operator examples through the apiserver", () => {
  it("covers both example folders and both kinds", () => {
    expect(new Set(exampleFiles.map(e => e.name.split("/")[0]))).toEqual(
      new Set(["1.15.0", "main"]),
    );
    expect(new Set(exampleFiles.flatMap(e => e.docs.map(d => d.kind)))).toEqual(
      new Set(["FlinkDeployment", "FlinkSessionJob"]),
    );
  });

  it.each(exampleFiles)(
    "$name is accepted by kubectl apply and stored with the webhook's defaults",
    async ({ ns, docs }) => {
      await createNamespace(ns);
      // One apply per file, in file order: a session job's webhook looks its session cluster up.
      const r = await runKubectl(
        ["apply", "-n", ns, "-f", "-"],
        docs.map(d => stringify(d)).join("---\n"),
      );
      expect(r.stderr.split("\n").filter(l => l && !l.startsWith("Warning: "))).toEqual([]);
      expect(r.code).toBe(0);

      for (const doc of docs) {
        const stored = await getJson([doc.kind, doc.metadata.name, "-n", ns]);
        const job = doc.spec?.job;
        if (job) {
          expect(stored.spec.job.state).toBe(job.state ?? "running");
          expect(stored.spec.job.upgradeMode).toBe(job.upgradeMode ?? "stateless");
        }
        const config = doc.spec?.flinkConfiguration;
        if (config) {
          expect(
            Object.values(stored.spec.flinkConfiguration).every(v => typeof v === "string"),
          ).toBe(true);
          expect(stored.spec.flinkConfiguration).toEqual(flattenFlinkConfiguration(config).config);
        }
        if (doc.kind === "FlinkSessionJob") {
          expect(stored.metadata.labels?.[TARGET_SESSION_LABEL]).toBe(doc.spec.deploymentName);
        }
      }
    },
  );
});

describe("denials as kubectl prints them", () => {
  const apply = (obj: object) =>
    runKubectl(["apply", "-n", namespace, "-f", "-"], JSON.stringify(obj));

  it("lists every problem of a FlinkDeployment, one per line", async () => {
    const r = await apply({
      apiVersion: "flink.apache.org/v1beta1",
      kind: "FlinkDeployment",
      metadata: { name: "many-problems" },
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
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(
      [
        'Error from server: error when creating "STDIN": admission webhook "pepr-flink-pepr-operator.pepr.dev" denied the request: FlinkDeployment has 6 problems:',
        `- spec.flinkConfiguration["kubernetes.namespace"]: is set by the operator from the resource's name and namespace; remove it`,
        "- spec.job.upgradeMode: savepoint upgrades need a checkpoint directory: set execution.checkpointing.dir (state.checkpoints.dir before Flink 1.20) in flinkConfiguration",
        "- spec.job.upgradeMode: savepoint upgrade mode needs a savepoint directory: set execution.checkpointing.savepoint-dir (state.savepoints.dir before Flink 1.20) in flinkConfiguration",
        '- spec.job.jarURI: scheme "ftp" is not supported for application clusters; use local:// for a jar in the image, or http(s):// or s3:// for a jar the operator fetches',
        '- spec.jobManager.resource.memory: must be a memory size such as 2048m, 2g or 2Gi, got "2 gigs"',
        "- spec.jobManager.replicas: 2 JobManagers need high availability: set high-availability.type to kubernetes",
        "",
      ].join("\n"),
    );
    expect(
      await kubectl([
        "get",
        "flinkdep",
        "many-problems",
        "-n",
        namespace,
        "--ignore-not-found",
        "-o",
        "name",
      ]),
    ).toBe("");
  });

  it("reports the errors the CRD's CEL rules also catch together with the webhook-only ones, in one denial", async () => {
    // As a new user tried it (issue 12): the CEL rules used to fail the request before any validating webhook
    // ran, so the forbidden key showed only once the other two were fixed.
    const r = await apply({
      apiVersion: "flink.apache.org/v1beta1",
      kind: "FlinkDeployment",
      metadata: { name: "three-problems" },
      spec: {
        image: "flink:1.20",
        flinkVersion: "v1_20",
        serviceAccount: "flink",
        flinkConfiguration: { "kubernetes.cluster-id": "my-cluster" },
        logConfiguration: { "log4j.properties": "rootLogger.level = INFO" },
        jobManager: { resource: { memory: "1g", cpu: 1 } },
        taskManager: { resource: { memory: "1g", cpu: 1 } },
        job: { jarURI: "local:///opt/flink/usrlib/job.jar", parallelism: -1 },
      },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(
      [
        'Error from server: error when creating "STDIN": admission webhook "pepr-flink-pepr-operator.pepr.dev" denied the request: FlinkDeployment has 3 problems:',
        `- spec.flinkConfiguration["kubernetes.cluster-id"]: is set by the operator from the resource's name and namespace; remove it`,
        '- spec.logConfiguration["log4j.properties"]: is not a log configuration file; use log4j-console.properties or logback-console.xml',
        "- spec.job.parallelism: must be at least 1, got -1",
        "",
      ].join("\n"),
    );
  });

  it("lists every problem of a FlinkSessionJob, one per line", async () => {
    const r = await apply({
      apiVersion: "flink.apache.org/v1beta1",
      kind: "FlinkSessionJob",
      metadata: { name: "bad-job" },
      spec: {
        deploymentName: "Not_A_Name",
        flinkConfiguration: {
          "high-availability.cluster-id": "x",
          "kubernetes.operator.savepoint.history.max.age": "often",
          "kubernetes.operator.user.artifacts.http.header": "Authorization Bearer s3cr3t",
        },
        job: { jarURI: "https://[::ffff:127.0.0.1]/job.jar", parallelism: 0 },
      },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(
      [
        // Warnings come with a denial too.
        'Warning: spec.flinkConfiguration["high-availability.cluster-id"]: is a cluster option; a job on a running session cluster cannot change it (set it on the session FlinkDeployment)',
        'Error from server: error when creating "STDIN": admission webhook "pepr-flink-pepr-operator.pepr.dev" denied the request: FlinkSessionJob has 6 problems:',
        '- spec.deploymentName: is not a valid FlinkDeployment name, got "Not_A_Name"',
        `- spec.flinkConfiguration["high-availability.cluster-id"]: is set by the operator from the resource's name and namespace; remove it`,
        '- spec.flinkConfiguration["kubernetes.operator.savepoint.history.max.age"]: must be a duration such as "30 s" or "5 min", got "often"',
        `- spec.flinkConfiguration["kubernetes.operator.user.artifacts.http.header"]: header 1 is not a Name:value pair (quote a value that holds ':' or ',') (the value is not shown: headers often hold credentials)`,
        '- spec.job.jarURI: host "::ffff:7f00:1" is an IPv4-mapped address of 127.0.0.1, which is loopback; jars must come from a public host',
        "- spec.job.parallelism: must be at least 1, got 0",
        "",
      ].join("\n"),
    );
  });

  it("denies an update that breaks a stored FlinkDeployment, and keeps the stored spec", async () => {
    const dep = {
      apiVersion: "flink.apache.org/v1beta1",
      kind: "FlinkDeployment",
      metadata: { name: "update-me", namespace },
      spec: {
        image: "flink:1.20",
        flinkVersion: "v1_20",
        serviceAccount: "flink",
        jobManager: { resource: { memory: "1g", cpu: 1 } },
        taskManager: { resource: { memory: "1g", cpu: 1 } },
      },
    };
    expect((await apply(dep)).code).toBe(0);
    const r = await runKubectl([
      "patch",
      "flinkdep",
      "update-me",
      "-n",
      namespace,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { flinkConfiguration: { "kubernetes.cluster-id": "x" } } }),
    ]);
    expect(r.stderr).toBe(
      [
        'Error from server: admission webhook "pepr-flink-pepr-operator.pepr.dev" denied the request: FlinkDeployment has 1 problem:',
        `- spec.flinkConfiguration["kubernetes.cluster-id"]: is set by the operator from the resource's name and namespace; remove it`,
        "",
      ].join("\n"),
    );
    expect(
      (await getJson(["flinkdep", "update-me", "-n", namespace])).spec.flinkConfiguration,
    ).toBeUndefined();
  });

  it("judges a change against the spec the operator last deployed, read from the stored status", async () => {
    const session = {
      apiVersion: "flink.apache.org/v1beta1",
      kind: "FlinkDeployment",
      metadata: { name: "deployed-session", namespace },
      spec: {
        image: "flink:1.20",
        flinkVersion: "v1_20",
        serviceAccount: "flink",
        jobManager: { resource: { memory: "1g", cpu: 1 } },
        taskManager: { resource: { memory: "1g", cpu: 1 } },
      },
    };
    expect((await apply(session)).code).toBe(0);
    await eventually(
      "the reconciler to record the deployed spec",
      async () =>
        (await getJson(["flinkdep", "deployed-session", "-n", namespace])).status
          ?.reconciliationStatus?.lastReconciledSpec,
    );
    const r = await runKubectl([
      "patch",
      "flinkdep",
      "deployed-session",
      "-n",
      namespace,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { mode: "standalone" } }),
    ]);
    expect(r.stderr).toBe(
      [
        'Error from server: admission webhook "pepr-flink-pepr-operator.pepr.dev" denied the request: FlinkDeployment has 1 problem:',
        "- spec.mode: cannot change from native to standalone after the first deployment",
        "",
      ].join("\n"),
    );
  });

  it("reports a misspelled field inside a pod template with a suggestion", async () => {
    const r = await apply({
      apiVersion: "flink.apache.org/v1beta1",
      kind: "FlinkDeployment",
      metadata: { name: "typo-in-pod" },
      spec: {
        image: "flink:1.20",
        flinkVersion: "v1_20",
        serviceAccount: "flink",
        jobManager: { resource: { memory: "1g", cpu: 1 } },
        taskManager: { resource: { memory: "1g", cpu: 1 } },
        podTemplate: { spec: { containers: [{ name: "flink-main-container", volumeMount: [] }] } },
      },
    });
    expect(r.stderr).toBe(
      [
        'Error from server: error when creating "STDIN": admission webhook "pepr-flink-pepr-operator.pepr.dev" denied the request: FlinkDeployment has 1 problem:',
        '- spec.podTemplate.spec.containers[0].volumeMount: unknown field; did you mean "volumeMounts"?',
        "",
      ].join("\n"),
    );
  });

  // Unknown fields outside the preserved maps never reach the webhook: kubectl's default strict field validation
  // rejects them at decoding, and with --validate=false the apiserver prunes them.
  it("leaves a misspelled field of the CRD schema to the apiserver's strict field validation", async () => {
    const r = await apply({
      apiVersion: "flink.apache.org/v1beta1",
      kind: "FlinkDeployment",
      metadata: { name: "typo-in-spec" },
      spec: {
        image: "flink:1.20",
        flinkVersion: "v1_20",
        serviceAccount: "flink",
        jobManger: { resource: { memory: "1g", cpu: 1 } },
        taskManager: { resource: { memory: "1g", cpu: 1 } },
      },
    });
    expect(r.stderr).toBe(
      'Error from server (BadRequest): error when creating "STDIN": FlinkDeployment in version "v1beta1" cannot be handled as a FlinkDeployment: strict decoding error: unknown field "spec.jobManger"\n',
    );
  });

  it("admits with the webhook's warnings, which kubectl prints", async () => {
    const r = await apply({
      apiVersion: "flink.apache.org/v1beta1",
      kind: "FlinkDeployment",
      metadata: { name: "with-warnings" },
      spec: {
        image: "flink:1.19",
        flinkVersion: "v1_20",
        serviceAccount: "flink",
        jobManager: { resources: { requests: { memory: "2048m", cpu: "1" } } },
        taskManager: { resources: { requests: { memory: "2Gi", cpu: "1" } } },
      },
    });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("flinkdeployment.flink.apache.org/with-warnings created");
    expect(r.stderr.split("\n").filter(Boolean)).toEqual([
      'Warning: spec.flinkVersion: is v1_20 but image "flink:1.19" looks like Flink 1.19; the REST API and config keys follow flinkVersion',
      'Warning: spec.jobManager.resources.requests.memory: "2048m" is read as 2048 MiB, as Flink does; to Kubernetes it would mean 2.048 bytes. Write 2048Mi to be unambiguous',
      expect.stringMatching(
        /^Warning: spec\.serviceAccount: service account "flink" does not exist in namespace "admission-[a-z0-9]+": the cluster's pods cannot be created until it does$/,
      ),
    ]);
  });
});
