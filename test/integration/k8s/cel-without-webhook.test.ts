import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deleteNamespaces,
  getJson,
  kubectl,
  removeWebhooks,
  restoreWebhooks,
  runKubectl,
  uniqueNamespace,
} from "./kubectl";

/*
 * The global setup registers the module's webhook configurations once for the whole run. This file deletes them
 * to show what the CRDs' CEL rules enforce on their own, and re-creates them from the objects it read before
 * deleting, so files that run after it find the webhook in place.
 */

const namespace = uniqueNamespace("cel");
let saved: any[] = [];

beforeAll(async () => {
  await kubectl(["create", "namespace", namespace]);
  saved = await removeWebhooks(namespace);
});

afterAll(async () => {
  try {
    await restoreWebhooks(saved, namespace);
  } finally {
    await deleteNamespaces([namespace]);
  }
});

function deployment(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "flink.apache.org/v1beta1",
    kind: "FlinkDeployment",
    metadata: { name, namespace },
    spec: {
      image: "flink:1.20",
      flinkVersion: "v1_20",
      serviceAccount: "flink",
      jobManager: { resource: { memory: "1g", cpu: 1 } },
      taskManager: { resource: { memory: "1g", cpu: 1 } },
      ...spec,
    },
  };
}

async function denial(obj: unknown): Promise<string> {
  const r = await runKubectl(["apply", "-f", "-"], JSON.stringify(obj));
  expect(r.code, r.stdout).not.toBe(0);
  return r.stderr;
}

describe("CEL rules of the CRDs, with the webhook configurations deleted", () => {
  it("lets through what only the webhook checks", async () => {
    const r = await runKubectl(
      ["create", "--dry-run=server", "-f", "-"],
      JSON.stringify(
        deployment("forbidden-key", { flinkConfiguration: { "kubernetes.cluster-id": "x" } }),
      ),
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("denies a FlinkDeployment's problems that need nothing outside the object, all at once", async () => {
    const bad = deployment("1-starts-with-a-digit", {
      imagePullPolicy: "always",
      logConfiguration: { "log4j.properties": "rootLogger.level = INFO" },
      jobManager: { replicas: 0 },
      taskManager: { replicas: 0 },
      ingress: { className: "nginx" },
    });
    delete (bad.spec as Record<string, unknown>).flinkVersion;
    delete (bad.spec as Record<string, unknown>).serviceAccount;
    expect(await denial(bad)).toBe(
      [
        'The FlinkDeployment "1-starts-with-a-digit" is invalid: ',
        `* metadata.name: Invalid value: "object": metadata.name must start with a letter, hold only lowercase letters, digits and '-', end with a letter or digit, and be at most 45 characters`,
        "* spec.flinkVersion: Required value: flinkVersion is required",
        "* spec.serviceAccount: Required value: serviceAccount is required",
        '* spec.logConfiguration: Invalid value: "object": logConfiguration keys must be log4j-console.properties or logback-console.xml',
        '* spec.jobManager.replicas: Invalid value: "object": jobManager.replicas must be at least 1',
        '* spec.taskManager.replicas: Invalid value: "object": taskManager.replicas must be at least 1',
        "* spec.ingress: Required value: ingress.template is required when ingress is set",
        '* spec.imagePullPolicy: Invalid value: "object": imagePullPolicy must be Always, IfNotPresent or Never',
        "",
      ].join("\n"),
    );
  });

  it("denies a name longer than 45 characters, an old Flink version and a job without parallelism", async () => {
    const name = "a".repeat(46);
    expect(
      await denial(
        deployment(name, {
          flinkVersion: "v1_14",
          job: { jarURI: "local:///opt/flink/job.jar", parallelism: 0 },
        }),
      ),
    ).toBe(
      [
        `The FlinkDeployment "${name}" is invalid: `,
        `* metadata.name: Invalid value: "object": metadata.name must start with a letter, hold only lowercase letters, digits and '-', end with a letter or digit, and be at most 45 characters`,
        '* spec.flinkVersion: Invalid value: "object": flinkVersion older than v1_15 is not supported',
        '* spec.job.parallelism: Invalid value: "object": job.parallelism must be at least 1 when taskManager.replicas is not set',
        "",
      ].join("\n"),
    );
  });

  it("accepts a job without parallelism when taskManager.replicas is set", async () => {
    const r = await runKubectl(
      ["create", "--dry-run=server", "-f", "-"],
      JSON.stringify(
        deployment("replicas-instead", {
          taskManager: { replicas: 2, resource: { memory: "1g", cpu: 1 } },
          job: { jarURI: "local:///opt/flink/job.jar" },
        }),
      ),
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("denies a FlinkSessionJob without deploymentName, job or jarURI", async () => {
    const job = {
      apiVersion: "flink.apache.org/v1beta1",
      kind: "FlinkSessionJob",
      metadata: { name: "no-target", namespace },
      spec: { job: { parallelism: 1 } },
    };
    expect(await denial(job)).toBe(
      [
        'The FlinkSessionJob "no-target" is invalid: ',
        "* spec.deploymentName: Required value: deploymentName is required",
        "* spec.job.jarURI: Required value: job.jarURI is required",
        "",
      ].join("\n"),
    );
    const withoutJob = {
      ...job,
      metadata: { name: "no-job", namespace },
      spec: { deploymentName: "some-session" },
    };
    expect(await denial(withoutJob)).toBe(
      'The FlinkSessionJob "no-job" is invalid: spec.job: Required value: job is required\n',
    );
  });

  it("denies changing a FlinkSessionJob's deploymentName (a transition rule)", async () => {
    const job = (deploymentName: string) => ({
      apiVersion: "flink.apache.org/v1beta1",
      kind: "FlinkSessionJob",
      metadata: { name: "moving", namespace },
      spec: { deploymentName, job: { jarURI: "https://example.com/job.jar", parallelism: 1 } },
    });
    await kubectl(["apply", "-f", "-"], JSON.stringify(job("first")));
    expect(await denial(job("second"))).toBe(
      'The FlinkSessionJob "moving" is invalid: spec.deploymentName: Invalid value: "object": deploymentName cannot be changed\n',
    );
    expect(
      (await getJson(["flinksessionjob", "moving", "-n", namespace])).spec.deploymentName,
    ).toBe("first");
  });
});
