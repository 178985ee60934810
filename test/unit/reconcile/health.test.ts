import { describe, expect, it } from "vitest";
import { evaluateHealth, healthLimits, type HealthLimits } from "../../../lib/reconcile/health";
import { operatorSettings } from "../../../lib/settings";

const job = "c".repeat(32);
const limits: HealthLimits = {
  restartsThreshold: 3,
  restartsWindowMs: 120_000,
  checkpointWindowMs: 60_000,
};
const s = (seconds: number) => seconds * 1000;

/** Feeds looks [seconds, restarts, checkpoints] one after the other; returns each verdict. */
function run(looks: [number, number, number | undefined][], l = limits) {
  let baseline;
  const verdicts: (string | undefined)[] = [];
  for (const [at, restarts, checkpoints] of looks) {
    const r = evaluateHealth(baseline, { jobId: job, restarts, checkpoints }, l, s(at));
    baseline = r.baseline;
    verdicts.push(r.unhealthy);
  }
  return verdicts;
}

describe("the cluster health check", () => {
  it("finds a job unhealthy when it restarts more than the threshold within the window", () => {
    const verdicts = run([
      [0, 10, 1],
      [30, 12, 2],
      [60, 14, 3],
    ]);
    expect(verdicts.slice(0, 2)).toEqual([undefined, undefined]);
    expect(verdicts[2]).toMatch(/restarted 4 times in 60 s .*threshold 3/);
  });

  it("does not add up restarts across windows", () => {
    expect(
      run([
        [0, 0, 1],
        [121, 3, 2],
        [200, 5, 3],
        [250, 6, 4],
      ]),
    ).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("finds a job unhealthy when no checkpoint completes within the checkpoint window, and not before", () => {
    const verdicts = run([
      [0, 0, 5],
      [30, 0, 6],
      [80, 0, 6],
      [91, 0, 6],
    ]);
    expect(verdicts.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect(verdicts[3]).toMatch(/completed no checkpoint in 61 s/);
  });

  it("starts again from a new job's first look", () => {
    const first = evaluateHealth(
      undefined,
      { jobId: job, restarts: 50, checkpoints: 0 },
      limits,
      0,
    );
    const other = evaluateHealth(
      first.baseline,
      { jobId: "d".repeat(32), restarts: 0, checkpoints: 0 },
      limits,
      s(500),
    );
    expect(other.unhealthy).toBeUndefined();
    expect(other.baseline).toMatchObject({ jobId: "d".repeat(32), restartsSince: s(500) });
  });

  it("derives the checkpoint window as the reference does, and checks nothing without checkpointing", () => {
    const settings = operatorSettings({});
    expect(healthLimits(settings, {})).toEqual({
      restartsThreshold: 64,
      restartsWindowMs: 120_000,
    });
    // max(interval, timeout) * (tolerable failures + 2)
    expect(
      healthLimits(settings, {
        "execution.checkpointing.interval": "2 s",
        "execution.checkpointing.timeout": "30 s",
        "execution.checkpointing.tolerable-failed-checkpoints": "1",
      }).checkpointWindowMs,
    ).toBe(90_000);
    const configured = operatorSettings({
      "kubernetes.operator.cluster.health-check.checkpoint-progress.window": "10 min",
    });
    expect(
      healthLimits(configured, { "execution.checkpointing.interval": "2 s" }).checkpointWindowMs,
    ).toBe(1_200_000); // the default timeout of 10 min makes the minimum 20 min
    const off = operatorSettings({
      "kubernetes.operator.cluster.health-check.checkpoint-progress.enabled": "false",
    });
    expect(
      healthLimits(off, { "execution.checkpointing.interval": "2 s" }).checkpointWindowMs,
    ).toBeUndefined();
  });
});
