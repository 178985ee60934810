import axios, { type AxiosInstance, type AxiosResponse } from "axios";
import type { Agent } from "node:https";
import type { Logger } from "winston";
import type { z } from "zod";
import {
  FlinkError,
  FlinkJobNotFoundError,
  FlinkJobTerminalError,
  FlinkRequestRejectedError,
  FlinkResponseInvalidError,
  FlinkTimeoutError,
  FlinkTriggerNotFoundError,
  FlinkUnreachableError,
  summarizeFlinkErrors,
} from "./errors";

export interface TransportOptions {
  baseUrl: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Extra attempts for idempotent requests. */
  retries: number;
  /** First backoff; doubles per attempt. */
  backoffMs: number;
  logger: Logger;
  /** Largest response body read; default 16 MiB. */
  maxResponseBytes?: number;
  /** Largest request body sent (jar uploads); default 100 MiB, Flink's own rest.server.max-content-length. */
  maxRequestBytes?: number;
  connection?: FlinkConnection;
}

/** How to reach a JobManager that is not directly addressable, e.g. through the apiserver's service proxy. */
export interface FlinkConnection {
  httpsAgent?: Agent;
  /** Sent with every request (the apiserver's credentials); never logged. */
  headers?: Record<string, string>;
}

const MiB = 1024 * 1024;

export interface RequestSpec<S extends z.ZodType> {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  /** Names the call in errors and logs, with ids templated out: "GET /jobs/:jobid". */
  operation: string;
  schema: S;
  body?: unknown;
  query?: Record<string, string | number>;
  /** Only idempotent requests are retried. */
  idempotent: boolean;
  /** Lets a 404/409 become a job error rather than a generic rejection. */
  jobId?: string;
  triggerId?: string;
  timeoutMs?: number;
}

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
]);

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

export class Transport {
  private readonly http: AxiosInstance;

  constructor(readonly opts: TransportOptions) {
    this.http = axios.create({
      baseURL: opts.baseUrl.replace(/\/+$/, ""),
      // The JobManager is reached directly; an environment proxy would only get in the way.
      proxy: false,
      validateStatus: () => true,
      // The JobManager is the user's: a redirect from it could point the operator at any address.
      maxRedirects: 0,
      maxBodyLength: opts.maxRequestBytes ?? 100 * MiB,
      maxContentLength: opts.maxResponseBytes ?? 16 * MiB,
      responseType: "json",
      httpsAgent: opts.connection?.httpsAgent,
      headers: opts.connection?.headers,
    });
  }

  async request<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.infer<S>> {
    const attempts = spec.idempotent ? 1 + this.opts.retries : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(spec);
      } catch (err) {
        const retryable =
          err instanceof FlinkUnreachableError ||
          err instanceof FlinkTimeoutError ||
          (err instanceof FlinkRequestRejectedError && [502, 503, 504].includes(err.status));
        if (!retryable || attempt >= attempts) throw err;
        const delay = this.opts.backoffMs * 2 ** (attempt - 1);
        this.opts.logger.debug("retrying Flink request", {
          operation: spec.operation,
          attempt,
          delay,
          error: String(err),
        });
        await sleep(delay);
      }
    }
  }

  private async once<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.infer<S>> {
    const timeoutMs = spec.timeoutMs ?? this.opts.timeoutMs;
    let res: AxiosResponse;
    try {
      res = await this.http.request({
        method: spec.method,
        url: spec.path,
        data: spec.body,
        params: spec.query,
        timeout: timeoutMs,
        // axios' timeout is an idle timer on the socket; this bounds the whole exchange.
        signal: AbortSignal.timeout(timeoutMs + 1000),
      });
    } catch (err) {
      throw this.transportError(spec, err, timeoutMs);
    }
    if (res.status >= 300 && res.status < 400) {
      throw new FlinkRequestRejectedError(
        `${spec.operation} at ${this.opts.baseUrl}: the JobManager answered with a redirect (HTTP ${res.status}), which the operator does not follow`,
        spec.operation,
        res.status,
        [],
      );
    }
    if (res.status >= 400) throw this.statusError(spec, res);
    const parsed = spec.schema.safeParse(res.data ?? {});
    if (!parsed.success) {
      throw new FlinkResponseInvalidError(
        `${spec.operation}: unexpected response from Flink: ${parsed.error.message}`,
        spec.operation,
        res.data,
      );
    }
    return parsed.data;
  }

  private transportError(
    spec: RequestSpec<z.ZodType>,
    err: unknown,
    timeoutMs: number,
  ): FlinkError {
    const code = axios.isAxiosError(err) ? err.code : (err as NodeJS.ErrnoException)?.code;
    const where = `${spec.operation} at ${this.opts.baseUrl}`;
    if (axios.isAxiosError(err) && /^maxContentLength size of \d+ exceeded$/.test(err.message)) {
      return new FlinkResponseInvalidError(
        `${where}: the response is larger than ${err.config?.maxContentLength} bytes, the most the operator reads`,
        spec.operation,
        undefined,
        { cause: err },
      );
    }
    if (code === "ECONNABORTED" || code === "ETIMEDOUT" || code === "ERR_CANCELED") {
      return new FlinkTimeoutError(
        `${where}: no answer within ${timeoutMs} ms`,
        spec.operation,
        timeoutMs,
        spec.triggerId,
        {
          cause: err,
        },
      );
    }
    if (code && UNREACHABLE_CODES.has(code)) {
      return new FlinkUnreachableError(
        `${where}: JobManager unreachable (${code})`,
        spec.operation,
        { cause: err },
      );
    }
    // "socket hang up" and friends: the connection died mid-request.
    return new FlinkUnreachableError(
      `${where}: ${err instanceof Error ? err.message : String(err)}`,
      spec.operation,
      {
        cause: err,
      },
    );
  }

  private statusError(spec: RequestSpec<z.ZodType>, res: AxiosResponse): FlinkError {
    const raw: unknown = res.data;
    // Flink's own error body; a proxy in front of it (the apiserver's) answers with something else.
    const fromFlink =
      !!raw && typeof raw === "object" && Array.isArray((raw as { errors?: unknown }).errors);
    const errors = fromFlink
      ? ((raw as { errors: unknown[] }).errors.map(String) as string[])
      : typeof raw === "string" && raw
        ? [raw]
        : raw &&
            typeof raw === "object" &&
            typeof (raw as { message?: unknown }).message === "string"
          ? [(raw as { message: string }).message]
          : [];
    const messages = summarizeFlinkErrors(errors);
    const text = errors.join("\n");
    if (res.status === 404 && fromFlink && spec.triggerId && /trigger/i.test(text)) {
      return new FlinkTriggerNotFoundError(spec.triggerId, spec.operation);
    }
    if (res.status === 404 && fromFlink && spec.jobId && !/\/jars\//.test(spec.path)) {
      return new FlinkJobNotFoundError(spec.jobId, spec.operation);
    }
    if (res.status === 409 && fromFlink && spec.jobId && /terminal state/i.test(text)) {
      const state = /terminal state \((\w+)\)/.exec(text)?.[1];
      return new FlinkJobTerminalError(spec.jobId, state, spec.operation);
    }
    return new FlinkRequestRejectedError(
      `${spec.operation}: Flink answered HTTP ${res.status}${messages.length ? `: ${messages.join("; ")}` : ""}`,
      spec.operation,
      res.status,
      messages,
    );
  }
}
