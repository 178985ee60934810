import { describe, expect, it } from "vitest";
import { serializeReconciledSpec } from "../../../lib/api/reconciled-spec";
import type { FlinkDeploymentSpec } from "../../../lib/api/spec";
import type { FlinkDeploymentStatus } from "../../../lib/api/status";
import { acceptGeneration, deployedSpec, finishOperation } from "../../../lib/reconcile/lifecycle";
import { rollbackDue, rollbackOperation } from "../../../lib/reconcile/rollback";
import { finishStatus } from "../../../lib/reconcile/status";
import { application } from "../validation/fixtures";

const deployedAt = Date.parse("2026-12-02T10:00:00Z");
const at = (seconds: number) => new Date(deployedAt + seconds * 1000);
const stableSpec = (): FlinkDeploymentSpec => ({
  ...application().spec,
  job: { ...application().spec.job!, upgradeMode: "savepoint" },
});
const upgraded = (): FlinkDeploymentSpec => ({ ...stableSpec(), image: "flink:no-such-tag" });

/** Generation 2 (`upgraded`) deployed from a savepoint after generation 1 (`stableSpec`) was stable. */
function afterUpgrade(): FlinkDeploymentStatus {
  return {
    jobManagerDeploymentStatus: "DEPLOYING",
    jobStatus: { jobId: "b".repeat(32) },
    reconciliationStatus: {
      lastReconciledSpec: serializeReconciledSpec({ spec: upgraded(), generation: 2 }),
      lastStableSpec: serializeReconciledSpec({ spec: stableSpec(), generation: 1 }),
      state: "DEPLOYED",
      reconciliationTimestamp: deployedAt,
      restore: { upgradeMode: "savepoint", path: "file:///sp/savepoint-1" },
    },
  };
}
const due = (status: FlinkDeploymentStatus, seconds: number, enabled = true) =>
  rollbackDue({ spec: upgraded(), status, enabled, timeoutMs: 60_000, now: at(seconds) });

describe("rollback of an upgrade that does not become stable", () => {
  it("is due only once deployment.readiness.timeout has passed since the deploy, and only when enabled", () => {
    expect(due(afterUpgrade(), 59)).toBeUndefined();
    expect(due(afterUpgrade(), 61, false)).toBeUndefined();
    expect(due(afterUpgrade(), 61)).toMatch(
      /generation 2 is not stable 60 s after its deploy .*JobManager DEPLOYING.*rolling back to generation 1/,
    );
  });

  it("is not due for a stable cluster, during an operation, without a stable spec, or while suspended", () => {
    const stable = afterUpgrade();
    stable.jobManagerDeploymentStatus = "READY";
    stable.jobStatus!.state = "RUNNING";
    expect(due(stable, 600)).toBeUndefined();
    const bounded = afterUpgrade();
    bounded.jobManagerDeploymentStatus = "READY";
    bounded.jobStatus!.state = "FINISHED";
    expect(due(bounded, 600)).toBeUndefined();
    const busy = afterUpgrade();
    busy.reconciliationStatus!.operation = {
      kind: "upgrade",
      upgradeMode: "savepoint",
      step: "savepoint",
      startedAt: deployedAt,
    };
    expect(due(busy, 600)).toBeUndefined();
    const first = afterUpgrade();
    delete first.reconciliationStatus!.lastStableSpec;
    expect(due(first, 600)).toBeUndefined();
    const readyButFailed = afterUpgrade();
    readyButFailed.jobManagerDeploymentStatus = "READY";
    readyButFailed.jobStatus!.state = "FAILED";
    expect(due(readyButFailed, 600)).toMatch(/job FAILED/);
    expect(
      rollbackDue({
        spec: { ...upgraded(), job: { ...upgraded().job!, state: "suspended" } },
        status: afterUpgrade(),
        enabled: true,
        timeoutMs: 60_000,
        now: at(600),
      }),
    ).toBeUndefined();
  });

  it("is not due for a job resumed after a suspend: the suspended spec was the last stable one", () => {
    const status = afterUpgrade();
    const suspended = {
      ...stableSpec(),
      job: { ...stableSpec().job!, state: "suspended" as const },
    };
    status.reconciliationStatus!.lastReconciledSpec = serializeReconciledSpec({
      spec: suspended,
      generation: 1,
    });
    status.jobManagerDeploymentStatus = "MISSING";
    status.jobStatus = { state: "SUSPENDED" };
    finishStatus(status, suspended, undefined, undefined, at(0));
    expect(status.reconciliationStatus!.lastStableSpec).toBe(
      status.reconciliationStatus!.lastReconciledSpec,
    );
    status.reconciliationStatus!.lastReconciledSpec = serializeReconciledSpec({
      spec: upgraded(),
      generation: 2,
    });
    status.jobManagerDeploymentStatus = "DEPLOYING";
    status.jobStatus = { jobId: "b".repeat(32) };
    expect(due(status, 600)).toBeUndefined();
  });

  it("keeps the job's state: HA metadata when it holds a checkpoint, else what the failed deploy restored", () => {
    expect(rollbackOperation(upgraded(), afterUpgrade(), true, at(61))).toMatchObject({
      kind: "rollback",
      upgradeMode: "last-state",
      step: "stop-cluster",
    });
    expect(rollbackOperation(upgraded(), afterUpgrade(), false, at(61))).toMatchObject({
      kind: "rollback",
      upgradeMode: "savepoint",
      step: "stop-cluster",
      restorePath: "file:///sp/savepoint-1",
    });
    const stateless = {
      ...upgraded(),
      job: { ...upgraded().job!, upgradeMode: "stateless" as const },
    };
    expect(rollbackOperation(stateless, afterUpgrade(), true, at(61)).upgradeMode).toBe(
      "stateless",
    );
  });

  it("deploys the last stable spec from the kept state and stays ROLLED_BACK until the spec changes", () => {
    const status = afterUpgrade();
    status.reconciliationStatus = {
      ...status.reconciliationStatus,
      state: "ROLLING_BACK",
      operation: rollbackOperation(upgraded(), status, false, at(61)),
    };
    expect(deployedSpec(status)?.spec.image).toBe(stableSpec().image);
    finishOperation(status, deployedSpec(status)!.spec, at(90));
    expect(status.reconciliationStatus).toMatchObject({
      state: "ROLLING_BACK",
      restore: { upgradeMode: "savepoint", path: "file:///sp/savepoint-1" },
      reconciliationTimestamp: at(90).getTime(),
    });
    expect(status.jobStatus?.jobId).not.toBe("b".repeat(32));

    // The cluster-sync pass applied it: ROLLED_BACK, Ready, and lastStableSpec untouched.
    status.reconciliationStatus!.state = "ROLLED_BACK";
    status.jobManagerDeploymentStatus = "READY";
    status.jobStatus = { ...status.jobStatus, state: "RUNNING" };
    const stableBefore = status.reconciliationStatus!.lastStableSpec;
    finishStatus(status, stableSpec(), undefined, undefined, at(100));
    expect(status.lifecycleState).toBe("ROLLED_BACK");
    expect(status.reconciliationStatus!.lastStableSpec).toBe(stableBefore);
    expect(status.conditions?.find(c => c.type === "Ready")).toMatchObject({
      status: "True",
      reason: "RolledBack",
    });

    // The same failed generation is not tried again; a new one is compared with what runs.
    const last = { spec: upgraded(), generation: 2 };
    expect(acceptGeneration(last, upgraded(), 2, status, at(120))).toBeUndefined();
    const fixed = { ...stableSpec(), parallelism: 2 };
    const next = acceptGeneration(last, fixed, 3, status, at(120))!;
    expect(next.change).toBe("redeploy");
    expect(next.status.reconciliationStatus).toMatchObject({
      state: "UPGRADING",
      operation: { kind: "upgrade", upgradeMode: "savepoint", step: "savepoint" },
    });
    // Going back to the stable spec itself needs no restart.
    const back = acceptGeneration(last, stableSpec(), 3, status, at(120))!;
    expect(back.status.reconciliationStatus?.state).toBe("DEPLOYED");
    expect(back.status.reconciliationStatus?.operation).toBeUndefined();
    expect(deployedSpec(back.status)?.generation).toBe(3);
  });
});
