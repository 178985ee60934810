import type { V1PodTemplateSpec } from "@kubernetes/client-node";
import { PodTemplate } from "../api/pod";
import { FlinkDeploymentSpec } from "../api/spec";

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject =>
  v !== null && typeof v === "object" && !Array.isArray(v);
const hasName = (v: unknown): v is JsonObject & { name: string } =>
  isObject(v) && typeof v.name === "string";

/**
 * Merges `override` into `base` the way the reference operator merges pod templates: maps key by key,
 * lists of objects element by element (by position, or by `name` when `byName` is set and every element
 * of both lists has one), anything else replaced. A missing or null override keeps the base value.
 * Lists of plain values (command, args, accessModes) are replaced whole: merging strings by position
 * would splice two commands together.
 */
export function mergeValues(base: unknown, override: unknown, byName: boolean): unknown {
  if (override === undefined || override === null) return structuredClone(base);
  if (isObject(base) && isObject(override)) {
    const merged: JsonObject = structuredClone(base);
    for (const [key, value] of Object.entries(override))
      merged[key] = mergeValues(base[key], value, byName);
    return merged;
  }
  if (Array.isArray(base) && Array.isArray(override)) return mergeLists(base, override, byName);
  return structuredClone(override);
}

function mergeLists(base: unknown[], override: unknown[], byName: boolean): unknown[] {
  if (byName && base.every(hasName) && override.every(hasName)) {
    const merged = base.map(b => {
      const o = override.find(item => item.name === b.name);
      return o ? mergeValues(b, o, byName) : structuredClone(b);
    });
    const added = override.filter(o => !base.some(b => b.name === o.name));
    return [...merged, ...structuredClone(added)];
  }
  if (base.every(isObject) && override.every(isObject)) {
    const length = Math.max(base.length, override.length);
    return Array.from({ length }, (_, i) => mergeValues(base[i], override[i], byName));
  }
  return structuredClone(override);
}

/** Whether lists merge by name: the reference operator's option, false unless set to true. */
export const mergeByName = (config: Record<string, string>) =>
  config["kubernetes.operator.pod-template.merge-arrays-by-name"]?.trim().toLowerCase() === "true";

/**
 * A role's pod template: spec.podTemplate, with the role's own template merged over it. The API schema
 * has checked both against the Pod shape, so the merge result is read as one.
 */
export function rolePodTemplate(
  spec: FlinkDeploymentSpec,
  role: "jobManager" | "taskManager",
  byName: boolean,
): V1PodTemplateSpec {
  const merged = mergeValues(
    spec.podTemplate ?? {},
    spec[role]?.podTemplate,
    byName,
  ) as PodTemplate;
  // A Deployment or StatefulSet pod template has no name or namespace of its own.
  const metadata = { ...merged.metadata };
  delete metadata.name;
  delete metadata.namespace;
  return { metadata, spec: merged.spec as V1PodTemplateSpec["spec"] };
}
