import catalog120 from "./catalog/1.20.json";
import catalog23 from "./catalog/2.3.json";
import { editDistance } from "../suggest";
import { parseFlinkVersion } from "./version";

/**
 * One finding about a Flink configuration, meant to be shown to the user as is.
 *
 * - `path`: where the key sits, `spec.flinkConfiguration["<key>"]` by default (see CheckOptions.pathPrefix).
 * - `key`: the configuration key itself.
 * - `severity`: "error" when Flink would refuse the value (it fails at startup or job submission);
 *   "warning" for keys Flink ignores (unknown) or still accepts under an old name (deprecated).
 * - `message`: a sentence naming the key, the problem and, where known, the fix.
 */
export interface FlinkConfigIssue {
  path: string;
  key: string;
  severity: "error" | "warning";
  message: string;
}

export interface CheckOptions {
  /** Prefix of every `path`; default "spec.flinkConfiguration". */
  pathPrefix?: string;
}

interface CatalogOption {
  type: string;
  list?: boolean;
  default?: string;
  values?: string[];
  deprecated?: boolean;
  fallbackKeys?: string[];
  deprecatedKeys?: string[];
}

interface Catalog {
  flinkVersion: string;
  parser: { isoDurations: boolean };
  options: Record<string, CatalogOption>;
}

/** Catalogs generated from the real Flink jars by `npm run gen:catalog`, by minor line. */
const CATALOGS: Record<string, Catalog> = { "1.20": catalog120, "2.3": catalog23 };

/** Keys the operator owns (its own options and the autoscaler's): Flink never sees them. */
const OPERATOR_PREFIXES = ["kubernetes.operator.", "job.autoscaler."];

/**
 * Families of keys Flink passes through to plugins, file systems or the environment without declaring
 * them as options, so the catalog cannot list them.
 */
const PASS_THROUGH_PREFIXES = [
  "$internal.",
  "containerized.master.env.",
  "containerized.taskmanager.env.",
  "s3.",
  "s3a.",
  "fs.",
  "gs.",
  "presto.",
  "flink.hadoop.",
  "python.",
  "plugin.",
];

export const CATALOG_MINOR_VERSIONS = Object.keys(CATALOGS);

/**
 * The catalog for a Flink version given as "1.20", "1.20.5" or the CRD's "v1_20". An older minor without
 * its own catalog uses the nearest one of its major line (options rarely change between neighbours).
 */
export function catalogFor(flinkVersion: string): {
  minor: string;
  exact: boolean;
  catalog: Catalog;
} {
  const v = parseFlinkVersion(flinkVersion);
  const wanted = `${v.major}.${v.minor}`;
  if (CATALOGS[wanted]) return { minor: wanted, exact: true, catalog: CATALOGS[wanted] };
  const distance = (m: string) => {
    const [maj, min] = m.split(".").map(Number);
    return Math.abs(maj - v.major) * 1000 + Math.abs(min - v.minor);
  };
  const minor = CATALOG_MINOR_VERSIONS.reduce((a, b) => (distance(b) < distance(a) ? b : a));
  return { minor, exact: false, catalog: CATALOGS[minor] };
}

interface Index {
  catalog: Catalog;
  /** Old key -> the options that still read it. */
  deprecated: Map<string, string[]>;
  fallback: Map<string, string[]>;
  patterns: { re: RegExp; key: string }[];
  /** Lower-cased, without separators: "taskmanager.numberoftaskslots" -> the keys to suggest. */
  normalized: Map<string, string[]>;
  /** Every key a user might have meant, old names included, with the current key to suggest for it. */
  candidates: { name: string; suggest: string }[];
}

const indexes = new Map<string, Index>();

function indexFor(minor: string, catalog: Catalog): Index {
  let idx = indexes.get(minor);
  if (idx) return idx;
  idx = {
    catalog,
    deprecated: new Map(),
    fallback: new Map(),
    patterns: [],
    normalized: new Map(),
    candidates: [],
  };
  for (const [key, opt] of Object.entries(catalog.options)) {
    for (const old of opt.deprecatedKeys ?? []) push(idx.deprecated, old, key);
    for (const fb of opt.fallbackKeys ?? []) push(idx.fallback, fb, key);
    if (key.includes("<")) {
      idx.patterns.push({ re: patternFor(key), key });
      continue;
    }
    // A typo of an old name is best answered with the current one.
    for (const name of [key, ...(opt.deprecatedKeys ?? []), ...(opt.fallbackKeys ?? [])]) {
      idx.candidates.push({ name, suggest: key });
      push(idx.normalized, normalize(name), key);
    }
  }
  // Most specific first: "metrics.reporter.<name>.interval" before "metrics.reporter.<name>.<parameter>".
  idx.patterns.sort((a, b) => literalLength(b.key) - literalLength(a.key));
  indexes.set(minor, idx);
  return idx;
}

function push(m: Map<string, string[]>, k: string, v: string) {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** "metrics.reporter.<name>.factory.class": a placeholder is one segment, a trailing one anything. */
function patternFor(key: string): RegExp {
  const parts = key.split(/(<[^>]+>)/).filter(Boolean);
  const body = parts
    .map((p, i) =>
      p.startsWith("<")
        ? i === parts.length - 1
          ? ".+"
          : "[^.]+"
        : p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("");
  return new RegExp(`^${body}$`);
}

function literalLength(pattern: string): number {
  return pattern.replace(/<[^>]+>/g, "").length;
}

function normalize(key: string): string {
  return key.toLowerCase().replace(/[-_.]/g, "");
}

/**
 * Checks a flat Flink configuration against the option catalog of a Flink version. Pure: no I/O.
 * Keys of the operator (kubernetes.operator.*, job.autoscaler.*) are skipped.
 */
export function checkFlinkConfiguration(
  config: Record<string, string>,
  flinkVersion: string,
  opts: CheckOptions = {},
): FlinkConfigIssue[] {
  const { minor, exact, catalog } = catalogFor(flinkVersion);
  const requested = parseFlinkVersion(flinkVersion);
  const label = exact
    ? `Flink ${minor}`
    : `Flink ${minor} (nearest catalog to ${requested.major}.${requested.minor})`;
  const idx = indexFor(minor, catalog);
  const prefix = opts.pathPrefix ?? "spec.flinkConfiguration";
  const issues: FlinkConfigIssue[] = [];
  const add = (key: string, severity: FlinkConfigIssue["severity"], message: string) =>
    issues.push({ path: `${prefix}[${JSON.stringify(key)}]`, key, severity, message });

  for (const [key, rawValue] of Object.entries(config)) {
    if (OPERATOR_PREFIXES.some(p => key.startsWith(p))) continue;
    const value = String(rawValue);
    const option = catalog.options[key];
    if (option) {
      const replacement = idx.deprecated.get(key) ?? idx.fallback.get(key) ?? [];
      if (option.deprecated || idx.deprecated.has(key)) {
        add(
          key,
          "warning",
          `"${key}" is deprecated in ${label}${replacement.length ? `; use ${quoteAll(replacement)}` : ""}`,
        );
      }
      checkValue(key, value, option, catalog, add);
      continue;
    }
    const replacedBy = idx.deprecated.get(key);
    if (replacedBy) {
      const alsoSet = replacedBy.filter(k => k in config);
      add(
        key,
        "warning",
        `"${key}" is deprecated in ${label}; use ${quoteAll(replacedBy)}` +
          (alsoSet.length ? ` (${quoteAll(alsoSet)} is also set and takes precedence)` : ""),
      );
      checkValue(key, value, catalog.options[replacedBy[0]], catalog, add);
      continue;
    }
    const fallbackOf = idx.fallback.get(key);
    if (fallbackOf) {
      checkValue(key, value, catalog.options[fallbackOf[0]], catalog, add);
      continue;
    }
    const pattern = idx.patterns.find(p => p.re.test(key));
    if (pattern) {
      checkValue(key, value, catalog.options[pattern.key], catalog, add);
      continue;
    }
    if (PASS_THROUGH_PREFIXES.some(p => key.startsWith(p))) continue;
    const suggestions = suggest(key, idx);
    add(
      key,
      "warning",
      `unknown ${label} option "${key}"` +
        (suggestions.length
          ? `; did you mean ${quoteAll(suggestions)}?`
          : "; Flink ignores keys it does not know"),
    );
  }
  return issues;
}

function quoteAll(keys: string[]): string {
  const q = keys.map(k => `"${k}"`);
  return q.length <= 1 ? q.join("") : `${q.slice(0, -1).join(", ")} or ${q[q.length - 1]}`;
}

// ---- value checks --------------------------------------------------------------------------------

const DURATION_UNITS = new Set(
  [
    ["d", "day", "days"],
    ["h", "hour", "hours"],
    ["m", "min", "minute", "minutes"],
    ["s", "sec", "secs", "second", "seconds"],
    ["ms", "milli", "millis", "millisecond", "milliseconds"],
    ["µs", "micro", "micros", "microsecond", "microseconds"],
    ["ns", "nano", "nanos", "nanosecond", "nanoseconds"],
  ].flat(),
);

const MEMORY_UNITS: Record<string, bigint> = Object.fromEntries(
  (
    [
      [["b", "bytes"], 1n],
      [["k", "kb", "kibibytes"], 1n << 10n],
      [["m", "mb", "mebibytes"], 1n << 20n],
      [["g", "gb", "gibibytes"], 1n << 30n],
      [["t", "tb", "tebibytes"], 1n << 40n],
    ] as const
  ).flatMap(([names, factor]) => names.map(n => [n, factor])),
);

const LONG_MAX = (1n << 63n) - 1n;
const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;
const LONG_MIN = -(1n << 63n);

/** Flink's duration syntax: a whole number, optional blanks, an optional unit (milliseconds when absent). */
export function isFlinkDuration(value: string, isoDurations = false): boolean {
  const v = value.trim();
  if (isoDurations && /^[-+]?P/i.test(v)) return isIsoDuration(v);
  const m = /^(\d+)\s*([a-zµ]*)$/i.exec(v);
  return !!m && BigInt(m[1]) <= LONG_MAX && (m[2] === "" || DURATION_UNITS.has(m[2].toLowerCase()));
}

function isIsoDuration(v: string): boolean {
  const num = "[-+]?\\d+(?:[.,]\\d+)?";
  const re = new RegExp(
    `^[-+]?P(?:(${num})D)?(?:T(?:(${num})H)?(?:(${num})M)?(?:(${num})S)?)?$`,
    "i",
  );
  const m = re.exec(v);
  return !!m && m.slice(1).some(Boolean) && !/T$/i.test(v);
}

/** Flink's memory size syntax: a whole number of bytes, optional blanks, an optional unit. */
export function isFlinkMemorySize(value: string): boolean {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  if (!m) return false;
  const factor = m[2] === "" ? 1n : MEMORY_UNITS[m[2].toLowerCase()];
  return factor !== undefined && BigInt(m[1]) * factor <= LONG_MAX;
}

function isInteger(value: string, min: bigint, max: bigint): boolean {
  if (!/^[+-]?\d+$/.test(value)) return false;
  const n = BigInt(value);
  return n >= min && n <= max;
}

/** What Java's Double.parseDouble takes (decimal forms; it trims blanks and allows a d/f suffix). */
function isJavaDouble(value: string): boolean {
  return /^[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?)$/.test(value.trim());
}

type Adder = (key: string, severity: FlinkConfigIssue["severity"], message: string) => void;

/** Why a single (non-list) value does not parse as `type`, or undefined when it does. */
function problemWith(value: string, option: CatalogOption, catalog: Catalog): string | undefined {
  switch (option.type) {
    case "Duration":
      return isFlinkDuration(value, catalog.parser.isoDurations)
        ? undefined
        : `is not a duration: use a whole number and a unit, e.g. "500 ms", "10 s", "5 min", "1 h"${
            catalog.parser.isoDurations ? ' or ISO-8601 such as "PT10S"' : ""
          }`;
    case "MemorySize":
      return isFlinkMemorySize(value)
        ? undefined
        : 'is not a memory size: use a whole number and a unit, e.g. "512m", "1g", "1024 mb" (no decimals)';
    case "Integer":
      return isInteger(value, INT_MIN, INT_MAX)
        ? undefined
        : "is not an integer (32-bit, no blanks or decimals)";
    case "Long":
      return isInteger(value, LONG_MIN, LONG_MAX)
        ? undefined
        : "is not an integer (64-bit, no blanks or decimals)";
    case "Double":
    case "Float":
      return isJavaDouble(value)
        ? undefined
        : 'is not a number (use a dot for decimals, e.g. "0.5")';
    case "Boolean":
      return /^(true|false)$/i.test(value) ? undefined : 'is not a boolean: use "true" or "false"';
    case "Enum": {
      const values = option.values ?? [];
      return values.some(v => v.toLowerCase() === value.toLowerCase())
        ? undefined
        : `is not one of ${values.map(v => `"${v}"`).join(", ")} (case does not matter)`;
    }
    case "Map":
      // Quoted entries can hold separators; Flink's own parser decides those.
      if (/['"]/.test(value) || /^\s*\{.*\}\s*$/.test(value) || value.trim() === "")
        return undefined;
      return value.split(",").every(e => e.includes(":"))
        ? undefined
        : 'is not a map: use "key1:value1,key2:value2"';
    default:
      return undefined;
  }
}

function checkValue(
  key: string,
  value: string,
  option: CatalogOption | undefined,
  catalog: Catalog,
  add: Adder,
) {
  if (!option) return;
  const type = option.type === "Enum" ? "one of the listed values" : option.type;
  if (option.list && option.type !== "String") {
    const inner = value.trim().replace(/^\[(.*)\]$/, "$1");
    const items = value.trim().startsWith("[")
      ? inner.split(",").map(s => s.trim())
      : inner.split(";");
    for (const item of items.filter(i => i !== "")) {
      const problem = problemWith(item, option, catalog);
      if (problem) {
        add(
          key,
          "error",
          `"${key}" takes a list of ${type} separated by ";": element "${item}" ${problem}`,
        );
        return;
      }
    }
    return;
  }
  const problem = problemWith(value, option, catalog);
  if (problem) add(key, "error", `"${key}": value "${value}" ${problem}`);
}

// ---- suggestions ---------------------------------------------------------------------------------

/**
 * Up to three likely intended keys: same key but for case and separators ("number-of-task-slots"),
 * a known key the input is the tail of (a forgotten prefix), then the closest by edit distance.
 */
function suggest(key: string, idx: Index): string[] {
  const found = new Set<string>(idx.normalized.get(normalize(key)) ?? []);
  if (key.includes("."))
    for (const c of idx.candidates) if (c.name.endsWith(`.${key}`)) found.add(c.suggest);
  const max = Math.max(2, Math.floor(key.length / 6));
  const scored = idx.candidates
    .map(c => ({ ...c, d: editDistance(key.toLowerCase(), c.name.toLowerCase(), max) }))
    .filter(s => s.d <= max)
    .sort((x, y) => x.d - y.d || x.suggest.localeCompare(y.suggest));
  for (const s of scored) found.add(s.suggest);
  return [...found].slice(0, 3);
}
