import type { CoreV1Event, V1Deployment, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  jobStuck,
  lastLogLines,
  observeJobManager,
  whatToRead,
  whyStuck,
} from "../../../lib/reconcile/why-stuck";

const MISSING_ACCOUNT =
  'pods "basic-example-6f8b7c9d5-" is forbidden: error looking up service account ns/flink: serviceaccount "flink" not found';

const deployment = (ready: number, conditions: object[] = []) =>
  ({
    kind: "Deployment",
    metadata: { name: "basic-example", uid: "d1" },
    spec: { replicas: 1 },
    status: { readyReplicas: ready, conditions },
  }) as V1Deployment;

const statefulSet = (replicas: number, ready = 0) =>
  ({
    kind: "StatefulSet",
    metadata: { name: "sa", uid: "s1" },
    spec: { replicas },
    status: { readyReplicas: ready },
  }) as V1StatefulSet;

const pod = (name: string, status: object) => ({ metadata: { name }, status }) as V1Pod;

const waiting = (reason: string, message?: string, more: object = {}) =>
  pod("jm-0", {
    phase: "Running",
    containerStatuses: [
      {
        name: "flink-main-container",
        image: "flink:2.2",
        ready: false,
        restartCount: 4,
        state: { waiting: { reason, message } },
        ...more,
      },
    ],
  });

const failedCreate = (message: string, lastTimestamp: string) =>
  ({ reason: "FailedCreate", type: "Warning", message, lastTimestamp }) as unknown as CoreV1Event;

const crashLog = readFileSync(
  join(__dirname, "../../fixtures/flink-failures/2.2-jobmanager-missing-entry-class.txt"),
  "utf8",
);

describe("why a JobManager is not running", () => {
  it("is MISSING without a workload, READY when ready, DEPLOYING while its pod is created or started", () => {
    expect(observeJobManager(undefined, []).state).toBe("MISSING");
    expect(observeJobManager(deployment(1), [])).toEqual({ state: "READY" });
    expect(observeJobManager(deployment(0), [])).toEqual({
      state: "DEPLOYING",
      message: "waiting for the JobManager pod to be created",
    });
    expect(observeJobManager(deployment(0), [pod("jm-0", { phase: "Pending" })])).toEqual({
      state: "DEPLOYING",
      message: "waiting for JobManager pod jm-0 to become ready (phase Pending)",
    });
  });

  it("is the Deployment's FailedCreate condition, in Kubernetes' words: ERROR, and nothing more to read", () => {
    const jm = deployment(0, [
      { type: "Available", status: "False", reason: "MinimumReplicasUnavailable" },
      { type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: MISSING_ACCOUNT },
    ]);
    expect(whatToRead(jm, [])).toEqual({ events: false });
    const seen = observeJobManager(jm, []);
    expect(seen.state).toBe("ERROR");
    expect(seen.message).toBe(`the JobManager's pods cannot be created: ${MISSING_ACCOUNT}`);
    expect(seen.stuck).toMatchObject({ reason: "FailedCreate", fatal: true });
    // A failure that cleared (status False) is no reason.
    const cleared = deployment(0, [{ type: "ReplicaFailure", status: "False" }]);
    expect(observeJobManager(cleared, []).state).toBe("DEPLOYING");
  });

  it("is the newest FailedCreate event of a StatefulSet short of pods, which has no such condition", () => {
    const sts = statefulSet(1);
    expect(whatToRead(sts, [])).toEqual({ events: true });
    expect(whatToRead(statefulSet(1, 0), [pod("sa-0", { phase: "Pending" })])).toEqual({
      events: false,
    });
    const newest =
      'create Pod sa-0 in StatefulSet sa failed error: pods "sa-0" is forbidden: exceeded quota: compute, requested: cpu=1, used: cpu=2, limited: cpu=2';
    const seen = observeJobManager(sts, [], {
      events: [
        failedCreate(newest, "2026-01-01T00:00:09Z"),
        failedCreate("an older reason", "2026-01-01T00:00:01Z"),
      ],
    });
    expect(seen).toMatchObject({
      state: "ERROR",
      message: `the JobManager's pods cannot be created: ${newest}`,
    });
  });

  it("is an unschedulable pod: DEPLOYING with the scheduler's message, since it may resolve by itself", () => {
    const seen = observeJobManager(deployment(0), [
      pod("jm-0", {
        phase: "Pending",
        conditions: [
          {
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message: "0/1 nodes are available: 1 Insufficient cpu.",
          },
        ],
      }),
    ]);
    expect(seen).toMatchObject({
      state: "DEPLOYING",
      message:
        "the JobManager pod cannot be scheduled: Unschedulable: 0/1 nodes are available: 1 Insufficient cpu. (pod jm-0)",
      stuck: { reason: "Unschedulable", fatal: false },
    });
  });

  it("is an image that cannot be pulled: ERROR, with one summary whichever of the two reasons the kubelet shows", () => {
    const pull = observeJobManager(deployment(0), [
      waiting(
        "ErrImagePull",
        'failed to pull and unpack image "docker.io/library/flink:9": not found',
      ),
    ]);
    const backOff = observeJobManager(deployment(0), [
      waiting("ImagePullBackOff", 'Back-off pulling image "flink:9"'),
    ]);
    expect(pull.state).toBe("ERROR");
    expect(pull.message).toBe(
      'JobManager container flink-main-container cannot pull its image "flink:2.2" (pod jm-0): ErrImagePull: failed to pull and unpack image "docker.io/library/flink:9": not found',
    );
    expect(backOff.stuck?.summary).toBe(pull.stuck?.summary);
    expect(whatToRead(deployment(0), [waiting("ImagePullBackOff")])).toEqual({ events: false });
  });

  it("is a container that cannot start for its configuration: ERROR", () => {
    const seen = observeJobManager(deployment(0), [
      waiting("CreateContainerConfigError", 'configmap "pod-template-x" not found'),
    ]);
    expect(seen).toMatchObject({
      state: "ERROR",
      message:
        'JobManager container flink-main-container cannot start: CreateContainerConfigError: configmap "pod-template-x" not found (pod jm-0)',
    });
  });

  it("is a crash loop with the exit code and the last lines of the previous log, read only for that container", () => {
    const crashing = waiting(
      "CrashLoopBackOff",
      "back-off 40s restarting failed container=flink-main-container pod=jm-0",
      { lastState: { terminated: { exitCode: 1, reason: "Error" } } },
    );
    expect(whatToRead(deployment(0), [crashing])).toEqual({
      events: false,
      log: { pod: "jm-0", container: "flink-main-container" },
    });
    const seen = observeJobManager(deployment(0), [crashing], {
      log: { pod: "jm-0", container: "flink-main-container", text: crashLog },
    });
    expect(seen.state).toBe("ERROR");
    expect(seen.stuck?.summary).toBe(
      "JobManager container flink-main-container keeps crashing (exit code 1)",
    );
    expect(seen.message).toMatch(
      /^JobManager container flink-main-container keeps crashing \(exit code 1\) \(pod jm-0\); last log lines: /,
    );
    expect(seen.message).toContain(
      "Caused by: java.lang.ClassNotFoundException: com.example.DoesNotExist",
    );
    // Without the log (not readable), the message still says what is known.
    expect(observeJobManager(deployment(0), [crashing]).message).toBe(
      "JobManager container flink-main-container keeps crashing (exit code 1) (pod jm-0)",
    );
  });

  it("names an out-of-memory kill and a termination message", () => {
    const oom = waiting("CrashLoopBackOff", undefined, {
      lastState: { terminated: { exitCode: 137, reason: "OOMKilled", message: "killed\n" } },
    });
    expect(observeJobManager(deployment(0), [oom]).message).toBe(
      "JobManager container flink-main-container keeps crashing (exit code 137, OOMKilled) (pod jm-0); killed",
    );
  });

  it("speaks of TaskManagers for TaskManager pods, and says nothing while pods only start", () => {
    const tm = pod("tm-1", {
      phase: "Pending",
      containerStatuses: [
        {
          name: "flink-main-container",
          image: "flink:9",
          state: { waiting: { reason: "ErrImagePull" } },
        },
      ],
    });
    expect(whyStuck("TaskManager", undefined, { pods: [tm] })?.summary).toBe(
      'TaskManager container flink-main-container cannot pull its image "flink:9"',
    );
    expect(
      whyStuck("TaskManager", statefulSet(2, 1), {
        pods: [
          pod("sa-taskmanager-0", { phase: "Running" }),
          pod("sa-taskmanager-1", { phase: "Pending" }),
        ],
      }),
    ).toBeUndefined();
  });
});

describe("the last lines of a crashed container's log", () => {
  it("keeps the last few lines that say something: no stack frames, no timestamps, bounded", () => {
    const lines = lastLogLines(crashLog)!;
    expect(lines.split(" | ")).toEqual([
      "INFO org.apache.flink.runtime.security.contexts.HadoopSecurityContextFactory [] - Cannot install HadoopSecurityContext because Hadoop cannot be found in the Classpath.",
      "ERROR org.apache.flink.runtime.entrypoint.ClusterEntrypoint [] - Could not create application program.",
      "org.apache.flink.util.FlinkException: Could not load the provided entrypoint class.",
      "Caused by: org.apache.flink.client.program.ProgramInvocationException: The program's entry point class 'com.example.DoesNotExist' was not found in the jar file.",
      "Caused by: java.lang.ClassNotFoundException: com.example.DoesNotExist",
    ]);
    expect(lastLogLines(`${"y".repeat(5000)}\n`)!.length).toBeLessThanOrEqual(240);
    expect(lastLogLines("\n\n")).toBeUndefined();
  });
});

describe("a failing job's Event", () => {
  it("is one per cause, whatever state the job passes through", () => {
    const cause = "ResourceManagerException: TaskManager with id tm-1 is no longer reachable.";
    expect(jobStuck("RESTARTING", cause)).toEqual({
      reason: "JobRestarting",
      summary: cause,
      message: `job RESTARTING: ${cause}`,
      fatal: false,
    });
    expect(jobStuck("FAILED", cause).summary).toBe(jobStuck("FAILING", cause).summary);
  });
});
