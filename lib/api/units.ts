/** Parsers for the size strings users write: Kubernetes quantities and Flink memory sizes. */

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const QUANTITY =
  /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;

/** Value of a Kubernetes resource.Quantity in base units, or undefined if the string is not one. */
export function parseQuantity(input: string | number): number | undefined {
  if (typeof input === "number") return Number.isFinite(input) ? input : undefined;
  const m = QUANTITY.exec(input.trim() === input ? input : "");
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[2] ?? "";
  if (suffix in BINARY) return n * BINARY[suffix];
  if (suffix in DECIMAL) return n * DECIMAL[suffix];
  return n * 10 ** Number(suffix.slice(1));
}

const FLINK_UNITS: Array<[string[], number]> = [
  [["b", "bytes"], 1],
  [["k", "kb", "kibibytes"], 2 ** 10],
  [["m", "mb", "mebibytes"], 2 ** 20],
  [["g", "gb", "gibibytes"], 2 ** 30],
  [["t", "tb", "tebibytes"], 2 ** 40],
];
/** A whole number with an optional unit from the table, as Flink's parsers read sizes and durations. */
function parseWithUnits(input: string, units: Array<[string[], number]>): number | undefined {
  const m = /^\s*([0-9]+)\s*([a-zA-Zµ]*)\s*$/.exec(input);
  if (!m) return undefined;
  const unit = m[2].toLowerCase();
  if (unit === "") return Number(m[1]);
  const found = units.find(([names]) => names.includes(unit));
  return found ? Number(m[1]) * found[1] : undefined;
}

/** Bytes of a Flink MemorySize string ("1g", "2048 mb", "512m"); undefined if Flink would reject it. */
export const parseFlinkMemory = (input: string) => parseWithUnits(input, FLINK_UNITS);

/**
 * Bytes of a memory string in a Flink resource spec: Flink's units first ("2048m" is 2 GiB there, as in the
 * reference operator), then Kubernetes quantities ("2Gi", "2G").
 */
export function parseMemory(input: string): number | undefined {
  return parseFlinkMemory(input) ?? parseQuantity(input);
}

const DURATION_UNITS: Array<[string[], number]> = [
  [["ns", "nano", "nanos", "nanosecond", "nanoseconds"], 1e-6],
  [["us", "µs", "micro", "micros", "microsecond", "microseconds"], 1e-3],
  [["ms", "milli", "millis", "millisecond", "milliseconds"], 1],
  [["s", "sec", "secs", "second", "seconds"], 1000],
  [["m", "min", "mins", "minute", "minutes"], 60_000],
  [["h", "hour", "hours"], 3_600_000],
  [["d", "day", "days"], 86_400_000],
];
/** Milliseconds of a Flink Duration string ("10 s", "1min", "500ms"; a bare number is milliseconds). */
export const parseFlinkDuration = (input: string) => parseWithUnits(input, DURATION_UNITS);
