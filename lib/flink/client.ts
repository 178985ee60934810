import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { Logger } from "winston";
import { z } from "zod";
import { log } from "../log";
import { FlinkUnsupportedError } from "./errors";
import {
  AsyncOperationStatus,
  CheckpointingStatistics,
  MetricValues,
  ClusterConfig,
  ClusterOverview,
  JarList,
  JarRunResponse,
  JarUploadResponse,
  JobDetails,
  JobExceptions,
  JobManagerConfig,
  JobsOverview,
  ResourceRequirements,
  TriggerResponse,
  type ExceptionHistory,
  type JobOverview,
} from "./schemas";
import { Transport, type FlinkConnection, type RequestSpec } from "./transport";
import { flinkFeatures, parseFlinkVersion, type FlinkFeatures, type FlinkVersion } from "./version";

export interface FlinkClientOptions {
  /** The JobManager REST endpoint, e.g. http://my-cluster-rest.ns:8081. */
  baseUrl: string;
  /** The cluster's Flink version; read from GET /config on first need when absent. */
  flinkVersion?: string;
  /** Per request attempt; default 10 s (the reference operator's flink.client.timeout). */
  timeoutMs?: number;
  /** Extra attempts for GETs and polls; default 2. */
  retries?: number;
  /** First retry delay, doubling; default 250 ms. */
  backoffMs?: number;
  logger?: Logger;
  connection?: FlinkConnection;
}

export type SavepointFormat = "CANONICAL" | "NATIVE";
export type ClaimMode = "CLAIM" | "NO_CLAIM" | "LEGACY";
export type CheckpointType = "CONFIGURED" | "FULL" | "INCREMENTAL";

export interface SavepointTriggerOptions {
  /** Falls back to the cluster's savepoint directory. */
  targetDirectory?: string;
  formatType?: SavepointFormat;
  cancelJob?: boolean;
  /** A 32-hex id chosen by the caller: Flink deduplicates triggers with the same id, so a retry is safe. */
  triggerId?: string;
}

export interface StopOptions {
  targetDirectory?: string;
  formatType?: SavepointFormat;
  /** Emit MAX_WATERMARK and flush event-time windows before stopping. */
  drain?: boolean;
  triggerId?: string;
}

export interface RunJarOptions {
  entryClass?: string;
  args?: string[];
  parallelism?: number;
  /** 32 hex characters; lets the caller know the job id before the call returns. */
  jobId?: string;
  savepointPath?: string;
  allowNonRestoredState?: boolean;
  /** Sent as claimMode (>= 1.20) or restoreMode (older). */
  claimMode?: ClaimMode;
  /** Job-level configuration (Flink >= 1.17), e.g. execution.checkpointing.interval. */
  flinkConfiguration?: Record<string, string>;
}

const jid = (jobId: string) => encodeURIComponent(jobId);

/** A typed client for one JobManager's REST API. */
export class FlinkRestClient {
  private readonly transport: Transport;
  private versionPromise?: Promise<FlinkVersion>;
  readonly logger: Logger;

  constructor(readonly options: FlinkClientOptions) {
    this.logger =
      options.logger ?? log.child({ component: "flink-rest", baseUrl: options.baseUrl });
    this.transport = new Transport({
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs ?? 10_000,
      retries: options.retries ?? 2,
      backoffMs: options.backoffMs ?? 250,
      logger: this.logger,
      connection: options.connection,
    });
    if (options.flinkVersion)
      this.versionPromise = Promise.resolve(parseFlinkVersion(options.flinkVersion));
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /** Low-level access for calls this class does not wrap; errors are mapped the same way. */
  request<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.infer<S>> {
    return this.transport.request(spec);
  }

  /** The cluster's version, from the constructor or GET /config (asked once). */
  version(): Promise<FlinkVersion> {
    if (!this.versionPromise) {
      const asked = this.config().then(c => parseFlinkVersion(c["flink-version"]));
      // A failed probe must not stick: the next call asks again.
      asked.catch(() => (this.versionPromise = undefined));
      this.versionPromise = asked;
    }
    return this.versionPromise;
  }

  async features(): Promise<FlinkFeatures> {
    return flinkFeatures(await this.version());
  }

  config(): Promise<ClusterConfig> {
    return this.get("/config", "GET /config", ClusterConfig);
  }

  overview(): Promise<ClusterOverview> {
    return this.get("/overview", "GET /overview", ClusterOverview);
  }

  /** The JobManager's effective configuration as key/value pairs. */
  async jobManagerConfig(): Promise<Record<string, string>> {
    const entries = await this.get(
      "/jobmanager/config",
      "GET /jobmanager/config",
      JobManagerConfig,
    );
    return Object.fromEntries(entries.map(e => [e.key, e.value]));
  }

  async jobsOverview(): Promise<JobOverview[]> {
    return (await this.get("/jobs/overview", "GET /jobs/overview", JobsOverview)).jobs;
  }

  job(jobId: string): Promise<JobDetails> {
    return this.get(`/jobs/${jid(jobId)}`, "GET /jobs/:jobid", JobDetails, { jobId });
  }

  /** The exception history, the same shape for 1.x and 2.x. */
  async exceptions(jobId: string, maxExceptions = 10): Promise<ExceptionHistory> {
    const body = await this.transport.request({
      method: "GET",
      path: `/jobs/${jid(jobId)}/exceptions`,
      query: { maxExceptions },
      operation: "GET /jobs/:jobid/exceptions",
      schema: JobExceptions,
      idempotent: true,
      jobId,
    });
    return {
      truncated: body.exceptionHistory.truncated,
      entries: body.exceptionHistory.entries.map(e => ({
        exceptionName: e.exceptionName,
        stacktrace: e.stacktrace,
        timestamp: e.timestamp,
        taskName: e.taskName ?? undefined,
        endpoint: e.endpoint ?? undefined,
      })),
    };
  }

  /** Checkpoint statistics; Flink rejects this when checkpointing was never enabled for the job. */
  checkpoints(jobId: string): Promise<CheckpointingStatistics> {
    return this.get(
      `/jobs/${jid(jobId)}/checkpoints`,
      "GET /jobs/:jobid/checkpoints",
      CheckpointingStatistics,
      {
        jobId,
      },
    );
  }

  /** Job metrics by name, as numbers; a metric Flink does not have (yet) is left out. */
  async jobMetrics(jobId: string, names: string[]): Promise<Record<string, number>> {
    const values = await this.transport.request({
      method: "GET",
      path: `/jobs/${jid(jobId)}/metrics`,
      query: { get: names.join(",") },
      operation: "GET /jobs/:jobid/metrics",
      schema: MetricValues,
      idempotent: true,
      jobId,
    });
    return Object.fromEntries(
      values.filter(m => m.value !== undefined).map(m => [m.id, Number(m.value)]),
    );
  }

  async triggerCheckpoint(
    jobId: string,
    opts: { checkpointType?: CheckpointType; triggerId?: string } = {},
  ) {
    if (!(await this.features()).manualCheckpoints) {
      throw new FlinkUnsupportedError(
        "manual checkpoints need Flink >= 1.17",
        "POST /jobs/:jobid/checkpoints",
      );
    }
    return this.trigger(
      `/jobs/${jid(jobId)}/checkpoints`,
      "POST /jobs/:jobid/checkpoints",
      jobId,
      opts.triggerId,
      {
        checkpointType: opts.checkpointType,
        triggerId: opts.triggerId,
      },
    );
  }

  checkpointStatus(jobId: string, triggerId: string): Promise<AsyncOperationStatus> {
    return this.get(
      `/jobs/${jid(jobId)}/checkpoints/${encodeURIComponent(triggerId)}`,
      "GET /jobs/:jobid/checkpoints/:triggerid",
      AsyncOperationStatus,
      { jobId, triggerId },
    );
  }

  triggerSavepoint(jobId: string, opts: SavepointTriggerOptions = {}): Promise<string> {
    return this.trigger(
      `/jobs/${jid(jobId)}/savepoints`,
      "POST /jobs/:jobid/savepoints",
      jobId,
      opts.triggerId,
      {
        "target-directory": opts.targetDirectory,
        "cancel-job": opts.cancelJob ?? false,
        formatType: opts.formatType,
        triggerId: opts.triggerId,
      },
    );
  }

  /** Status of a savepoint or a stop-with-savepoint (both answer on the savepoints trigger path). */
  savepointStatus(jobId: string, triggerId: string): Promise<AsyncOperationStatus> {
    return this.get(
      `/jobs/${jid(jobId)}/savepoints/${encodeURIComponent(triggerId)}`,
      "GET /jobs/:jobid/savepoints/:triggerid",
      AsyncOperationStatus,
      { jobId, triggerId },
    );
  }

  /** Stop-with-savepoint; note the camelCase body, unlike /savepoints. */
  triggerStop(jobId: string, opts: StopOptions = {}): Promise<string> {
    return this.trigger(
      `/jobs/${jid(jobId)}/stop`,
      "POST /jobs/:jobid/stop",
      jobId,
      opts.triggerId,
      {
        targetDirectory: opts.targetDirectory,
        formatType: opts.formatType,
        drain: opts.drain ?? false,
        triggerId: opts.triggerId,
      },
    );
  }

  /** Asks for cancellation (asynchronous: the job passes CANCELLING before CANCELED). */
  async cancel(jobId: string): Promise<void> {
    await this.transport.request({
      method: "PATCH",
      path: `/jobs/${jid(jobId)}`,
      query: { mode: "cancel" },
      operation: "PATCH /jobs/:jobid?mode=cancel",
      schema: z.unknown(),
      idempotent: false,
      jobId,
    });
  }

  /** Uploads a jar; returns the id later calls use (the uploaded file's base name). */
  async uploadJar(
    jar: Uint8Array | Blob,
    fileName: string,
  ): Promise<{ jarId: string; filename: string }> {
    const form = new FormData();
    const blob =
      jar instanceof Blob ? jar : new Blob([jar], { type: "application/x-java-archive" });
    form.append("jarfile", blob, fileName);
    const res = await this.transport.request({
      method: "POST",
      path: "/jars/upload",
      operation: "POST /jars/upload",
      schema: JarUploadResponse,
      body: form,
      idempotent: false,
      // Uploads take longer than plain calls.
      timeoutMs: Math.max(60_000, this.transport.opts.timeoutMs),
    });
    return { jarId: basename(res.filename), filename: res.filename };
  }

  async uploadJarFile(
    path: string,
    fileName = basename(path),
  ): Promise<{ jarId: string; filename: string }> {
    return this.uploadJar(await readFile(path), fileName);
  }

  listJars(): Promise<JarList> {
    return this.get("/jars", "GET /jars", JarList);
  }

  async deleteJar(jarId: string): Promise<void> {
    await this.transport.request({
      method: "DELETE",
      path: `/jars/${encodeURIComponent(jarId)}`,
      operation: "DELETE /jars/:jarid",
      schema: z.unknown(),
      idempotent: false,
    });
  }

  /** Runs an uploaded jar; returns the job id. */
  async runJar(jarId: string, opts: RunJarOptions = {}): Promise<string> {
    const f = await this.features();
    if (opts.claimMode === "LEGACY" && !f.legacyClaimMode) {
      throw new FlinkUnsupportedError(
        "Flink 2.x has no LEGACY claim mode",
        "POST /jars/:jarid/run",
      );
    }
    if (
      opts.flinkConfiguration &&
      Object.keys(opts.flinkConfiguration).length &&
      !f.runFlinkConfiguration
    ) {
      throw new FlinkUnsupportedError(
        "flinkConfiguration in the run request needs Flink >= 1.17",
        "POST /jars/:jarid/run",
      );
    }
    const body: Record<string, unknown> = {
      entryClass: opts.entryClass,
      programArgsList: opts.args,
      parallelism: opts.parallelism,
      jobId: opts.jobId,
      savepointPath: opts.savepointPath,
      allowNonRestoredState: opts.allowNonRestoredState,
      flinkConfiguration: opts.flinkConfiguration,
    };
    if (opts.claimMode) body[f.runRestoreField] = opts.claimMode;
    const res = await this.transport.request({
      method: "POST",
      path: `/jars/${encodeURIComponent(jarId)}/run`,
      operation: "POST /jars/:jarid/run",
      schema: JarRunResponse,
      body,
      idempotent: false,
      // Running a jar executes its main() on the JobManager to build the job graph.
      timeoutMs: Math.max(60_000, this.transport.opts.timeoutMs),
    });
    return res.jobid;
  }

  triggerSavepointDisposal(
    savepointPath: string,
    opts: { triggerId?: string } = {},
  ): Promise<string> {
    return this.trigger(
      "/savepoint-disposal",
      "POST /savepoint-disposal",
      undefined,
      opts.triggerId,
      {
        "savepoint-path": savepointPath,
        triggerId: opts.triggerId,
      },
    );
  }

  savepointDisposalStatus(triggerId: string): Promise<AsyncOperationStatus> {
    return this.get(
      `/savepoint-disposal/${encodeURIComponent(triggerId)}`,
      "GET /savepoint-disposal/:triggerid",
      AsyncOperationStatus,
      { triggerId },
    );
  }

  /** Per-vertex parallelism bounds (adaptive scheduler only; Flink rejects it for the default scheduler). */
  resourceRequirements(jobId: string): Promise<ResourceRequirements> {
    return this.get(
      `/jobs/${jid(jobId)}/resource-requirements`,
      "GET /jobs/:jobid/resource-requirements",
      ResourceRequirements,
      { jobId },
    );
  }

  async setResourceRequirements(jobId: string, requirements: ResourceRequirements): Promise<void> {
    await this.transport.request({
      method: "PUT",
      path: `/jobs/${jid(jobId)}/resource-requirements`,
      operation: "PUT /jobs/:jobid/resource-requirements",
      schema: z.unknown(),
      body: requirements,
      idempotent: false,
      jobId,
    });
  }

  private get<S extends z.ZodType>(
    path: string,
    operation: string,
    schema: S,
    ids: { jobId?: string; triggerId?: string } = {},
  ): Promise<z.infer<S>> {
    return this.transport.request({
      method: "GET",
      path,
      operation,
      schema,
      idempotent: true,
      ...ids,
    });
  }

  /** A caller-chosen trigger id makes the POST idempotent on Flink's side, so only then is it retried. */
  private async trigger(
    path: string,
    operation: string,
    jobId: string | undefined,
    triggerId: string | undefined,
    body: Record<string, unknown>,
  ): Promise<string> {
    const res = await this.transport.request({
      method: "POST",
      path,
      operation,
      schema: TriggerResponse,
      body,
      idempotent: triggerId !== undefined,
      jobId,
      triggerId,
    });
    return res["request-id"];
  }
}
