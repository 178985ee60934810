import { z } from "zod";

/** Keys the operator derives from the resource itself; a user value would fight it. */
export const FORBIDDEN_KEYS = [
  "kubernetes.namespace",
  "kubernetes.cluster-id",
  "high-availability.cluster-id",
];

/** A Flink configuration as users write it: flat or nested maps, scalars of any YAML type. */
export type RawFlinkConfiguration = Record<string, unknown>;

export interface FlattenProblem {
  key: string;
  message: string;
}

function scalarToString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  return undefined;
}

/** Quotes a list item the way Flink writes one, so ';' and quotes inside it survive. */
export function quoteFlinkListItem(item: string): string {
  return /[;'"]/.test(item) ? `'${item.replaceAll("'", "''")}'` : item;
}

/**
 * Splits a Flink list or map value on a delimiter outside quotes. Flink quotes an item with ' or " and
 * doubles a quote inside; unquoted items are trimmed. `key` names the option in errors.
 */
export function splitFlinkValue(value: string, delimiter: string, key = "value"): string[] {
  const items: string[] = [];
  let current = "";
  let quoted = false;
  let i = 0;
  while (i < value.length) {
    const c = value[i];
    if (c === "'" || c === '"') {
      const end = closingQuote(value, i, key);
      current += value.slice(i + 1, end).replaceAll(c + c, c);
      quoted = true;
      i = end + 1;
    } else if (c === delimiter) {
      items.push(quoted ? current : current.trim());
      current = "";
      quoted = false;
      i++;
    } else {
      current += c;
      i++;
    }
  }
  if (current.trim() !== "" || quoted || items.length > 0)
    items.push(quoted ? current : current.trim());
  return items;
}

function closingQuote(value: string, open: number, key: string): number {
  const quote = value[open];
  for (let i = open + 1; i < value.length; i++) {
    if (value[i] !== quote) continue;
    if (value[i + 1] === quote) i++;
    else return i;
  }
  // The value is not quoted back: it may hold credentials, and this message is logged.
  throw new Error(`${key}: unterminated ${quote} quote`);
}

/**
 * Flattens nested maps into dotted keys and scalars into strings, the form Flink's config file and
 * the reference operator use. Lists of scalars become Flink's ';'-separated list syntax.
 */
export function flattenFlinkConfiguration(raw: RawFlinkConfiguration): {
  config: Record<string, string>;
  problems: FlattenProblem[];
} {
  const config: Record<string, string> = {};
  const problems: FlattenProblem[] = [];
  const visit = (prefix: string, value: unknown) => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) visit(prefix ? `${prefix}.${k}` : k, v);
      return;
    }
    let flat: string | undefined;
    if (Array.isArray(value)) {
      const items = value.map(scalarToString);
      flat = items.every(i => i !== undefined)
        ? (items as string[]).map(quoteFlinkListItem).join(";")
        : undefined;
      if (flat === undefined)
        problems.push({
          key: prefix,
          message: "a list may only hold strings, numbers or booleans",
        });
    } else {
      flat = scalarToString(value);
      if (flat === undefined)
        problems.push({ key: prefix, message: "must have a value (got null)" });
    }
    if (flat === undefined) return;
    if (prefix in config && config[prefix] !== flat) {
      problems.push({
        key: prefix,
        message: `is given twice with different values ("${config[prefix]}" and "${flat}")`,
      });
    }
    config[prefix] = flat;
  };
  visit("", raw);
  return { config, problems };
}

/** flinkConfiguration in the API: anything YAML can express; validation and flattening happen afterwards. */
export const FlinkConfigurationSchema = z
  .record(z.string(), z.unknown())
  .describe(
    "Flink configuration; nested maps are flattened to dotted keys and values become strings.",
  )
  .meta({ "x-kubernetes-preserve-unknown-fields": true });

/** Kubernetes or ZooKeeper HA, under the current key or the legacy one (which may name a factory class). */
export function isHaEnabled(config: Record<string, string>): boolean {
  const mode = config["high-availability.type"] ?? config["high-availability"];
  return mode !== undefined && mode.trim() !== "" && mode.trim().toUpperCase() !== "NONE";
}

const firstSet = (config: Record<string, string>, keys: string[]) =>
  keys.map(k => config[k]).find(v => v !== undefined && v.trim() !== "");

/** Checkpoint directory under the 1.x or the 1.20+/2.x key. */
export const checkpointDir = (config: Record<string, string>) =>
  firstSet(config, ["execution.checkpointing.dir", "state.checkpoints.dir"]);

/** Savepoint directory under the 1.x or the 1.20+/2.x key. */
export const savepointDir = (config: Record<string, string>) =>
  firstSet(config, ["execution.checkpointing.savepoint-dir", "state.savepoints.dir"]);
