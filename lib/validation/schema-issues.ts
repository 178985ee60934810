import { z } from "zod";
import { Issue, error, joinPath } from "./issues";
import { didYouMean } from "../suggest";

type AnySchema = z.core.$ZodType;

/** Follows a path through wrappers, objects, arrays and records to the schema that validates it. */
function schemaAt(schema: AnySchema, path: ReadonlyArray<PropertyKey>): AnySchema | undefined {
  let node: AnySchema | undefined = schema;
  for (let i = 0; node && i <= path.length; i++) {
    const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
    if (
      ["optional", "default", "nullable", "readonly", "prefault", "nonoptional"].includes(def.type)
    ) {
      node = def.innerType as AnySchema;
      i--;
      continue;
    }
    if (def.type === "pipe") {
      node = def.in as AnySchema;
      i--;
      continue;
    }
    if (i === path.length) break;
    const seg = path[i];
    if (def.type === "object") node = (def.shape as Record<string, AnySchema>)[String(seg)];
    else if (def.type === "array") node = def.element as AnySchema;
    else if (def.type === "record") node = def.valueType as AnySchema;
    else return undefined;
  }
  return node;
}

function knownKeys(schema: AnySchema, path: ReadonlyArray<PropertyKey>): string[] {
  const node = schemaAt(schema, path);
  const def = node?._zod.def as { type: string; shape?: Record<string, unknown> } | undefined;
  return def?.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

const describe = (v: unknown) =>
  v === undefined
    ? "nothing"
    : v === null
      ? "null"
      : Array.isArray(v)
        ? "a list"
        : typeof v === "object"
          ? "a map"
          : JSON.stringify(v);

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

function message(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type":
      if (input === undefined) return "is required";
      return `must be ${article(issue.expected === "record" ? "map" : issue.expected)}, got ${describe(input)}`;
    case "invalid_value":
      return `must be one of ${issue.values.map(v => String(v)).join(", ")}, got ${describe(input)}`;
    case "too_small":
      if (issue.origin === "string")
        return issue.minimum === 1
          ? "must not be empty"
          : `must be at least ${issue.minimum} characters`;
      if (issue.origin === "array") return `must have at least ${issue.minimum} items`;
      return `must be at least ${issue.minimum}, got ${describe(input)}`;
    case "too_big":
      if (issue.origin === "string")
        return `must be at most ${issue.maximum} characters, got ${String(input).length}`;
      return `must be at most ${issue.maximum}, got ${describe(input)}`;
    case "invalid_format":
      return `must match ${issue.pattern ?? issue.format}, got ${describe(input)}`;
    case "invalid_union":
      return `has an invalid value ${describe(input)}`;
    default:
      return `${issue.message}${input !== undefined ? `, got ${describe(input)}` : ""}`;
  }
}

/**
 * Parses a value; on failure returns every structural problem zod finds, each with its full path and a message
 * a user can act on.
 */
export function parseWithIssues<S extends z.ZodType>(
  schema: S,
  value: unknown,
  basePath: ReadonlyArray<PropertyKey> = [],
): { data: z.infer<S>; issues: [] } | { data: undefined; issues: Issue[] } {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return { data: result.data, issues: [] };
  const issues: Issue[] = [];
  for (const issue of result.error.issues) {
    const path = [...basePath, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(schema, issue.path);
      for (const key of issue.keys)
        issues.push(error(joinPath([...path, key]), `unknown field${didYouMean(key, known)}`));
    } else {
      issues.push(error(joinPath(path), message(issue)));
    }
  }
  return { data: undefined, issues };
}
