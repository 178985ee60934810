import type { ExceptionHistory } from "../flink/schemas";

/**
 * Which of a job's exceptions become Kubernetes Events, and what each says, as the reference operator decides
 * it: one Warning `JobException` per exception newer than the last reported, newest first, at most the limit
 * per pass. The I/O (Flink's history, the Events, the memory of what was reported) is job-exception-events.ts.
 */

export type JobExceptionEntry = ExceptionHistory["entries"][number];

export const JOB_EXCEPTION_REASON = "JobException";
/** The annotation that carries an exception's own time, so a restarted operator knows what it reported. */
export const EXCEPTION_TIMESTAMP_ANNOTATION = "exception-timestamp";
/** How far back Events are looked for after a restart (the reference's window; Events expire after an hour). */
export const EVENT_LOOKBACK_MS = 30 * 60_000;
/** Stack trace lines in an Event's message (the reference's default for its events.exceptions.stacktrace-lines). */
export const EVENT_STACKTRACE_LINES = 5;

/** What was reported about one resource: its job, and the time of the newest exception seen then. */
export interface ReportedMark {
  jobId: string;
  /** Epoch millis; -Infinity: nothing of this job was seen yet, so all its exceptions are new. */
  lastTimestamp: number;
}

const newestFirst = (entries: JobExceptionEntry[]) =>
  [...entries].sort((a, b) => b.timestamp - a.timestamp);

/**
 * The mark of a resource the operator has no memory of (it just started): nothing seen when the history is
 * empty; everything seen when the newest exception is older than the Events could be; otherwise the Events
 * already recorded must say (`"ask-events"`, then markFromEvents).
 */
export function startingMark(
  entries: JobExceptionEntry[],
  jobId: string,
  nowMs: number,
): ReportedMark | "ask-events" {
  const newest = newestFirst(entries)[0];
  if (!newest) return { jobId, lastTimestamp: -Infinity };
  if (newest.timestamp < nowMs - EVENT_LOOKBACK_MS)
    return { jobId, lastTimestamp: newest.timestamp };
  return "ask-events";
}

/** A JobException Event already recorded: its annotations and creation time. */
export interface RecordedEvent {
  annotations?: Record<string, string>;
  created?: string | Date;
}

/**
 * The mark from the JobException Events already about the resource: the latest exception time they carry
 * (their creation time when an Event has no annotation), or the start of the look-back window when there is none.
 */
export function markFromEvents(
  jobId: string,
  nowMs: number,
  events: RecordedEvent[],
): ReportedMark {
  const times = events
    .map(e =>
      Date.parse(String(e.annotations?.[EXCEPTION_TIMESTAMP_ANNOTATION] ?? e.created ?? "")),
    )
    .filter(t => Number.isFinite(t));
  return { jobId, lastTimestamp: times.length ? Math.max(...times) : nowMs - EVENT_LOOKBACK_MS };
}

/**
 * The exceptions to report now: newer than the mark (all of them when the job is another than the mark's),
 * newest first, at most `limit`. The new mark is the newest exception, so those over the limit are never
 * reported; `dropped` says how many were.
 */
export function exceptionsToReport(
  entries: JobExceptionEntry[],
  jobId: string,
  mark: ReportedMark,
  limit: number,
): { report: JobExceptionEntry[]; dropped: number; mark: ReportedMark } {
  const sorted = newestFirst(entries);
  const since = mark.jobId === jobId ? mark.lastTimestamp : -Infinity;
  const fresh = sorted.filter(e => e.timestamp > since);
  const report = fresh.slice(0, Math.max(0, limit));
  return {
    report,
    dropped: fresh.length - report.length,
    mark: { jobId, lastTimestamp: sorted[0]?.timestamp ?? since },
  };
}

// Annotation names: an optional DNS-subdomain prefix and a name of at most 63 characters.
const ANNOTATION_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;
const DNS_LABEL = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
function validAnnotationKey(key: string): boolean {
  const slash = key.indexOf("/");
  const [prefix, name] = slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  const prefixOk =
    prefix === undefined ||
    (prefix.length <= 253 &&
      prefix.split(".").every(l => l.length > 0 && l.length <= 63 && DNS_LABEL.test(l)));
  return prefixOk && name.length <= 63 && ANNOTATION_NAME.test(name);
}

// Control characters other than \t \n \r, which become spaces.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

/** Values on one line, without control characters; keys Kubernetes would refuse are left out. */
function annotations(entries: [string, string | undefined][]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (value === undefined || !validAnnotationKey(key)) continue;
    kept[key] = value
      .replace(CONTROL, "")
      .replace(/[\r\n\t]+/g, " ")
      .trim();
  }
  return kept;
}

/**
 * One exception's Event: the message is the first lines of its stack trace (the exception, its message, its top
 * frames) and how many lines were left out; the annotations say when, where (task, endpoint, TaskManager) and
 * Flink's failure labels, each as `failure-label-<key>`.
 */
export function jobExceptionEvent(
  entry: JobExceptionEntry,
  lines = EVENT_STACKTRACE_LINES,
): { message: string; annotations: Record<string, string> } {
  const all = (entry.stacktrace ?? "").trim() ? entry.stacktrace.split("\n") : [];
  const kept = all.slice(0, lines).join("\n");
  const more = all.length > lines ? `\n... (${all.length - lines} more lines)` : "";
  return {
    message: (kept + more).trim() || entry.exceptionName,
    annotations: annotations([
      [EXCEPTION_TIMESTAMP_ANNOTATION, new Date(entry.timestamp).toISOString()],
      ["task-name", entry.taskName],
      ["endpoint", entry.endpoint],
      ["tm-id", entry.taskManagerId],
      ...Object.entries(entry.failureLabels ?? {}).map(
        ([k, v]) => [`failure-label-${k}`, v] as [string, string],
      ),
    ]),
  };
}
