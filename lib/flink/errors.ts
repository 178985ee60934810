/** Base of every error the Flink REST client throws; `operation` names the call ("GET /jobs/:jobid"). */
export class FlinkError extends Error {
  constructor(
    message: string,
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The JobManager could not be reached: connection refused or reset, DNS failure, the process gone. */
export class FlinkUnreachableError extends FlinkError {}

/** A request or a trigger-then-poll operation ran past its deadline; `triggerId` lets a caller resume the poll. */
export class FlinkTimeoutError extends FlinkError {
  constructor(
    message: string,
    operation: string,
    readonly timeoutMs: number,
    readonly triggerId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, operation, options);
  }
}

/** Flink answered with an error status; `flinkErrors` are Flink's own messages, stack traces trimmed. */
export class FlinkRequestRejectedError extends FlinkError {
  constructor(
    message: string,
    operation: string,
    readonly status: number,
    readonly flinkErrors: string[],
    options?: { cause?: unknown },
  ) {
    super(message, operation, options);
  }
}

/** The JobManager does not know this job (never submitted, or gone with a restart without HA). */
export class FlinkJobNotFoundError extends FlinkError {
  constructor(
    readonly jobId: string,
    operation: string,
    options?: { cause?: unknown },
  ) {
    super(`Flink job ${jobId} not found`, operation, options);
  }
}

/** The job already reached a globally terminal state (FINISHED, CANCELED, FAILED) so the request cannot apply. */
export class FlinkJobTerminalError extends FlinkError {
  constructor(
    readonly jobId: string,
    readonly state: string | undefined,
    operation: string,
    options?: { cause?: unknown },
  ) {
    super(`Flink job ${jobId} is already ${state ?? "in a terminal state"}`, operation, options);
  }
}

/** The trigger id is unknown to the JobManager: it restarted, or the result expired from its cache. */
export class FlinkTriggerNotFoundError extends FlinkError {
  constructor(
    readonly triggerId: string,
    operation: string,
    options?: { cause?: unknown },
  ) {
    super(`Flink has no operation with trigger id ${triggerId}`, operation, options);
  }
}

/** An asynchronous operation (savepoint, checkpoint, stop, disposal) completed with a failure. */
export class FlinkOperationFailedError extends FlinkError {
  constructor(
    message: string,
    operation: string,
    readonly triggerId: string,
    /** Flink's failure-cause class and the first lines of its stack trace. */
    readonly failureCause: { class?: string; summary: string },
  ) {
    super(message, operation);
  }
}

/** Flink answered 2xx with a body this client does not understand (a version it was not written for). */
export class FlinkResponseInvalidError extends FlinkError {
  constructor(
    message: string,
    operation: string,
    readonly body: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, operation, options);
  }
}

/** The caller asked for something the target Flink version cannot do (e.g. claim mode LEGACY on 2.x). */
export class FlinkUnsupportedError extends FlinkError {}

/**
 * Flink's `errors` entries carry Java stack traces; keep what a person needs: the deepest
 * "Caused by" message, or the first line, without the exception class name.
 */
export function summarizeFlinkErrors(errors: string[]): string[] {
  const summaries = errors
    .map(e => {
      const lines = e
        .split("\n")
        .map(l => l.trimEnd())
        .filter(l => l.trim() && !/^\s+(at |\.\.\. \d+ more)/.test(l))
        // Internal errors come wrapped as "<Exception on server side: ... End of exception on server side>".
        .filter(
          l => l !== "<Exception on server side:" && l !== "End of exception on server side>",
        );
      const causes = lines.filter(l => l.startsWith("Caused by: "));
      const pick = causes.length ? causes[causes.length - 1] : (lines[0] ?? "");
      return stripExceptionClass(pick.replace(/^Caused by: /, ""));
    })
    .filter(Boolean);
  const useful = summaries.filter(s => s !== "Internal server error.");
  return useful.length ? useful : summaries;
}

/** "org.apache.flink...RestHandlerException: Only Jar files are allowed." -> "Only Jar files are allowed." */
export function stripExceptionClass(line: string): string {
  return line
    .replace(/^([a-zA-Z_$][\w$]*\.)+[\w$]*(Exception|Error|Throwable)(\$\w+)?: /, "")
    .trim();
}
