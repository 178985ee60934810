import { readFileSync } from "node:fs";
import { getText } from "../../lib/reconcile/api";

/**
 * The API requests a benchmark reports. apiserver_request_total (the apiserver's /metrics) counts requests by
 * verb and resource but has no label for the client, so it counts everyone's: the operator's, the benchmark's
 * own, the controller-manager's, the scheduler's and kwok's. The operator's own are counted from the audit log,
 * where the control plane records every request of the operator's identity (`flink-operator`) at Metadata level.
 */

/** The identity the benchmarks' operator runs as (scripts/sandbox/identities.ts). */
export const OPERATOR_USER = "flink-operator";

export type Counts = Map<string, number>;

/** apiserver_request_total summed by "VERB resource[/subresource]". */
export async function apiserverRequests(): Promise<Counts> {
  const text = await getText("/metrics");
  const counts: Counts = new Map();
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const labels = Object.fromEntries(
      [...line.matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]] as const),
    );
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    const resource = labels.subresource
      ? `${labels.resource}/${labels.subresource}`
      : labels.resource;
    const key = `${labels.verb} ${resource}`;
    counts.set(key, (counts.get(key) ?? 0) + value);
  }
  return counts;
}

export function difference(after: Counts, before: Counts): Counts {
  const d: Counts = new Map();
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) > 0) d.set(k, v - (before.get(k) ?? 0));
  return d;
}

/**
 * The operator's requests in [from, to) (ms since the epoch) from the audit log, by "verb resource": one per
 * audit id (a watch logs ResponseStarted, then ResponseComplete when it ends).
 */
export function operatorRequests(auditLog: string, from: number, to = Infinity): Counts {
  const seen = new Set<string>();
  const counts: Counts = new Map();
  for (const line of readFileSync(auditLog, "utf8").split("\n")) {
    if (!line) continue;
    const e = JSON.parse(line);
    if (e.user?.username !== OPERATOR_USER || seen.has(e.auditID)) continue;
    const at = Date.parse(e.requestReceivedTimestamp);
    if (at < from || at >= to) continue;
    seen.add(e.auditID);
    const ref = e.objectRef ?? {};
    const resource = ref.resource
      ? ref.subresource
        ? `${ref.resource}/${ref.subresource}`
        : ref.resource
      : e.requestURI.split("?")[0];
    const key = `${e.verb} ${resource}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

export const total = (c: Counts, skip: (key: string) => boolean = () => false) =>
  [...c].filter(([k]) => !skip(k)).reduce((n, [, v]) => n + v, 0);

export const isWatch = (key: string) => /^watch /i.test(key);

/** Lines "    verb resource   count", largest first; `per` divides (requests per second). */
export function table(c: Counts, per = 1, indent = "    "): string {
  return [...c]
    .sort((a, b) => b[1] - a[1])
    .map(
      ([k, v]) =>
        `${indent}${k.padEnd(44)} ${per === 1 ? String(v).padStart(7) : (v / per).toFixed(3).padStart(9)}`,
    )
    .join("\n");
}

/** Resident memory now and at its peak (VmRSS, VmHWM) of a process, in MiB. */
export function rssMiB(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8").split("\n");
  const kb = (field: string) =>
    Number(status.find(l => l.startsWith(`${field}:`))?.replace(/\D+/g, "") ?? 0);
  return { now: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the command.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A figure with its goal beside it. */
export const goal = (figure: string, target: string) => `${figure.padEnd(34)} goal: ${target}`;
