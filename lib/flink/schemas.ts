import { z } from "zod";

// Loose objects throughout: Flink adds fields in new releases, and an unknown field must not break the operator.

/** Globally terminal: the job will not run again in this cluster. (SUSPENDED is only locally terminal.) */
export const TERMINAL_STATES: readonly string[] = ["FAILED", "CANCELED", "FINISHED"];

export function isTerminalState(state: string): boolean {
  return TERMINAL_STATES.includes(state);
}

export const ClusterConfig = z.looseObject({
  "flink-version": z.string(),
  "flink-revision": z.string().optional(),
  "refresh-interval": z.number().optional(),
  "timezone-name": z.string().optional(),
  features: z
    .looseObject({
      "web-submit": z.boolean().optional(),
      "web-cancel": z.boolean().optional(),
      "web-rescale": z.boolean().optional(),
      "web-history": z.boolean().optional(),
    })
    .optional(),
});
export type ClusterConfig = z.infer<typeof ClusterConfig>;

export const ClusterOverview = z.looseObject({
  taskmanagers: z.number(),
  "slots-total": z.number(),
  "slots-available": z.number(),
  "jobs-running": z.number(),
  "jobs-finished": z.number(),
  "jobs-cancelled": z.number(),
  "jobs-failed": z.number(),
  "flink-version": z.string().optional(),
  "flink-commit": z.string().optional(),
});
export type ClusterOverview = z.infer<typeof ClusterOverview>;

export const JobManagerConfig = z.array(z.looseObject({ key: z.string(), value: z.string() }));

const TaskCounts = z.record(z.string(), z.number());

export const JobOverview = z.looseObject({
  jid: z.string(),
  name: z.string(),
  state: z.string(),
  "start-time": z.number(),
  "end-time": z.number(),
  duration: z.number().optional(),
  "last-modification": z.number().optional(),
  tasks: TaskCounts.optional(),
});
export type JobOverview = z.infer<typeof JobOverview>;

export const JobsOverview = z.looseObject({ jobs: z.array(JobOverview) });

export const JobVertex = z.looseObject({
  id: z.string(),
  name: z.string(),
  parallelism: z.number(),
  maxParallelism: z.number().optional(),
  status: z.string(),
  tasks: TaskCounts.optional(),
});

export const JobDetails = z.looseObject({
  jid: z.string(),
  name: z.string(),
  state: z.string(),
  "start-time": z.number(),
  "end-time": z.number(),
  duration: z.number().optional(),
  isStoppable: z.boolean().optional(),
  "job-type": z.string().optional(),
  maxParallelism: z.number().optional(),
  timestamps: z.record(z.string(), z.number()).optional(),
  vertices: z.array(JobVertex),
});
export type JobDetails = z.infer<typeof JobDetails>;

const ExceptionEntry = z.looseObject({
  exceptionName: z.string(),
  stacktrace: z.string(),
  timestamp: z.number(),
  taskName: z.string().nullish(),
  endpoint: z.string().nullish(),
  taskManagerId: z.string().nullish(),
  failureLabels: z.record(z.string(), z.string()).nullish(),
});

/** 1.x: exceptionHistory plus root-exception/all-exceptions; 2.x: exceptionHistory only. */
export const JobExceptions = z.looseObject({
  exceptionHistory: z.looseObject({
    entries: z.array(
      ExceptionEntry.extend({ concurrentExceptions: z.array(ExceptionEntry).optional() }),
    ),
    truncated: z.boolean(),
  }),
  "root-exception": z.string().nullish(),
  timestamp: z.number().nullish(),
});

/** The same in both versions: what the operator turns into events. */
export interface ExceptionHistory {
  entries: {
    exceptionName: string;
    stacktrace: string;
    timestamp: number;
    taskName?: string;
    endpoint?: string;
  }[];
  truncated: boolean;
}

const CheckpointStat = z.looseObject({
  id: z.number(),
  status: z.string(),
  is_savepoint: z.boolean(),
  trigger_timestamp: z.number().optional(),
  latest_ack_timestamp: z.number().optional(),
  external_path: z.string().nullish(),
  checkpoint_type: z.string().optional(),
  savepointFormat: z.string().nullish(),
  discarded: z.boolean().optional(),
  state_size: z.number().optional(),
  end_to_end_duration: z.number().optional(),
});

const FailedCheckpoint = CheckpointStat.extend({
  failure_timestamp: z.number().optional(),
  failure_message: z.string().nullish(),
});

const RestoredCheckpoint = z.looseObject({
  id: z.number(),
  restore_timestamp: z.number().optional(),
  is_savepoint: z.boolean(),
  external_path: z.string().nullish(),
});

export const CheckpointingStatistics = z.looseObject({
  counts: z.looseObject({
    restored: z.number(),
    total: z.number(),
    in_progress: z.number(),
    completed: z.number(),
    failed: z.number(),
  }),
  latest: z.looseObject({
    completed: CheckpointStat.nullish(),
    savepoint: CheckpointStat.nullish(),
    failed: FailedCheckpoint.nullish(),
    restored: RestoredCheckpoint.nullish(),
  }),
  history: z.array(CheckpointStat),
});
export type CheckpointingStatistics = z.infer<typeof CheckpointingStatistics>;

/** GET /jobs/:jobid/metrics?get=...: the metrics Flink has of those asked for, values as strings. */
export const MetricValues = z.array(
  z.looseObject({ id: z.string(), value: z.string().optional() }),
);

export const TriggerResponse = z.looseObject({ "request-id": z.string() });

const FailureCause = z.looseObject({
  class: z.string().optional(),
  "stack-trace": z.string().optional(),
});

/** Savepoints and disposal say `failure-cause`; checkpoints say `failureCause`. */
export const AsyncOperationStatus = z.looseObject({
  status: z.looseObject({ id: z.enum(["IN_PROGRESS", "COMPLETED"]) }),
  operation: z
    .looseObject({
      location: z.string().nullish(),
      checkpointId: z.number().nullish(),
      "failure-cause": FailureCause.nullish(),
      failureCause: FailureCause.nullish(),
    })
    .nullish(),
});
export type AsyncOperationStatus = z.infer<typeof AsyncOperationStatus>;

export const JarUploadResponse = z.looseObject({ filename: z.string(), status: z.string() });

export const JarList = z.looseObject({
  address: z.string().optional(),
  files: z.array(
    z.looseObject({
      id: z.string(),
      name: z.string(),
      uploaded: z.number(),
      entry: z
        .array(z.looseObject({ name: z.string(), description: z.string().nullish() }))
        .optional(),
    }),
  ),
});
export type JarList = z.infer<typeof JarList>;

export const JarRunResponse = z.looseObject({ jobid: z.string() });

export const ResourceRequirements = z.record(
  z.string(),
  z.looseObject({ parallelism: z.looseObject({ lowerBound: z.number(), upperBound: z.number() }) }),
);
export type ResourceRequirements = z.infer<typeof ResourceRequirements>;
