import { randomUUID } from "node:crypto";
import { PeprValidateRequest } from "pepr";
import { FlinkOperator } from "../../capabilities/flink";
import { ms, summarize, timeEach } from "./stats";

/** A FlinkDeployment at the large end of what users write: many config keys, sidecars, volumes, env. */
export function largeSpec(name: string) {
  const container = (i: number) => ({
    name: i === 0 ? "flink-main-container" : `sidecar-${i}`,
    image: i === 0 ? undefined : "busybox:1.36",
    env: Array.from({ length: 40 }, (_, j) => ({ name: `VAR_${j}`, value: `value-${j}` })),
    volumeMounts: Array.from({ length: 10 }, (_, j) => ({
      name: `vol-${j}`,
      mountPath: `/data/${i}/${j}`,
    })),
    resources: {
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "200m", memory: "256Mi" },
    },
  });
  const podTemplate = {
    metadata: { labels: { team: "streaming" }, annotations: { "prometheus.io/scrape": "true" } },
    spec: {
      containers: Array.from({ length: 10 }, (_, i) => container(i)),
      volumes: Array.from({ length: 10 }, (_, j) => ({ name: `vol-${j}`, emptyDir: {} })),
      tolerations: [{ key: "dedicated", operator: "Equal", value: "flink", effect: "NoSchedule" }],
      nodeSelector: { pool: "flink" },
    },
  };
  const flinkConfiguration: Record<string, unknown> = {
    "taskmanager.numberOfTaskSlots": 4,
    state: {
      "savepoints.dir": "s3://bucket/savepoints",
      "checkpoints.dir": "s3://bucket/checkpoints",
    },
    "high-availability": { type: "kubernetes", storageDir: "s3://bucket/ha" },
  };
  for (let i = 0; i < 300; i++)
    flinkConfiguration[`metrics.reporter.r${i}.interval`] = `${i + 1} s`;
  return {
    apiVersion: "flink.apache.org/v1beta1",
    kind: "FlinkDeployment",
    metadata: { name, namespace: "default" },
    spec: {
      image: "flink:1.20",
      flinkVersion: "v1_20",
      serviceAccount: "flink",
      flinkConfiguration,
      podTemplate,
      jobManager: { replicas: 2, resource: { memory: "4g", cpu: 2 }, podTemplate },
      taskManager: { replicas: 8, resource: { memory: "8g", cpu: 4 }, podTemplate },
      ingress: { template: "{{name}}.{{namespace}}.flink.example.com", className: "nginx" },
      job: {
        jarURI: "local:///opt/flink/usrlib/job.jar",
        parallelism: 32,
        upgradeMode: "savepoint",
        state: "running",
      },
    },
  };
}

function admissionRequest(object: unknown) {
  return {
    uid: randomUUID(),
    kind: { group: "flink.apache.org", version: "v1beta1", kind: "FlinkDeployment" },
    resource: { group: "flink.apache.org", version: "v1beta1", resource: "flinkdeployments" },
    name: "large",
    namespace: "default",
    operation: "CREATE",
    userInfo: {},
    object,
  };
}

/** The admission callbacks as Pepr calls them, on a large spec: mutate then validate. */
export async function benchValidation() {
  const bindings = FlinkOperator.bindings.filter(b => b.kind.kind === "FlinkDeployment");
  const validate = bindings.find(b => b.validateCallback)!.validateCallback!;
  const valid = largeSpec("large");
  const invalid = largeSpec("large");
  (invalid.spec.job as { parallelism: number }).parallelism = 0;
  (invalid.spec.jobManager as { replicas: number }).replicas = 0;
  const size = Buffer.byteLength(JSON.stringify(valid));
  console.log(
    `validation benchmark: FlinkDeployment of ${(size / 1024).toFixed(1)} KiB (3 pod templates x 10 containers, 303 config keys)`,
  );
  for (const [label, obj] of [
    ["valid", valid],
    ["invalid", invalid],
  ] as const) {
    const samples = await timeEach(2000, () =>
      validate(new PeprValidateRequest(admissionRequest(obj) as never)),
    );
    const s = summarize(samples);
    console.log(`  ${label.padEnd(8)} n=${s.n} p50=${ms(s.p50)} p99=${ms(s.p99)} max=${ms(s.max)}`);
  }
  console.log(
    `  heap used ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} MiB, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB`,
  );
}
