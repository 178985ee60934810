import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { parseAllDocuments } from "yaml";
import type { KubernetesObject } from "@kubernetes/client-node";
import { admitFlinkDeployment, applyDefaults, applySessionJobDefaults } from "../../lib/admission";
import { FlinkDeploymentSchema } from "../../lib/api/resources";
import { buildClusterManifests } from "../../lib/builders";
import { CANARY_LABEL } from "../../lib/validation/flinkdeployment";

/** Generated objects for the fuzz tests (unit: admission and builders; k8s: server-side dry run). */

/** Fixed so that a failure reproduces; fast-check prints it with the counterexample too. */
export const FUZZ_SEED = 20261202;

const COMPAT = join(__dirname, "../fixtures/compat");

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** Every document of the reference examples, by kind. */
function examples(kind: string): Obj[] {
  const docs: Obj[] = [];
  for (const version of readdirSync(COMPAT))
    for (const file of readdirSync(join(COMPAT, version)).filter(f => f.endsWith(".yaml")))
      for (const doc of parseAllDocuments(readFileSync(join(COMPAT, version, file), "utf8"))) {
        const o = doc.toJS() as Obj | null;
        if (o?.kind === kind) docs.push(o);
      }
  return docs;
}

export const DEPLOYMENT_EXAMPLES = examples("FlinkDeployment");
export const SESSION_JOB_EXAMPLES = examples("FlinkSessionJob");

const oddString = fc.oneof(
  fc.constantFrom("", " ", "-1", "0", "1e309", "NaN", "true", "null", "a".repeat(300)),
  fc.constantFrom(
    "ü",
    "名前",
    "\u0000",
    "\u202e",
    "😀",
    "a\nb",
    "a: b",
    "${x}",
    "--x=y",
    "../../etc",
  ),
  fc.constantFrom("1024m", "2g", "-5g", "0.5", "1.5Gi", "999999999999999999999Ti", "s3://b/p"),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 10 }),
);

const oddNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, -0, 0.5, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, -1e308, 5e-324),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** JSON as the apiserver hands it over: no NaN, no Infinity, no undefined. */
const deep: fc.Arbitrary<Json> = fc.letrec<{ v: Json }>(tie => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    oddString,
    oddNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("v"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(oddString, fc.constantFrom("a.b", "x.y.z")), tie("v"), {
      maxKeys: 3,
    }),
  ),
})).v;

/** One edit at a place reached by walking the object with `steps` (each picks a child by index). */
type Edit = { steps: number[]; action: "delete" | "replace" | "add"; key: string; value: Json };

const FLINK_KEYS = [
  "taskmanager.numberOfTaskSlots",
  "jobmanager.memory.process.size",
  "taskmanager.memory.process.size",
  "kubernetes.operator.periodic.savepoint.interval",
  "high-availability.type",
  "high-availability.storageDir",
  "state.checkpoints.dir",
  "state.savepoints.dir",
  "kubernetes.jobmanager.replicas",
  "kubernetes.jobmanager.labels",
  "kubernetes.rest-service.exposed.type",
  "rest.port",
  "blob.server.port",
  "parallelism.default",
  "kubernetes.operator.job.upgrade.last-state-fallback.enabled",
  "env.java.opts.all",
];

const edit: fc.Arbitrary<Edit> = fc.record({
  steps: fc.array(fc.nat(), { minLength: 0, maxLength: 6 }),
  action: fc.constantFrom("delete", "replace", "replace", "add"),
  key: fc.oneof(
    fc.constantFrom(...FLINK_KEYS),
    fc.constantFrom("spec", "metadata", "name", "containers", "resources", "job", "replicas"),
    oddString,
  ),
  value: deep,
});

function applyEdit(root: Obj, e: Edit): void {
  let node: Json = root;
  for (const step of e.steps) {
    if (node === null || typeof node !== "object") break;
    const keys: string[] = Object.keys(node);
    if (keys.length === 0) break;
    const child: Json = (node as Obj)[keys[step % keys.length]];
    if (child === null || typeof child !== "object") break;
    node = child;
  }
  if (node === null || typeof node !== "object") return;
  const keys = Object.keys(node);
  const target =
    e.action === "add" || keys.length === 0 ? e.key : keys[e.steps.length % keys.length];
  if (e.action === "delete") delete (node as Obj)[target];
  else (node as Obj)[target] = e.value;
}

/** Edits aimed where the builders read most: flinkConfiguration and the pod templates. */
const focused = fc.oneof(
  fc.record({
    at: fc.constant(["spec", "flinkConfiguration"]),
    key: fc.constantFrom(...FLINK_KEYS),
    value: deep,
  }),
  fc.record({
    at: fc.constantFrom(
      ["spec", "podTemplate"],
      ["spec", "podTemplate", "spec"],
      ["spec", "jobManager", "podTemplate"],
      ["spec", "taskManager", "podTemplate", "spec"],
      ["spec", "job"],
      ["spec", "jobManager", "resource"],
      ["spec", "taskManager"],
      ["spec", "ingress"],
      ["metadata"],
    ),
    key: fc.constantFrom(
      "containers",
      "initContainers",
      "volumes",
      "metadata",
      "labels",
      "annotations",
      "name",
      "replicas",
      "memory",
      "cpu",
      "parallelism",
      "jarURI",
      "upgradeMode",
      "state",
      "template",
      "className",
    ),
    value: deep,
  }),
);

function setAt(root: Obj, at: readonly string[], key: string, value: Json): void {
  let node: Obj = root;
  for (const k of at) {
    const child = node[k];
    if (child === null || typeof child !== "object" || Array.isArray(child)) node[k] = {};
    node = node[k] as Obj;
  }
  node[key] = value;
}

function mutated(bases: Obj[]): fc.Arbitrary<Obj> {
  return fc
    .record({
      base: fc.constantFrom(...bases),
      edits: fc.array(edit, { maxLength: 3 }),
      focused: fc.array(focused, { maxLength: 2 }),
    })
    .map(({ base, edits, focused }) => {
      const o = structuredClone(base);
      for (const f of focused) setAt(o, f.at, f.key, f.value);
      for (const e of edits) applyEdit(o, e);
      return o;
    });
}

/** Objects with the kind's envelope and a spec generated from nothing. */
function fromScratch(kind: string): fc.Arbitrary<Obj> {
  return fc.record({
    apiVersion: fc.constant("flink.apache.org/v1beta1"),
    kind: fc.constant(kind),
    metadata: fc.record({
      name: fc.oneof(fc.constantFrom("fuzz", "a", "x".repeat(60)), oddString),
    }),
    spec: fc.oneof(
      deep,
      fc.record(
        {
          image: fc.oneof(fc.constant("flink:1.20"), oddString),
          flinkVersion: fc.oneof(fc.constantFrom("v1_20", "v2_0", "v2_2", "v1_15"), oddString),
          serviceAccount: fc.oneof(fc.constant("flink"), oddString),
          mode: fc.constantFrom("native", "standalone", "other"),
          deploymentName: fc.oneof(fc.constant("session"), oddString),
          flinkConfiguration: fc.dictionary(fc.constantFrom(...FLINK_KEYS), deep, { maxKeys: 4 }),
          jobManager: fc.record({
            resource: fc.record({ memory: oddString, cpu: oddNumber }),
            replicas: oddNumber,
          }),
          taskManager: fc.record({ resource: fc.record({ memory: oddString, cpu: oddNumber }) }),
          job: fc.record({
            jarURI: fc.oneof(
              fc.constant("local:///opt/flink/examples/streaming/StateMachineExample.jar"),
              oddString,
            ),
            parallelism: oddNumber,
            upgradeMode: fc.constantFrom("stateless", "savepoint", "last-state", "x"),
            state: fc.constantFrom("running", "suspended", "x"),
          }),
        },
        { requiredKeys: [] },
      ),
    ),
  });
}

export const NAMESPACE = "fuzz";

/**
 * As the apiserver hands the object to the webhooks: it refuses to decode an object whose metadata is not an
 * object, and sets the namespace.
 */
function inNamespace(o: Obj): Obj {
  const meta = o.metadata;
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) o.metadata = {};
  (o.metadata as Obj).namespace = NAMESPACE;
  return o;
}

export const deploymentArb: fc.Arbitrary<Obj> = fc
  .oneof(
    { weight: 4, arbitrary: mutated(DEPLOYMENT_EXAMPLES) },
    { weight: 1, arbitrary: fromScratch("FlinkDeployment") },
  )
  .map(inNamespace);

export const sessionJobArb: fc.Arbitrary<Obj> = fc
  .oneof(
    { weight: 4, arbitrary: mutated(SESSION_JOB_EXAMPLES) },
    { weight: 1, arbitrary: fromScratch("FlinkSessionJob") },
  )
  .map(inNamespace);

/** What the mutating webhook hands on; it may throw, which the properties count as admission throwing. */
export const defaulted = (o: Obj) => applyDefaults(structuredClone(o));
export const sessionJobDefaulted = (o: Obj) => applySessionJobDefaults(structuredClone(o));

/** Kubernetes' name rules: DNS-1123 subdomain for most objects, DNS-1035 label for Services. */
export const DNS_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS_LABEL_1035 = /^(?=.{1,63}$)[a-z]([-a-z0-9]*[a-z0-9])?$/;

const BUILD = { generation: 1, jobId: "0123456789abcdef0123456789abcdef", deployId: "1" };

/**
 * The manifests the reconciler would apply for a generated FlinkDeployment, or undefined when the reconciler
 * would build none: denied by admission, a canary (left alone), or a name the apiserver does not store.
 */
export function admittedManifests(raw: Obj): KubernetesObject[] | undefined {
  const obj = defaulted(raw);
  if (!admitFlinkDeployment(obj, { operatorConfig: {}, old: null }).allowed) return undefined;
  const meta = obj.metadata as { name?: unknown; labels?: Record<string, unknown> };
  if (meta.labels?.[CANARY_LABEL] === "true") return undefined;
  if (typeof meta.name !== "string" || !DNS_SUBDOMAIN.test(meta.name)) return undefined;
  const dep = FlinkDeploymentSchema.parse({
    ...obj,
    metadata: { ...meta, uid: "00000000-0000-4000-8000-000000000000" },
  });
  return buildClusterManifests(dep, BUILD);
}
