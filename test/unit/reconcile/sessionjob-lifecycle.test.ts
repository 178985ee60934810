import { describe, expect, it } from "vitest";
import { parseReconciledSpec, serializeReconciledSpec } from "../../../lib/api/reconciled-spec";
import type { FlinkSessionJobSpec } from "../../../lib/api/spec";
import type { FlinkSessionJobStatus } from "../../../lib/api/status";
import type { JobOverview } from "../../../lib/flink/schemas";
import {
  acceptSessionJobGeneration,
  finishSessionOperation,
  lostJobAction,
  lostJobRestore,
  observedJob,
} from "../../../lib/reconcile/sessionjob-lifecycle";
import { finishSessionJobStatus } from "../../../lib/reconcile/sessionjob-status";
import { disposable, dueSnapshot } from "../../../lib/reconcile/snapshots";
import { operatorSettings } from "../../../lib/settings";
import { uploadName } from "../../../lib/reconcile/sessionjob-submit";
import { jobConfiguration } from "../../../lib/reconcile/sessionjob";
import { sessionJob } from "../validation/fixtures";

const now = new Date("2026-12-02T10:00:00Z");
const OLD = "a".repeat(32);
const spec = (): FlinkSessionJobSpec => sessionJob().spec;
const withJob = (
  s: FlinkSessionJobSpec,
  job: Partial<NonNullable<FlinkSessionJobSpec["job"]>>,
) => ({
  ...s,
  job: { ...s.job!, ...job },
});

/** A session job submitted from `s` at generation 1, running as job `jobId`. */
function running(s: FlinkSessionJobSpec, jobId = OLD): FlinkSessionJobStatus {
  return {
    jobStatus: { jobId, state: "RUNNING" },
    reconciliationStatus: {
      lastReconciledSpec: serializeReconciledSpec({ spec: s, generation: 1 }),
      state: "DEPLOYED",
      restore: { upgradeMode: "stateless" },
    },
  };
}
const lastOf = (st: FlinkSessionJobStatus) =>
  parseReconciledSpec<FlinkSessionJobSpec>(st.reconciliationStatus?.lastReconciledSpec);

describe("a session job's new generation", () => {
  it("is submitted under a new job id recorded with the target, before anything runs", () => {
    const a = acceptSessionJobGeneration(undefined, spec(), 1, {}, now)!;
    expect(a.change).toBe("first");
    expect(a.status.jobStatus?.jobId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.status.reconciliationStatus).toMatchObject({
      state: "UPGRADING",
      restore: { upgradeMode: "stateless" },
      reconciliationTimestamp: now.getTime(),
    });
    expect(lastOf(a.status)).toMatchObject({ generation: 1, spec: spec() });
    expect(a.message).toBe(
      `submitting generation 1 as job ${a.status.jobStatus!.jobId} from empty state`,
    );
    // Two submissions never share an id.
    const b = acceptSessionJobGeneration(undefined, spec(), 1, {}, now)!;
    expect(b.status.jobStatus?.jobId).not.toBe(a.status.jobStatus?.jobId);
  });

  it("starts from initialSavepointPath on its first submission", () => {
    const s = withJob(spec(), { initialSavepointPath: "file:///sp/savepoint-1" });
    expect(
      acceptSessionJobGeneration(undefined, s, 1, {}, now)!.status.reconciliationStatus?.restore,
    ).toEqual({ upgradeMode: "initial", path: "file:///sp/savepoint-1" });
  });

  it("submits nothing when it is suspended from the start", () => {
    const a = acceptSessionJobGeneration(
      undefined,
      withJob(spec(), { state: "suspended" }),
      1,
      {},
      now,
    )!;
    expect(a.status.jobStatus).toEqual({ state: "SUSPENDED" });
    expect(a.status.reconciliationStatus?.state).toBe("DEPLOYED");
  });

  it("records a change of operator options or nonces read only when acting, with no stop", () => {
    const s = spec();
    const next = {
      ...withJob(s, { upgradeMode: "savepoint" as const, allowNonRestoredState: true }),
      flinkConfiguration: { "kubernetes.operator.reconcile.interval": "5 s" },
    };
    const a = acceptSessionJobGeneration(lastOf(running(s)), next, 2, running(s), now)!;
    expect(a.change).toBe("ignore");
    expect(a.status.reconciliationStatus?.operation).toBeUndefined();
    expect(a.status.reconciliationStatus?.state).toBe("DEPLOYED");
    expect(a.status.jobStatus?.jobId).toBe(OLD);
    expect(lastOf(a.status)?.generation).toBe(2);
  });

  it.each([
    ["savepoint", "savepoint", "savepoint"],
    ["stateless", "stateless", "cancel"],
    // A session cluster's HA metadata is not the job's: last-state keeps the state with a savepoint.
    ["last-state", "savepoint", "savepoint"],
  ] as const)(
    "stops the running job of an upgrade in %s mode as %s, first step %s",
    (mode, upgradeMode, step) => {
      const s = withJob(spec(), { upgradeMode: mode });
      const next = withJob(s, { parallelism: 2 });
      const a = acceptSessionJobGeneration(lastOf(running(s)), next, 2, running(s), now)!;
      expect(a.change).toBe("redeploy");
      expect(a.status.reconciliationStatus?.operation).toEqual({
        kind: "upgrade",
        upgradeMode,
        step,
        jobId: OLD,
        startedAt: now.getTime(),
      });
      expect(a.status.reconciliationStatus?.state).toBe("UPGRADING");
    },
  );

  it("restarts for restartNonce and for a change of the job's own Flink configuration", () => {
    const s = spec();
    for (const next of [
      { ...s, restartNonce: 1 },
      { ...s, flinkConfiguration: { "execution.checkpointing.interval": "5 s" } },
      withJob(s, { jarURI: "https://repo.example.com/jobs/job-2.jar" }),
    ])
      expect(acceptSessionJobGeneration(lastOf(running(s)), next, 2, running(s), now)!.change).toBe(
        "redeploy",
      );
  });

  it("suspends as a stop of its own, and resumes from what the stop kept under a new job id", () => {
    const s = withJob(spec(), { upgradeMode: "savepoint" });
    const suspend = acceptSessionJobGeneration(
      lastOf(running(s)),
      withJob(s, { state: "suspended" }),
      2,
      running(s),
      now,
    )!;
    expect(suspend.status.reconciliationStatus?.operation).toMatchObject({
      kind: "suspend",
      upgradeMode: "savepoint",
      step: "savepoint",
    });
    const stopped = structuredClone(suspend.status);
    stopped.reconciliationStatus!.operation!.restorePath = "file:///sp/savepoint-2";
    finishSessionOperation(stopped, withJob(s, { state: "suspended" }));
    expect(stopped.jobStatus?.state).toBe("SUSPENDED");
    expect(stopped.reconciliationStatus).toMatchObject({
      state: "DEPLOYED",
      restore: { upgradeMode: "savepoint", path: "file:///sp/savepoint-2" },
    });
    expect(stopped.reconciliationStatus?.operation).toBeUndefined();

    const resume = acceptSessionJobGeneration(lastOf(stopped), s, 3, stopped, now)!;
    expect(resume.change).toBe("resume");
    expect(resume.status.reconciliationStatus?.operation).toBeUndefined();
    expect(resume.status.reconciliationStatus).toMatchObject({
      state: "UPGRADING",
      restore: { upgradeMode: "savepoint", path: "file:///sp/savepoint-2" },
    });
    expect(resume.status.jobStatus?.jobId).toMatch(/^[0-9a-f]{32}$/);
    expect(resume.status.jobStatus?.jobId).not.toBe(OLD);
  });

  it("throws the state away for a new savepointRedeployNonce and starts from initialSavepointPath", () => {
    const s = withJob(spec(), { upgradeMode: "savepoint" });
    const next = withJob(s, { savepointRedeployNonce: 1, initialSavepointPath: "file:///sp/x" });
    const a = acceptSessionJobGeneration(lastOf(running(s)), next, 2, running(s), now)!;
    expect(a.status.reconciliationStatus?.operation).toMatchObject({
      kind: "redeploy",
      upgradeMode: "stateless",
      step: "cancel",
    });
    finishSessionOperation(a.status, next);
    expect(a.status.reconciliationStatus?.restore).toEqual({
      upgradeMode: "initial",
      path: "file:///sp/x",
    });
  });

  it("replaces a target whose run was never asked for without a stop, keeping what it would have restored", () => {
    const s = withJob(spec(), { upgradeMode: "savepoint", initialSavepointPath: "file:///sp/i" });
    const first = acceptSessionJobGeneration(undefined, s, 1, {}, now)!.status;
    const fixed = withJob(s, { jarURI: "https://repo.example.com/jobs/fixed.jar" });
    const a = acceptSessionJobGeneration(lastOf(first), fixed, 2, first, now)!;
    expect(a.status.reconciliationStatus?.operation).toBeUndefined();
    expect(a.status.reconciliationStatus).toMatchObject({
      state: "UPGRADING",
      restore: { upgradeMode: "initial", path: "file:///sp/i" },
    });
    // Once its run may have been asked for, a job with that id may exist: then the change stops it.
    const asked = structuredClone(first);
    asked.jobStatus!.state = "RECONCILING";
    const b = acceptSessionJobGeneration(lastOf(asked), fixed, 2, asked, now)!;
    expect(b.status.reconciliationStatus?.operation).toMatchObject({
      kind: "upgrade",
      jobId: first.jobStatus!.jobId,
    });
  });

  it("lets a stop in progress carry on and records the newer target only", () => {
    const s = withJob(spec(), { upgradeMode: "savepoint" });
    const first = acceptSessionJobGeneration(
      lastOf(running(s)),
      withJob(s, { parallelism: 2 }),
      2,
      running(s),
      now,
    )!;
    const op = first.status.reconciliationStatus?.operation;
    const second = acceptSessionJobGeneration(
      lastOf(first.status),
      withJob(s, { parallelism: 3 }),
      3,
      first.status,
      now,
    )!;
    expect(second.status.reconciliationStatus?.operation).toEqual(op);
    expect(lastOf(second.status)?.spec.job?.parallelism).toBe(3);
    expect(acceptSessionJobGeneration(lastOf(second.status), s, 3, second.status, now)).toBe(
      undefined,
    );
  });
});

describe("a session job's snapshots", () => {
  const settings = (conf: Record<string, string> = {}) => operatorSettings(conf);
  const withNonces = (sp?: number, cp?: number) =>
    withJob(spec(), { savepointTriggerNonce: sp, checkpointTriggerNonce: cp });

  it.each([["running"], ["suspended"]] as const)(
    "takes the nonces it is created with (%s) as the baseline, not as a request",
    state => {
      const created = withJob(withNonces(3, 7), { state });
      const st = acceptSessionJobGeneration(undefined, created, 1, {}, now)!.status;
      expect(st.jobStatus?.savepointInfo?.triggerNonce).toBe(3);
      expect(st.jobStatus?.checkpointInfo?.triggerNonce).toBe(7);
      expect(dueSnapshot(created, st, settings(), now.getTime())).toBeUndefined();
    },
  );

  it.each([
    ["savepointTriggerNonce", withNonces(4, 7), { kind: "savepoint", nonce: 4 }],
    ["checkpointTriggerNonce", withNonces(3, 8), { kind: "checkpoint", nonce: 8 }],
  ] as const)(
    "takes a snapshot for a new %s, with no stop, no resubmission and the same job id",
    (_, next, due) => {
      const before = running(withNonces(3, 7));
      before.jobStatus = {
        ...before.jobStatus,
        savepointInfo: { triggerNonce: 3 },
        checkpointInfo: { triggerNonce: 7 },
      };
      const a = acceptSessionJobGeneration(lastOf(before), next, 2, before, now)!;
      expect(a.change).toBe("ignore");
      expect(a.status.reconciliationStatus?.operation).toBeUndefined();
      expect(a.status.reconciliationStatus?.state).toBe("DEPLOYED");
      expect(a.status.reconciliationStatus?.restore).toEqual({ upgradeMode: "stateless" });
      expect(a.status.jobStatus).toMatchObject({ jobId: OLD, state: "RUNNING" });
      expect(dueSnapshot(next, a.status, settings(), now.getTime())).toEqual({
        ...due,
        triggerType: "MANUAL",
      });
    },
  );

  it("takes a periodic savepoint once its interval has passed since the submission", () => {
    const conf = settings({ "kubernetes.operator.periodic.savepoint.interval": "5 s" });
    const st = acceptSessionJobGeneration(undefined, spec(), 1, {}, now)!.status;
    expect(dueSnapshot(spec(), st, conf, now.getTime() + 4_999)).toBeUndefined();
    expect(dueSnapshot(spec(), st, conf, now.getTime() + 5_000)).toEqual({
      kind: "savepoint",
      triggerType: "PERIODIC",
    });
  });

  it("disposes of savepoints out of the history, never the one its job restored from or a stop kept", () => {
    const st = running(spec());
    st.reconciliationStatus!.restore = { upgradeMode: "savepoint", path: "r" };
    st.jobStatus = { ...st.jobStatus, upgradeSavepointPath: "u" };
    const before = ["a", "r", "u", "b"].map(location => ({ location }));
    expect(disposable(before, [{ location: "b" }], st)).toEqual(["a"]);
  });
});

describe("the end of a session job's stop", () => {
  it("submits the target from the savepoint under a new id and forgets the old job's checkpoint", () => {
    const s = withJob(spec(), { upgradeMode: "savepoint" });
    const st: FlinkSessionJobStatus = {
      ...running(s),
      jobStatus: {
        jobId: OLD,
        state: "FINISHED",
        checkpointInfo: { latestCompletedPath: "file:///cp/a/chk-3" },
      },
    };
    st.reconciliationStatus!.operation = {
      kind: "upgrade",
      upgradeMode: "savepoint",
      step: "cancel",
      jobId: OLD,
      startedAt: 1,
      restorePath: "file:///sp/savepoint-3",
    };
    finishSessionOperation(st, s);
    expect(st.reconciliationStatus).toMatchObject({
      state: "UPGRADING",
      restore: { upgradeMode: "savepoint", path: "file:///sp/savepoint-3" },
    });
    expect(st.reconciliationStatus?.operation).toBeUndefined();
    expect(st.jobStatus?.jobId).not.toBe(OLD);
    expect(st.jobStatus?.state).toBeUndefined();
    expect(st.jobStatus?.checkpointInfo?.latestCompletedPath).toBeUndefined();
  });

  it("ends a deletion's stop with nothing to submit", () => {
    const st = running(spec());
    st.reconciliationStatus!.operation = {
      kind: "delete",
      upgradeMode: "stateless",
      step: "cancel",
      jobId: OLD,
      startedAt: 1,
    };
    finishSessionOperation(st, spec());
    expect(st.reconciliationStatus?.operation).toBeUndefined();
    expect(st.reconciliationStatus?.state).toBe("DEPLOYED");
    expect(st.jobStatus?.jobId).toBe(OLD);
  });
});

const overview = (jid: string, state: string, start: number): JobOverview => ({
  jid,
  name: `job ${jid.slice(0, 4)}`,
  state,
  "start-time": start,
  "end-time": -1,
  "last-modification": start + 5,
});

describe("observing a session job", () => {
  it("finds its own job by id, and never another job of the session", () => {
    const jobs = [overview("b".repeat(32), "RUNNING", 200), overview(OLD, "RESTARTING", 100)];
    expect(observedJob(jobs, OLD)).toEqual({
      jobId: OLD,
      jobName: "job aaaa",
      state: "RESTARTING",
      startTime: "100",
      updateTime: "105",
    });
    expect(observedJob(jobs, "c".repeat(32))).toBeUndefined();
    expect(observedJob(jobs, undefined)).toBeUndefined();
  });

  it("brings a job its session lost back from its latest observed checkpoint, else from what it started from", () => {
    const st = running(spec());
    st.reconciliationStatus!.restore = { upgradeMode: "savepoint", path: "file:///sp/s1" };
    expect(lostJobRestore(st)).toEqual({ upgradeMode: "savepoint", path: "file:///sp/s1" });
    st.jobStatus!.checkpointInfo = { latestCompletedPath: "file:///cp/a/chk-9" };
    expect(lostJobRestore(st)).toEqual({ upgradeMode: "savepoint", path: "file:///cp/a/chk-9" });
    expect(lostJobRestore({})).toEqual({ upgradeMode: "stateless" });
  });

  it("submits a lost job again only without session HA, and only after the grace period", () => {
    expect(lostJobAction({ sessionHa: true, missingForMs: 1e9, graceMs: 10 })).toBe("wait");
    expect(lostJobAction({ sessionHa: false, missingForMs: 9, graceMs: 10 })).toBe("wait");
    expect(lostJobAction({ sessionHa: false, missingForMs: 10, graceMs: 10 })).toBe("resubmit");
  });
});

describe("a session job's status conditions", () => {
  it("is Ready and STABLE only once its job runs the current spec", () => {
    const st = running(spec());
    finishSessionJobStatus(st, spec(), undefined, now);
    expect(st.conditions?.map(c => [c.type, c.status, c.reason])).toEqual([
      ["Ready", "True", "Ready"],
      ["Running", "True", "JobRUNNING"],
    ]);
    expect(st.lifecycleState).toBe("STABLE");

    const submitting = acceptSessionJobGeneration(undefined, spec(), 1, {}, now)!.status;
    finishSessionJobStatus(submitting, spec(), undefined, now);
    expect(submitting.conditions?.map(c => [c.type, c.status, c.reason])).toEqual([
      ["Ready", "False", "Submitting"],
      ["Running", "Unknown", "JobStatusUnknown"],
    ]);
    expect(submitting.lifecycleState).toBe("UPGRADING");
  });

  it("says when the session does not know the job, and why", () => {
    const st = running(spec());
    const blocked = { reason: "JobNotFound", message: "job x is not in the session cluster" };
    finishSessionJobStatus(st, spec(), blocked, now);
    expect(st.conditions?.find(c => c.type === "Running")).toMatchObject({
      status: "False",
      reason: "JobNotFound",
      message: blocked.message,
      lastTransitionTime: now.toISOString(),
    });
  });
});

describe("what a submission sends", () => {
  it("uploads under a name that starts with the job id and ends in .jar", () => {
    expect(uploadName(OLD, "https://h/jobs/top%20speed.jar?token=x")).toBe(`${OLD}_top_speed.jar`);
    expect(uploadName(OLD, "https://h/download")).toBe(`${OLD}_download.jar`);
    expect(uploadName(OLD, "https://h/")).toBe(`${OLD}_job.jar`);
  });

  it("sends the job's own configuration, not the operator's or the cluster's keys", () => {
    expect(
      jobConfiguration({
        ...spec(),
        flinkConfiguration: {
          "execution.checkpointing.interval": "5 s",
          "pipeline.name": "n",
          "kubernetes.operator.job.savepoint-on-deletion": "true",
          "job.autoscaler.enabled": "true",
          "taskmanager.numberOfTaskSlots": "4",
          "high-availability.type": "kubernetes",
        },
      }),
    ).toEqual({ "execution.checkpointing.interval": "5 s", "pipeline.name": "n" });
  });
});
