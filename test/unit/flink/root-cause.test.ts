import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { causeChain, rootCause, rootCauseOf } from "../../../lib/flink/root-cause";
import { JobExceptions, type ExceptionHistory } from "../../../lib/flink/schemas";

/** An exception history saved from a real Flink (test/fixtures/flink-failures/README.md). */
function history(file: string): ExceptionHistory {
  const raw = JSON.parse(
    readFileSync(join(__dirname, "../../fixtures/flink-failures", file), "utf8"),
  );
  const body = JobExceptions.parse(raw).exceptionHistory;
  return {
    truncated: body.truncated,
    entries: body.entries.map(e => ({
      exceptionName: e.exceptionName,
      stacktrace: e.stacktrace,
      timestamp: e.timestamp,
    })),
  };
}

describe("a failing job's root cause", () => {
  it("is the lost TaskManager for a job restarting after its TaskManager died (Flink 2.2)", () => {
    expect(rootCause(history("2.2-taskmanager-lost-restarting.json"))).toBe(
      "ResourceManagerException: TaskManager with id tm-1 is no longer reachable.",
    );
  });

  it("is the newest failure's deepest cause once restarts are exhausted, not the restart strategy giving up", () => {
    const h = history("2.2-taskmanager-lost-failed.json");
    expect(h.entries[0].stacktrace).toMatch(
      /^org.apache.flink.runtime.JobException: Recovery is suppressed/,
    );
    expect(rootCause(h)).toBe(
      "NoResourceAvailableException: Could not acquire the minimum required resources.",
    );
  });

  it("names what timed out rather than a future's TimeoutException (Flink 1.20's shape)", () => {
    expect(rootCause(history("1.20-slot-timeout-restarting.json"))).toBe(
      "NoResourceAvailableException: Slot request bulk is not fulfillable! Could not allocate the required slot within slot request timeout",
    );
  });

  it("keeps a TimeoutException that only the restart strategy wraps", () => {
    expect(
      rootCauseOf(
        [
          "org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy",
          "\tat org.apache.flink.runtime.executiongraph.failover.ExecutionFailureHandler.handleFailure(ExecutionFailureHandler.java:180)",
          "Caused by: java.util.concurrent.TimeoutException: Async function call has timed out.",
          "\tat org.apache.flink.streaming.api.functions.async.AsyncFunction.timeout(AsyncFunction.java:97)",
        ].join("\n"),
      ),
    ).toBe("TimeoutException: Async function call has timed out.");
  });

  it("follows the cause chain past suppressed exceptions, joins a message of several lines, and names the first frame of a cause without message", () => {
    const trace = [
      "org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy",
      "\tat org.apache.flink.runtime.scheduler.DefaultScheduler.handleTaskFailure(DefaultScheduler.java:1)",
      "\tSuppressed: java.io.IOException: close failed",
      "\t\tat org.example.Sink.close(Sink.java:3)",
      "\tCaused by: java.lang.IllegalStateException: not the root cause",
      "Caused by: org.example.JobError: bad record",
      "  offset 42",
      "\tat org.example.Parse.map(Parse.java:12)",
      "Caused by: java.lang.NullPointerException",
      "\tat org.example.Parse$Inner.field(Parse.java:30)",
      "\t... 12 more",
    ].join("\n");
    expect(causeChain(trace).map(t => t.className)).toEqual([
      "org.apache.flink.runtime.JobException",
      "org.example.JobError",
      "java.lang.NullPointerException",
    ]);
    expect(causeChain(trace)[1].message).toBe("bad record\n  offset 42");
    expect(rootCauseOf(trace)).toBe(
      "NullPointerException at org.example.Parse$Inner.field(Parse.java:30)",
    );
    expect(rootCauseOf("org.example.Outer$Failure: one\n  two")).toBe("Failure: one two");
  });

  it("is one line of bounded length, and nothing for an empty history", () => {
    const line = rootCauseOf(
      `java.lang.RuntimeException: ${"x".repeat(1000)}\n\tat a.B.c(B.java:1)`,
    );
    expect(line).toHaveLength("RuntimeException: ".length + 300);
    expect(line).toMatch(/\.\.\.$/);
    expect(rootCause({ entries: [], truncated: false })).toBeUndefined();
  });
});
