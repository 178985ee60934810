import { z } from "zod";
import { GROUP, KindInfo, VERSION } from "./resources";

type JsonSchema = Record<string, unknown>;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Rewrites zod's JSON Schema into a Kubernetes structural schema. */
function toStructural(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$schema" || key === "propertyNames" || key === "id") continue;
    if (key === "additionalProperties" && value === false) continue;
    if ((key === "minimum" && value === -MAX_SAFE) || (key === "maximum" && value === MAX_SAFE))
      continue;
    out[key] = value;
  }
  if (out["x-kubernetes-int-or-string"]) {
    return pick(out, ["description", "x-kubernetes-int-or-string"]);
  }
  if (out["x-kubernetes-preserve-unknown-fields"]) {
    return {
      type: "object",
      ...pick(out, [
        "description",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-validations",
      ]),
    };
  }
  if ("const" in out) {
    out.enum = [out.const];
    delete out.const;
  }
  if (out.properties) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties as Record<string, JsonSchema>).map(([k, v]) => [
        k,
        toStructural(v),
      ]),
    );
  }
  if (out.items) out.items = toStructural(out.items as JsonSchema);
  if (out.additionalProperties && typeof out.additionalProperties === "object") {
    out.additionalProperties = toStructural(out.additionalProperties as JsonSchema);
  }
  if (!out.type && !out["x-kubernetes-preserve-unknown-fields"]) {
    throw new Error(
      `schema node has no type and cannot be structural: ${JSON.stringify(node).slice(0, 200)}`,
    );
  }
  return out;
}

function pick(o: JsonSchema, keys: string[]): JsonSchema {
  return Object.fromEntries(keys.filter(k => k in o).map(k => [k, o[k]]));
}

/** The openAPIV3Schema of a kind, derived from its zod schema (the single source of truth). */
export function openApiSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
    target: "draft-7",
  }) as JsonSchema;
  // The apiserver owns metadata's schema; a CRD may only declare it as an object and type name and generateName.
  // Declaring name lets the name rule report at metadata.name instead of at the root ("<nil>" in kubectl).
  (json.properties as Record<string, JsonSchema>).metadata = {
    type: "object",
    properties: { name: { type: "string" } },
  };
  return toStructural(json);
}

const PRINTER_COLUMNS = [
  {
    name: "Job Status",
    type: "string",
    jsonPath: ".status.jobStatus.state",
    description: "Last observed state of the job.",
  },
  {
    name: "Lifecycle State",
    type: "string",
    jsonPath: ".status.lifecycleState",
    description: "Lifecycle state of the resource.",
  },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
];

/** The CustomResourceDefinition of a kind. */
export function customResourceDefinition(info: KindInfo) {
  const subresources: Record<string, unknown> = { status: {} };
  if (info.scale) {
    subresources.scale = {
      specReplicasPath: ".spec.taskManager.replicas",
      statusReplicasPath: ".status.taskManager.replicas",
      labelSelectorPath: ".status.taskManager.labelSelector",
    };
  }
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${info.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: info.kind,
        listKind: `${info.kind}List`,
        plural: info.plural,
        singular: info.singular,
        shortNames: info.shortNames,
        categories: ["flink"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: openApiSchema(info.schema) },
          subresources,
          additionalPrinterColumns: PRINTER_COLUMNS,
        },
      ],
    },
  };
}
