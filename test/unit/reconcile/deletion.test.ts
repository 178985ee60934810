import { describe, expect, it } from "vitest";
import { DeadlineExceeded, deletionDeadline, within } from "../../../lib/reconcile/deletion";
import { retryDelayMs } from "../../../lib/reconcile/queue";
import { operatorSettings } from "../../../lib/settings";

describe("deletion deadline", () => {
  it("is resource.cleanup.timeout after the deletion was asked for, the resource's own setting first", () => {
    const dep = (conf?: Record<string, string>) => ({
      metadata: { name: "a", namespace: "ns", deletionTimestamp: "2026-01-01T00:00:00Z" as never },
      spec: { flinkConfiguration: conf },
    });
    const at = Date.parse("2026-01-01T00:00:00Z");
    expect(deletionDeadline(dep() as never, operatorSettings())).toBe(at + 5 * 60_000);
    const own = { "kubernetes.operator.resource.cleanup.timeout": "10 s" };
    expect(deletionDeadline(dep(own) as never, operatorSettings({}, own))).toBe(at + 10_000);
  });

  it("retries a failed clean-up after as long as the deletion has taken, within bounds, the last try at the deadline", () => {
    const delays: number[] = [];
    const deadline = 300_000;
    for (let t = 0; t < deadline; ) {
      const d = retryDelayMs(t, deadline - t, 5_000, 120_000);
      delays.push(d);
      t += d;
    }
    expect(delays).toEqual([5_000, 5_000, 10_000, 20_000, 40_000, 80_000, 120_000, 20_000]);
    expect(delays.reduce((a, b) => a + b)).toBe(deadline);
    expect(retryDelayMs(400_000, -100_000, 5_000, 120_000)).toBe(0);
  });

  it("bounds a call that does not answer, and passes on what a call that answers gives", async () => {
    const never = new Promise<never>(() => undefined);
    const started = Date.now();
    await expect(within(50, "namespace lookup", never)).rejects.toBeInstanceOf(DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(within(-5, "x", never)).rejects.toThrow("x: no answer within 0 ms");
    await expect(within(1_000, "x", Promise.resolve(7))).resolves.toBe(7);
    await expect(within(1_000, "x", Promise.reject(new Error("403")))).rejects.toThrow("403");
  });
});
