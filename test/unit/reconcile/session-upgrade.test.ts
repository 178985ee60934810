import { describe, expect, it } from "vitest";
import { parseReconciledSpec, serializeReconciledSpec } from "../../../lib/api/reconciled-spec";
import type { FlinkDeploymentSpec, FlinkSessionJobSpec } from "../../../lib/api/spec";
import type { FlinkDeploymentStatus, FlinkSessionJobStatus } from "../../../lib/api/status";
import { acceptGeneration, firstClusterStep } from "../../../lib/reconcile/lifecycle";
import {
  finishSessionOperation,
  missingRestoreFallback,
  sessionJobActivity,
  sessionJobsWait,
  sessionUpgradeStop,
} from "../../../lib/reconcile/sessionjob-lifecycle";
import { sessionReadiness } from "../../../lib/reconcile/sessionjob-session";
import { finishSessionJobStatus } from "../../../lib/reconcile/sessionjob-status";
import { application, session, sessionJob } from "../validation/fixtures";

const now = new Date("2026-12-02T10:00:00Z");
const OLD = "a".repeat(32);
const jobSpec = (upgradeMode: "stateless" | "savepoint" | "last-state"): FlinkSessionJobSpec => {
  const s = sessionJob().spec;
  return { ...s, job: { ...s.job, upgradeMode } };
};

/** A session job submitted from `s`, running as job OLD. */
function running(s: FlinkSessionJobSpec): FlinkSessionJobStatus {
  return {
    jobStatus: { jobId: OLD, state: "RUNNING" },
    reconciliationStatus: {
      lastReconciledSpec: serializeReconciledSpec({ spec: s, generation: 1 }),
      state: "DEPLOYED",
      restore: { upgradeMode: "stateless" },
    },
  };
}

describe("a session cluster's stop", () => {
  it("starts with its session jobs, while an application's starts as before", () => {
    const s: FlinkDeploymentSpec = session().spec;
    const status: FlinkDeploymentStatus = {
      reconciliationStatus: {
        lastReconciledSpec: serializeReconciledSpec({ spec: s, generation: 1 }),
        state: "DEPLOYED",
      },
    };
    const last = parseReconciledSpec<FlinkDeploymentSpec>(
      status.reconciliationStatus!.lastReconciledSpec,
    );
    const a = acceptGeneration(last, { ...s, image: "flink:1.20.1" }, 2, status, now)!;
    expect(a.status.reconciliationStatus?.operation).toMatchObject({
      kind: "upgrade",
      upgradeMode: "stateless",
      step: "session-jobs",
      startedAt: now.getTime(),
    });
    const app: FlinkDeploymentSpec = application().spec;
    expect(firstClusterStep("savepoint", app)).toBe("savepoint");
    expect(firstClusterStep("last-state", app)).toBe("stop-cluster");
    expect(firstClusterStep("stateless", app)).toBe("stop-cluster");
    expect(firstClusterStep("stateless", s)).toBe("session-jobs");
  });
});

describe("what a session's stop waits for", () => {
  it("counts a job as running while it runs or its run may have been asked for", () => {
    const s = jobSpec("savepoint");
    expect(sessionJobActivity(running(s))).toBe("running");
    const asked = running(s);
    asked.reconciliationStatus!.state = "UPGRADING";
    asked.jobStatus!.state = "RECONCILING";
    expect(sessionJobActivity(asked)).toBe("running");
  });

  it("counts a job with a stop of its own under way as stopping", () => {
    const stopping = running(jobSpec("savepoint"));
    stopping.reconciliationStatus!.operation = {
      kind: "upgrade",
      upgradeMode: "savepoint",
      step: "savepoint",
      jobId: OLD,
      startedAt: 1,
    };
    expect(sessionJobActivity(stopping)).toBe("stopping");
  });

  it("counts as idle what cannot run: nothing reconciled, a submission not yet asked for, suspended, ended", () => {
    const s = jobSpec("savepoint");
    expect(sessionJobActivity(undefined)).toBe("idle");
    expect(sessionJobActivity({})).toBe("idle");
    const prepared = running(s);
    prepared.reconciliationStatus!.state = "UPGRADING";
    prepared.jobStatus = { jobId: "b".repeat(32) };
    expect(sessionJobActivity(prepared)).toBe("idle");
    for (const state of ["SUSPENDED", "FAILED", "CANCELED", "FINISHED"] as const) {
      const st = running(s);
      st.jobStatus!.state = state;
      expect(sessionJobActivity(st)).toBe("idle");
    }
  });

  it("goes on at once with no session jobs or only idle ones", () => {
    expect(sessionJobsWait([], 0, 1, 60_000)).toEqual({ go: true });
    expect(sessionJobsWait([{ name: "a" }], 0, 1, 60_000)).toEqual({ go: true });
  });

  it("waits, naming each job that may run and what it does, until the timeout", () => {
    const stopping = running(jobSpec("savepoint"));
    stopping.reconciliationStatus!.operation = {
      kind: "session-upgrade",
      upgradeMode: "savepoint",
      step: "savepoint",
      jobId: OLD,
      startedAt: 1,
    };
    const jobs = [
      { name: "orders", status: stopping },
      { name: "clicks", status: running(jobSpec("stateless")) },
      { name: "idle" },
    ];
    const start = now.getTime();
    const wait = sessionJobsWait(jobs, start, start + 59_999, 60_000);
    expect(wait).toEqual({
      go: false,
      waitingFor: ["orders (savepoint)", "clicks (not stopping yet)"],
      message:
        "waiting for session jobs to stop in their upgrade modes before the session cluster stops: orders (savepoint), clicks (not stopping yet) (at most until 2026-12-02T10:01:00.000Z, kubernetes.operator.session.upgrade.session-jobs.timeout, 60 s)",
    });
    expect(sessionJobsWait(jobs, start, start + 60_000, 60_000)).toEqual({
      go: true,
      abandoned:
        "session jobs did not stop within kubernetes.operator.session.upgrade.session-jobs.timeout, 60 s: orders (savepoint), clicks (not stopping yet); the session cluster stops anyway, and they are submitted again as lost jobs once it is back",
    });
  });
});

describe("a session job's part in its session's stop", () => {
  it.each([
    ["savepoint", "savepoint", "savepoint"],
    ["last-state", "savepoint", "savepoint"],
    ["stateless", "stateless", "cancel"],
  ] as const)("stops a %s job as %s, from step %s, recorded before it acts", (mode, as, step) => {
    const before = running(jobSpec(mode));
    const status = sessionUpgradeStop(before, jobSpec(mode), now)!;
    expect(status.reconciliationStatus).toMatchObject({
      state: "UPGRADING",
      operation: {
        kind: "session-upgrade",
        upgradeMode: as,
        step,
        jobId: OLD,
        startedAt: now.getTime(),
      },
    });
    // Pure: the status it was given is left as it was.
    expect(before.reconciliationStatus?.operation).toBeUndefined();
  });

  it("records nothing for a job that does not run or whose stop is under way", () => {
    const s = jobSpec("savepoint");
    const ended = running(s);
    ended.jobStatus!.state = "FINISHED";
    expect(sessionUpgradeStop(ended, s, now)).toBeUndefined();
    const stopping = sessionUpgradeStop(running(s), s, now)!;
    expect(sessionUpgradeStop(stopping, s, now)).toBeUndefined();
  });

  it("ends by preparing the submission from the savepoint under a new job id, idle for the session", () => {
    const s = jobSpec("savepoint");
    const status = sessionUpgradeStop(running(s), s, now)!;
    status.reconciliationStatus!.operation!.restorePath = "file:///flink-data/savepoints/sp-1";
    finishSessionOperation(status, s);
    expect(status.reconciliationStatus).toMatchObject({
      state: "UPGRADING",
      restore: { upgradeMode: "savepoint", path: "file:///flink-data/savepoints/sp-1" },
    });
    expect(status.reconciliationStatus?.operation).toBeUndefined();
    expect(status.jobStatus?.jobId).toMatch(/^[0-9a-f]{32}$/);
    expect(status.jobStatus?.jobId).not.toBe(OLD);
    expect(sessionJobActivity(status)).toBe("idle");
  });

  it("says in its Ready condition that the stop is the session's", () => {
    const s = jobSpec("savepoint");
    const status = sessionUpgradeStop(running(s), s, now)!;
    finishSessionJobStatus(status, s, undefined, now);
    expect(status.conditions?.find(c => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "Upgrading",
      message: `the session cluster's upgrade: stop of job ${OLD} (savepoint): stopping the job with a savepoint`,
    });
  });
});

describe("a session's JobManager while the session stops", () => {
  function sessionObject(step: "session-jobs" | "stop-cluster") {
    const obj = session();
    obj.metadata.uid = "uid-1";
    const old = {
      ...obj.spec,
      flinkConfiguration: { ...obj.spec.flinkConfiguration, "rest.port": "8082" },
    };
    obj.status = {
      jobManagerDeploymentStatus: "READY",
      reconciliationStatus: {
        lastReconciledSpec: serializeReconciledSpec({ spec: obj.spec, generation: 2 }),
        lastStableSpec: serializeReconciledSpec({ spec: old, generation: 1 }),
        state: "UPGRADING",
        operation: { kind: "upgrade", upgradeMode: "stateless", step, startedAt: 1 },
      },
    };
    return obj;
  }

  it("is reached for the jobs to stop while the session waits for them, at the port it runs with", () => {
    expect(sessionReadiness(sessionObject("session-jobs"), "basic-session", {})).toEqual({
      ready: {
        rest: { name: "basic-session-rest", namespace: "default", port: 8082 },
        ha: false,
        stopping: true,
      },
    });
  });

  it("is not ready once the cluster stops", () => {
    expect(sessionReadiness(sessionObject("stop-cluster"), "basic-session", {})).toMatchObject({
      blocked: { reason: "SessionNotReady" },
    });
  });
});

describe("a job whose restore path is gone", () => {
  const MISSING =
    "org.apache.flink.runtime.client.JobInitializationException: Could not start the JobMaster.\n\tat x\nCaused by: java.io.FileNotFoundException: Cannot find checkpoint or savepoint file/directory 'file:/flink-data/checkpoints/x/chk-3' on file system 'file'.\n\tat y";
  function lostFrom(path: string, savepoint?: string): FlinkSessionJobStatus {
    const st = running(jobSpec("savepoint"));
    st.jobStatus!.state = "FAILED";
    st.reconciliationStatus!.restore = { upgradeMode: "savepoint", path };
    if (savepoint)
      st.jobStatus!.savepointInfo = { lastSavepoint: { location: savepoint, timeStamp: 1 } };
    return st;
  }

  it("is submitted again from the savepoint on record", () => {
    const f = missingRestoreFallback(
      lostFrom("file:/flink-data/checkpoints/x/chk-3", "file:/flink-data/savepoints/sp-1"),
      jobSpec("savepoint"),
      MISSING,
    );
    expect(f).toEqual({
      resubmit: { upgradeMode: "savepoint", path: "file:/flink-data/savepoints/sp-1" },
      why: `job ${OLD} cannot start from file:/flink-data/checkpoints/x/chk-3: Flink does not find it (subsumed or deleted since it was recorded?); submitting it again from the savepoint on record, file:/flink-data/savepoints/sp-1`,
    });
  });

  it("starts empty only when its upgrade mode is stateless, and says so", () => {
    const f = missingRestoreFallback(
      lostFrom("file:/flink-data/checkpoints/x/chk-3"),
      jobSpec("stateless"),
      MISSING,
    );
    expect(f).toMatchObject({ resubmit: { upgradeMode: "stateless" } });
    expect("why" in f! && f.why).toContain("upgradeMode is stateless");
  });

  it("waits with the reason otherwise, also when the savepoint on record is the path that is gone", () => {
    for (const [mode, status] of [
      ["savepoint", lostFrom("file:/cp/chk-3")],
      ["last-state", lostFrom("file:/sp/sp-1", "file:/sp/sp-1")],
    ] as const) {
      const f = missingRestoreFallback(status, jobSpec(mode), MISSING);
      expect(f).toHaveProperty("blocked");
      expect("blocked" in f! && f.blocked).toContain(
        `no other savepoint is on record; with upgradeMode ${mode} it is not started with empty state`,
      );
    }
  });

  it("leaves other failures, and the user's initialSavepointPath, to the usual handling", () => {
    const cp = lostFrom("file:/cp/chk-3", "file:/sp/sp-1");
    expect(
      missingRestoreFallback(cp, jobSpec("savepoint"), "java.lang.RuntimeException: boom"),
    ).toBeUndefined();
    cp.reconciliationStatus!.restore = { upgradeMode: "initial", path: "file:/cp/chk-3" };
    expect(missingRestoreFallback(cp, jobSpec("savepoint"), MISSING)).toBeUndefined();
  });
});
