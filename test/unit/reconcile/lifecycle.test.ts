import { describe, expect, it } from "vitest";
import { parseReconciledSpec, serializeReconciledSpec } from "../../../lib/api/reconciled-spec";
import type { FlinkDeploymentSpec } from "../../../lib/api/spec";
import type { FlinkDeploymentStatus } from "../../../lib/api/status";
import { classifySpecChange } from "../../../lib/reconcile/changes";
import {
  acceptGeneration,
  failedJobRestart,
  finishOperation,
  haJobGraphKeys,
  hasHaCheckpoint,
  recordSavepoint,
  savepointFallback,
} from "../../../lib/reconcile/lifecycle";
import { isHaConfigMapName } from "../../../lib/reconcile/kube";
import { dueSnapshot, disposable } from "../../../lib/reconcile/snapshots";
import { operatorSettings } from "../../../lib/settings";
import { application } from "../validation/fixtures";

const now = new Date("2026-12-02T10:00:00Z");
const spec = (): FlinkDeploymentSpec => application().spec;
const withJob = (
  s: FlinkDeploymentSpec,
  job: Partial<NonNullable<FlinkDeploymentSpec["job"]>>,
) => ({
  ...s,
  job: { ...s.job!, ...job },
});

/** Status of a cluster deployed from `s` at generation 1 whose job runs under id `jobId`. */
function running(s: FlinkDeploymentSpec, jobId = "a".repeat(32)): FlinkDeploymentStatus {
  return {
    jobStatus: { jobId, state: "RUNNING" },
    reconciliationStatus: {
      lastReconciledSpec: serializeReconciledSpec({ spec: s, generation: 1 }),
      state: "DEPLOYED",
    },
  };
}
const lastOf = (st: FlinkDeploymentStatus) =>
  parseReconciledSpec<FlinkDeploymentSpec>(st.reconciliationStatus?.lastReconciledSpec);

describe("spec change classification: the reference's table, with suspend and resume", () => {
  it.each([
    ["savepointTriggerNonce", { savepointTriggerNonce: 3 }],
    ["checkpointTriggerNonce", { checkpointTriggerNonce: 3 }],
    ["upgradeMode", { upgradeMode: "last-state" as const }],
    ["initialSavepointPath", { initialSavepointPath: "file:///sp/x" }],
    ["allowNonRestoredState", { allowNonRestoredState: true }],
  ])("ignores a change of job.%s alone", (_, job) => {
    expect(classifySpecChange(spec(), withJob(spec(), job))).toBe("ignore");
  });

  it("makes suspend and resume kinds of their own, and records edits while suspended only", () => {
    const suspended = withJob(spec(), { state: "suspended" });
    expect(classifySpecChange(spec(), suspended)).toBe("suspend");
    expect(classifySpecChange(suspended, spec())).toBe("resume");
    expect(classifySpecChange(suspended, { ...suspended, image: "flink:2.3" })).toBe("ignore");
  });

  it("redeploys for restartNonce, job fields Flink reads, and a new savepointRedeployNonce", () => {
    expect(classifySpecChange(spec(), { ...spec(), restartNonce: 1 })).toBe("redeploy");
    expect(classifySpecChange(spec(), withJob(spec(), { parallelism: 4 }))).toBe("redeploy");
    expect(classifySpecChange(spec(), withJob(spec(), { savepointRedeployNonce: 1 }))).toBe(
      "savepoint-redeploy",
    );
  });

  it("applies an ingress change in place", () => {
    expect(
      classifySpecChange(spec(), { ...spec(), ingress: { template: "{{name}}.example.com" } }),
    ).toBe("in-place");
  });
});

describe("taking a new generation as the target", () => {
  it("deploys nothing for a first spec that is suspended", () => {
    const a = acceptGeneration(undefined, withJob(spec(), { state: "suspended" }), 1, {}, now)!;
    expect(a.status.reconciliationStatus?.state).toBe("DEPLOYED");
    expect(a.status.reconciliationStatus?.operation).toBeUndefined();
    expect(a.status.jobStatus?.state).toBe("SUSPENDED");
  });

  it("starts a first deploy from initialSavepointPath, with a new job id", () => {
    const a = acceptGeneration(
      undefined,
      withJob(spec(), { initialSavepointPath: "file:///sp/savepoint-1" }),
      1,
      {},
      now,
    )!;
    expect(a.status.reconciliationStatus?.restore).toEqual({
      upgradeMode: "initial",
      path: "file:///sp/savepoint-1",
    });
    expect(a.status.jobStatus?.jobId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.status.reconciliationStatus?.state).toBe("UPGRADING");
  });

  it("records a savepoint stop of the running job before anything changes", () => {
    const s = spec();
    const a = acceptGeneration(
      lastOf(running(s)),
      withJob(s, { parallelism: 4 }),
      2,
      running(s),
      now,
    )!;
    expect(a.status.reconciliationStatus?.operation).toEqual({
      kind: "upgrade",
      upgradeMode: "savepoint",
      step: "savepoint",
      jobId: "a".repeat(32),
      startedAt: now.getTime(),
    });
    expect(lastOf(a.status)?.generation).toBe(2);
    // The job id changes only once the stop is over.
    expect(a.status.jobStatus?.jobId).toBe("a".repeat(32));
  });

  it("suspends with the job's upgrade mode, and stops stateless and last-state jobs without a savepoint", () => {
    const s = withJob(spec(), { upgradeMode: "last-state" });
    const a = acceptGeneration(
      lastOf(running(s)),
      withJob(s, { state: "suspended" }),
      2,
      running(s),
      now,
    )!;
    expect(a.status.reconciliationStatus?.operation).toMatchObject({
      kind: "suspend",
      upgradeMode: "last-state",
      step: "stop-cluster",
    });
  });

  it("takes a savepoint instead of last-state when the Flink version changes", () => {
    const s = withJob(spec(), { upgradeMode: "last-state" });
    const next = { ...s, flinkVersion: "v2_3" as const, image: "flink:2.3" };
    const a = acceptGeneration(lastOf(running(s)), next, 2, running(s), now)!;
    expect(a.status.reconciliationStatus?.operation?.upgradeMode).toBe("savepoint");
  });

  it("lets a stop in progress carry on when yet another generation comes", () => {
    const s = spec();
    const first = acceptGeneration(
      lastOf(running(s)),
      withJob(s, { parallelism: 4 }),
      2,
      running(s),
      now,
    )!;
    const op = first.status.reconciliationStatus!.operation;
    const second = acceptGeneration(
      lastOf(first.status),
      withJob(s, { parallelism: 6 }),
      3,
      first.status,
      now,
    )!;
    expect(second.status.reconciliationStatus?.operation).toEqual(op);
    expect(lastOf(second.status)?.spec.job?.parallelism).toBe(6);
  });

  it("resumes from what the suspend kept", () => {
    const s = withJob(spec(), { state: "suspended" });
    const status: FlinkDeploymentStatus = {
      jobStatus: { jobId: "b".repeat(32), state: "SUSPENDED" },
      reconciliationStatus: {
        lastReconciledSpec: serializeReconciledSpec({ spec: s, generation: 2 }),
        state: "DEPLOYED",
        restore: { upgradeMode: "savepoint", path: "file:///sp/savepoint-2" },
      },
    };
    const a = acceptGeneration(lastOf(status), withJob(s, { state: "running" }), 3, status, now)!;
    expect(a.status.reconciliationStatus?.operation).toBeUndefined();
    expect(a.status.reconciliationStatus?.state).toBe("UPGRADING");
    expect(a.status.reconciliationStatus?.restore?.path).toBe("file:///sp/savepoint-2");
    expect(a.status.jobStatus?.jobId).not.toBe("b".repeat(32));
  });

  it("says nothing for the generation already on record", () => {
    const s = spec();
    expect(
      acceptGeneration(lastOf(running(s)), withJob(s, { parallelism: 3 }), 1, running(s), now),
    ).toBeUndefined();
  });
});

describe("the end of a stop", () => {
  const stopped = (upgradeMode: "savepoint" | "last-state" | "stateless", target = spec()) => {
    const status = running(target);
    status.reconciliationStatus!.operation = {
      kind: "upgrade",
      upgradeMode,
      step: "clear-ha",
      jobId: "a".repeat(32),
      startedAt: 0,
      restorePath: upgradeMode === "savepoint" ? "file:///sp/savepoint-9" : undefined,
    };
    finishOperation(status, target, new Date(5000));
    return status;
  };

  it("deploys a savepoint stop's target under a new job id from the savepoint", () => {
    const st = stopped("savepoint");
    expect(st.reconciliationStatus?.operation).toBeUndefined();
    expect(st.reconciliationStatus?.restore).toEqual({
      upgradeMode: "savepoint",
      path: "file:///sp/savepoint-9",
    });
    expect(st.jobStatus?.jobId).not.toBe("a".repeat(32));
  });

  it("keeps the job id for last-state, so the new JobManager finds the job's HA metadata", () => {
    const st = stopped("last-state");
    expect(st.reconciliationStatus?.restore).toEqual({ upgradeMode: "last-state" });
    expect(st.jobStatus?.jobId).toBe("a".repeat(32));
  });

  it("leaves a suspended target suspended, with the kept state on record for the resume", () => {
    const st = stopped("savepoint", withJob(spec(), { state: "suspended" }));
    expect(st.reconciliationStatus?.state).toBe("DEPLOYED");
    expect(st.jobStatus?.state).toBe("SUSPENDED");
    expect(st.reconciliationStatus?.restore?.path).toBe("file:///sp/savepoint-9");
  });
});

describe("a savepoint that cannot be taken", () => {
  const base = { why: "job x is FAILED", lastStateFallback: true, restore: undefined };

  it("falls back to last-state when HA metadata has a checkpoint and the fallback is allowed", () => {
    expect(savepointFallback({ ...base, job: { state: "FAILED" }, ha: true })).toMatchObject({
      to: "last-state",
    });
  });

  it("restores from the latest checkpoint Flink reports when there is no HA metadata", () => {
    expect(
      savepointFallback({
        ...base,
        job: { state: "FAILED" },
        ha: false,
        latestCheckpoint: "file:///c/chk-7",
      }),
    ).toMatchObject({ to: "checkpoint", path: "file:///c/chk-7" });
  });

  it("restarts a job never seen running from what its deploy restored", () => {
    expect(savepointFallback({ ...base, job: {}, ha: false })).toMatchObject({
      to: "restore-again",
    });
  });

  it("keeps the running cluster rather than lose state", () => {
    const d = savepointFallback({
      ...base,
      job: { state: "FAILED" },
      ha: true,
      lastStateFallback: false,
    });
    expect(d).toMatchObject({ blocked: expect.stringContaining("the running cluster is kept") });
  });
});

describe("Flink's HA ConfigMaps", () => {
  const cm = (data: Record<string, string>) => ({ metadata: { name: "x" }, data });

  it("finds a completed checkpoint, and the job graph keys a last-state upgrade removes (1.x and 2.x)", () => {
    expect(
      hasHaCheckpoint([cm({ counter: "3" }), cm({ "checkpointID-0000000000000000007": "x" })]),
    ).toBe(true);
    expect(hasHaCheckpoint([cm({ counter: "3" })])).toBe(false);
    expect(
      haJobGraphKeys(
        cm({ "jobGraph-abc": "1", "executionPlan-def": "2", "checkpointID-1": "3", leader: "4" }),
      ),
    ).toEqual(["jobGraph-abc", "executionPlan-def"]);
  });
});

describe("savepoint history", () => {
  it("keeps the newest max.count within max.age and makes the new one the last", () => {
    const info = {
      savepointHistory: [
        { location: "old", timeStamp: 0 },
        { location: "a", timeStamp: 900 },
        { location: "b", timeStamp: 950 },
      ],
    };
    const r = recordSavepoint(
      info,
      { location: "c", timeStamp: 1000 },
      { maxCount: 2, maxAgeMs: 500, now: 1000 },
    );
    expect(r.savepointHistory?.map(s => s.location)).toEqual(["b", "c"]);
    expect(r.lastSavepoint?.location).toBe("c");
  });
});

describe("savepoints and checkpoints on demand and on a schedule", () => {
  const settings = (conf: Record<string, string> = {}) => operatorSettings(conf);
  const withNonces = (sp?: number, cp?: number) =>
    withJob(spec(), { savepointTriggerNonce: sp, checkpointTriggerNonce: cp });

  it("takes the nonces a resource is deployed with as the baseline, not as a request", () => {
    const first = acceptGeneration(undefined, withNonces(0, 5), 1, {}, now)!.status;
    expect(dueSnapshot(withNonces(0, 5), first, settings(), now.getTime())).toBeUndefined();
    expect(dueSnapshot(withNonces(1, 5), first, settings(), now.getTime())).toEqual({
      kind: "savepoint",
      triggerType: "MANUAL",
      nonce: 1,
    });
    expect(dueSnapshot(withNonces(0, 6), first, settings(), now.getTime())).toMatchObject({
      kind: "checkpoint",
      nonce: 6,
    });
  });

  it("takes the nonces a resource is created suspended with as the baseline too", () => {
    const created = withJob(withNonces(2, 5), { state: "suspended" });
    const st = acceptGeneration(undefined, created, 1, {}, now)!.status;
    expect(st.jobStatus?.state).toBe("SUSPENDED");
    expect(dueSnapshot(withNonces(2, 5), st, settings(), now.getTime())).toBeUndefined();
  });

  it("acts on a nonce once, even when its savepoint failed, and never while a trigger is pending", () => {
    const st: FlinkDeploymentStatus = { jobStatus: { savepointInfo: { triggerNonce: 1 } } };
    expect(dueSnapshot(withNonces(1), st, settings(), 0)).toBeUndefined();
    const pending: FlinkDeploymentStatus = {
      jobStatus: { savepointInfo: { triggerNonce: 1, triggerId: "t" } },
    };
    expect(dueSnapshot(withNonces(2), pending, settings(), 0)).toBeUndefined();
  });

  it("takes a periodic savepoint once the interval has passed since the last one or the deploy", () => {
    const conf = settings({ "kubernetes.operator.periodic.savepoint.interval": "10 min" });
    const st: FlinkDeploymentStatus = {
      reconciliationStatus: { reconciliationTimestamp: 0 },
      jobStatus: { savepointInfo: {} },
    };
    expect(dueSnapshot(spec(), st, conf, 9 * 60_000)).toBeUndefined();
    expect(dueSnapshot(spec(), st, conf, 10 * 60_000)).toEqual({
      kind: "savepoint",
      triggerType: "PERIODIC",
    });
    st.jobStatus!.savepointInfo!.lastPeriodicSavepointTimestamp = 10 * 60_000;
    expect(dueSnapshot(spec(), st, conf, 15 * 60_000)).toBeUndefined();
    // Cron expressions are warned about at admission and take no snapshots.
    const cron = settings({ "kubernetes.operator.periodic.savepoint.interval": "0 0 * * * ?" });
    expect(dueSnapshot(spec(), st, cron, 10 ** 12)).toBeUndefined();
  });

  it("disposes of savepoints that left the history, never of one a job restores from", () => {
    const st: FlinkDeploymentStatus = {
      jobStatus: { upgradeSavepointPath: "u" },
      reconciliationStatus: { restore: { upgradeMode: "savepoint", path: "r" } },
    };
    const before = ["a", "u", "r", "b"].map(location => ({ location }));
    expect(disposable(before, [{ location: "b" }], st)).toEqual(["a"]);
  });
});

describe("Flink's HA ConfigMaps by name (Flink 2.x no longer labels them configmap-type=high-availability)", () => {
  it("knows the cluster's and each job's ConfigMap, and not the operator's own", () => {
    expect(isHaConfigMapName("ls-cluster-config-map", "ls")).toBe(true);
    expect(isHaConfigMapName("ls-84fe4e637300aeafa3dede26e0f85fd9-config-map", "ls")).toBe(true);
    expect(isHaConfigMapName("flink-config-ls", "ls")).toBe(false);
    expect(isHaConfigMapName("pod-template-ls", "ls")).toBe(false);
    expect(isHaConfigMapName("ls-2-cluster-config-map", "ls")).toBe(false);
  });
});

describe("restart of a failed job (kubernetes.operator.job.restart.failed)", () => {
  const failed: FlinkDeploymentStatus = { jobStatus: { jobId: "c".repeat(32), state: "FAILED" } };

  it("stops a FAILED job the way its upgrade mode keeps state, only when enabled", () => {
    expect(failedJobRestart(spec(), failed, true, now)).toEqual({
      kind: "restart",
      upgradeMode: "savepoint",
      step: "savepoint",
      jobId: "c".repeat(32),
      startedAt: now.getTime(),
    });
    expect(failedJobRestart(spec(), failed, false, now)).toBeUndefined();
    expect(
      failedJobRestart(spec(), { jobStatus: { state: "RUNNING" } }, true, now),
    ).toBeUndefined();
  });
});
