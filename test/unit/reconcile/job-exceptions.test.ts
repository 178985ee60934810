import { describe, expect, it } from "vitest";
import {
  EVENT_LOOKBACK_MS,
  exceptionsToReport,
  jobExceptionEvent,
  markFromEvents,
  startingMark,
  type JobExceptionEntry,
} from "../../../lib/reconcile/job-exceptions";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const entry = (timestamp: number, extra: Partial<JobExceptionEntry> = {}): JobExceptionEntry => ({
  exceptionName: "java.lang.RuntimeException",
  stacktrace: `java.lang.RuntimeException: boom at ${timestamp}\n\tat A.a(A.java:1)`,
  timestamp,
  ...extra,
});

describe("which job exceptions are reported", () => {
  it("reports those newer than the mark, newest first, and moves the mark to the newest", () => {
    const entries = [entry(100), entry(300), entry(200)];
    const r = exceptionsToReport(entries, "j1", { jobId: "j1", lastTimestamp: 100 }, 10);
    expect(r.report.map(e => e.timestamp)).toEqual([300, 200]);
    expect(r.dropped).toBe(0);
    expect(r.mark).toEqual({ jobId: "j1", lastTimestamp: 300 });
  });

  it("reports nothing twice: a second look with the new mark finds nothing new", () => {
    const entries = [entry(100), entry(200)];
    const first = exceptionsToReport(entries, "j1", { jobId: "j1", lastTimestamp: -Infinity }, 10);
    const second = exceptionsToReport(entries, "j1", first.mark, 10);
    expect(first.report).toHaveLength(2);
    expect(second.report).toEqual([]);
    expect(second.mark).toEqual(first.mark);
  });

  it("reports at most the limit, the newest, and never the ones left out", () => {
    const entries = [1, 2, 3, 4, 5].map(t => entry(t));
    const r = exceptionsToReport(entries, "j1", { jobId: "j1", lastTimestamp: -Infinity }, 2);
    expect(r.report.map(e => e.timestamp)).toEqual([5, 4]);
    expect(r.dropped).toBe(3);
    expect(exceptionsToReport(entries, "j1", r.mark, 2).report).toEqual([]);
    expect(exceptionsToReport(entries, "j1", r.mark, 0).report).toEqual([]);
  });

  it("reports all of another job's exceptions, whatever the mark of the one before", () => {
    const r = exceptionsToReport([entry(50)], "j2", { jobId: "j1", lastTimestamp: 100 }, 10);
    expect(r.report.map(e => e.timestamp)).toEqual([50]);
    expect(r.mark).toEqual({ jobId: "j2", lastTimestamp: 50 });
  });

  it("keeps the mark's time when the history is empty", () => {
    expect(exceptionsToReport([], "j1", { jobId: "j1", lastTimestamp: 7 }, 10)).toEqual({
      report: [],
      dropped: 0,
      mark: { jobId: "j1", lastTimestamp: 7 },
    });
  });
});

describe("what a restarted operator takes as reported", () => {
  it("nothing when the job has no exception yet", () => {
    expect(startingMark([], "j1", NOW)).toEqual({ jobId: "j1", lastTimestamp: -Infinity });
  });

  it("everything when the newest exception is older than the Events looked back on", () => {
    const old = NOW - EVENT_LOOKBACK_MS - 1;
    expect(startingMark([entry(old - 5), entry(old)], "j1", NOW)).toEqual({
      jobId: "j1",
      lastTimestamp: old,
    });
  });

  it("asks the Events when an exception is recent", () => {
    expect(startingMark([entry(NOW - 1000)], "j1", NOW)).toBe("ask-events");
  });

  it("from the Events: the latest exception-timestamp, else the creation time, else the look-back's start", () => {
    expect(
      markFromEvents("j1", NOW, [
        { annotations: { "exception-timestamp": "2025-06-01T11:50:00Z" } },
        { annotations: { "exception-timestamp": "2025-06-01T11:55:00.250Z" } },
        { created: "2025-06-01T11:40:00Z" },
      ]),
    ).toEqual({ jobId: "j1", lastTimestamp: Date.parse("2025-06-01T11:55:00.250Z") });
    expect(markFromEvents("j1", NOW, [{ created: new Date(NOW - 5000) }])).toEqual({
      jobId: "j1",
      lastTimestamp: NOW - 5000,
    });
    expect(markFromEvents("j1", NOW, [])).toEqual({
      jobId: "j1",
      lastTimestamp: NOW - EVENT_LOOKBACK_MS,
    });
  });

  it("an exception reported before the restart is not reported again; a newer one is", () => {
    const reported = entry(NOW - 60_000);
    const { annotations } = jobExceptionEvent(reported);
    const mark = markFromEvents("j1", NOW, [{ annotations }]);
    const r = exceptionsToReport([reported, entry(NOW - 1000)], "j1", mark, 10);
    expect(r.report.map(e => e.timestamp)).toEqual([NOW - 1000]);
  });
});

describe("a JobException Event", () => {
  it("says the first 5 stack trace lines and how many more there were", () => {
    const lines = [
      "x.Boom: it broke",
      ...Array.from({ length: 7 }, (_, i) => `\tat F.f${i}(F.java)`),
    ];
    const { message } = jobExceptionEvent(entry(1, { stacktrace: lines.join("\n") }));
    expect(message).toBe([...lines.slice(0, 5), "... (3 more lines)"].join("\n"));
  });

  it("says the whole stack trace when it is short, and the exception's name when there is none", () => {
    expect(jobExceptionEvent(entry(1, { stacktrace: "x.Boom: short\n" })).message).toBe(
      "x.Boom: short",
    );
    expect(jobExceptionEvent(entry(1, { exceptionName: "x.Boom", stacktrace: " " })).message).toBe(
      "x.Boom",
    );
  });

  it("annotates when and where, with Flink's failure labels; values on one line, keys Kubernetes refuses left out", () => {
    const { annotations } = jobExceptionEvent(
      entry(Date.parse("2025-06-01T11:59:00.5Z"), {
        taskName: "Source: x (1/2)\n#0",
        endpoint: "10.0.0.7:6122",
        taskManagerId: "tm-1",
        failureLabels: { type: "USER", "bad key!": "x" },
      }),
    );
    expect(annotations).toEqual({
      "exception-timestamp": "2025-06-01T11:59:00.500Z",
      "task-name": "Source: x (1/2) #0",
      endpoint: "10.0.0.7:6122",
      "tm-id": "tm-1",
      "failure-label-type": "USER",
    });
  });

  it("has only the timestamp when Flink says nothing of where", () => {
    expect(Object.keys(jobExceptionEvent(entry(1)).annotations)).toEqual(["exception-timestamp"]);
  });
});
