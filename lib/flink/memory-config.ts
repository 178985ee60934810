import { catalogFor } from "./config-check";

/**
 * What Flink's memory derivation stands on: a configuration read the way Flink reads it (current key, then
 * deprecated keys, then the catalog's default), MemorySize parsing, and Java's arithmetic (longs, float
 * fractions, BigDecimal products truncated), so derived sizes are Flink's to the byte.
 */

/** Why Flink would refuse to start the process: the keys involved, the one to change first, and the numbers. */
export interface MemoryRefusal {
  keys: string[];
  message: string;
  /** "unset": no size is configured at all; "unreadable": a value is not a size or number. */
  kind?: "unset" | "unreadable";
}

export const MIB = 1n << 20n;
export const LONG_MAX = (1n << 63n) - 1n;

export class Refused extends Error {
  constructor(readonly refusal: MemoryRefusal) {
    super(refusal.message);
  }
}
export const refuse = (keys: string[], message: string, kind?: MemoryRefusal["kind"]): never => {
  throw new Refused({ keys, message, ...(kind ? { kind } : {}) });
};

/** "256 MiB", or with a fraction when not whole. */
export function formatBytes(bytes: bigint | number): string {
  const b = BigInt(bytes);
  if (b % MIB === 0n) return `${b / MIB} MiB`;
  if (b < MIB) return `${b} bytes`;
  return `${(Number(b) / Number(MIB)).toFixed(1)} MiB`;
}

/** Flink's MemorySize units, each with its aliases. */
const UNITS: Record<string, bigint> = Object.fromEntries(
  (
    [
      ["b bytes", 0n],
      ["k kb kibibytes", 10n],
      ["m mb mebibytes", 20n],
      ["g gb gibibytes", 30n],
      ["t tb tebibytes", 40n],
    ] as const
  ).flatMap(([names, shift]) => names.split(" ").map(n => [n, 1n << shift])),
);

/** Bytes of a Flink MemorySize string, or undefined when Flink would not parse it. */
export function parseMemorySize(text: string): bigint | undefined {
  const m = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase() || "b"] : undefined;
  if (!m || unit === undefined) return undefined;
  const bytes = BigInt(m[1]) * unit;
  return bytes > LONG_MAX ? undefined : bytes;
}

/** bytes × fraction as Java's MemorySize.multiply computes it: exact decimal product, truncated. */
export function multiply(bytes: bigint, fraction: number): bigint {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(fraction));
  if (!m) throw new Error(`not a fraction: ${fraction}`);
  let digits = m[1] + (m[2] ?? "");
  let scale = (m[2]?.length ?? 0) - Number(m[3] ?? 0);
  if (scale < 0) {
    digits += "0".repeat(-scale);
    scale = 0;
  }
  return (bytes * BigInt(digits)) / 10n ** BigInt(scale);
}

export interface Range {
  min: bigint;
  max: bigint;
  fraction: number;
  keys: string[];
}

export const capped = (value: bigint, r: Range) =>
  value > r.max ? r.max : value < r.min ? r.min : value;

/** A configuration read the way Flink reads it: current key, then its deprecated keys, then the default. */
export class Config {
  private readonly options: Record<string, { default?: string; deprecatedKeys?: string[] }>;
  constructor(
    private readonly values: Record<string, string>,
    flinkVersion: string,
  ) {
    this.options = catalogFor(flinkVersion).catalog.options;
  }

  known(key: string): boolean {
    return key in this.options;
  }

  private set(key: string): string | undefined {
    if (this.values[key] !== undefined) return key;
    return this.options[key]?.deprecatedKeys?.find(k => this.values[k] !== undefined);
  }

  contains(key: string): boolean {
    return this.set(key) !== undefined;
  }

  raw(key: string): string | undefined {
    const set = this.set(key);
    return set === undefined ? this.options[key]?.default : this.values[set];
  }

  size(key: string): bigint {
    const raw = this.raw(key);
    if (raw === undefined) return refuse([key], `${key} has no value and no default`, "unset");
    return (
      parseMemorySize(raw) ?? refuse([key], `${key}: "${raw}" is not a memory size`, "unreadable")
    );
  }

  /** A Float option, as Java's float widened to double. */
  float(key: string): number {
    const raw = this.raw(key);
    const n = raw === undefined ? NaN : Number(raw.trim());
    if (raw === undefined || raw.trim() === "" || !Number.isFinite(n))
      return refuse([key], `${key}: "${raw}" is not a number`, "unreadable");
    return Math.fround(n);
  }

  range(minKey: string, maxKey: string, fractionKey: string, min?: bigint, max?: bigint): Range {
    const r = {
      min: min ?? this.size(minKey),
      max: max ?? this.size(maxKey),
      fraction: this.float(fractionKey),
      keys: [fractionKey, minKey, maxKey],
    };
    if (r.min > r.max)
      refuse(
        [minKey, maxKey],
        `${minKey} (${formatBytes(r.min)}) is above ${maxKey} (${formatBytes(r.max)})`,
      );
    if (!(r.fraction >= 0 && r.fraction < 1))
      refuse(
        [fractionKey],
        `${fractionKey} must be at least 0 and below 1, got ${this.raw(fractionKey)}`,
      );
    return r;
  }
}
