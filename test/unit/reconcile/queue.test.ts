import { afterEach, describe, expect, it, vi } from "vitest";
import { ReconcileQueue } from "../../../lib/reconcile/queue";

const opts = {
  concurrency: 2,
  initialBackoffMs: 100,
  maxBackoffMs: 1000,
  backoffMultiplier: 2,
  random: () => 0,
};

describe("reconcile queue", () => {
  afterEach(() => vi.useRealTimers());

  it("runs one key at a time and once more when it was added while running", async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>(r => (release = r));
    const q = new ReconcileQueue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs++;
      if (runs === 1) await gate;
      running--;
      return {};
    }, opts);
    q.add("ns/a");
    q.add("ns/a");
    q.add("ns/a");
    release();
    await new Promise(r => setTimeout(r, 10));
    await q.idle();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it("runs different keys in parallel up to the concurrency", async () => {
    let running = 0;
    let maxRunning = 0;
    const q = new ReconcileQueue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise(r => setTimeout(r, 5));
      running--;
      return {};
    }, opts);
    for (const k of ["a", "b", "c", "d"]) q.add(k);
    await new Promise(r => setTimeout(r, 50));
    expect(maxRunning).toBe(2);
  });

  it("requeues after the delay a run asks for", async () => {
    vi.useFakeTimers();
    const runs: number[] = [];
    const q = new ReconcileQueue(async () => {
      runs.push(Date.now());
      return { requeueAfterMs: 5000 };
    }, opts);
    q.add("k");
    await vi.advanceTimersByTimeAsync(12_000);
    expect(runs.length).toBe(3);
    q.stop();
  });

  it("backs off exponentially after failures, with a cap, and resets after a success", async () => {
    vi.useFakeTimers();
    const errors: number[] = [];
    let calls = 0;
    const q = new ReconcileQueue(
      async () => {
        calls++;
        if (calls <= 5) throw new Error("boom");
        return {};
      },
      { ...opts, onError: (_k, _e, retry) => errors.push(retry) },
    );
    q.add("k");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(errors).toEqual([100, 200, 400, 800, 1000]);
    expect(calls).toBe(6);
    expect(q.size).toBe(0);
  });

  it("adds jitter of up to 20%", () => {
    const q = new ReconcileQueue(async () => ({}), { ...opts, random: () => 1 });
    expect(q.backoffMs(1)).toBe(120);
    expect(q.backoffMs(10)).toBe(1200);
  });

  it("keeps the earlier of two schedules and forgets deleted keys", async () => {
    vi.useFakeTimers();
    let calls = 0;
    const q = new ReconcileQueue(async () => (calls++, {}), opts);
    q.add("k", 5000);
    q.add("k", 1000);
    await vi.advanceTimersByTimeAsync(1500);
    expect(calls).toBe(1);
    q.add("j", 1000);
    q.forget("j");
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toBe(1);
  });

  it("starts waiting keys when its concurrency is raised while it runs, and no more than the new limit", async () => {
    let running = 0;
    let maxRunning = 0;
    const q = new ReconcileQueue(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise(r => setTimeout(r, 20));
        running--;
        return {};
      },
      { ...opts, concurrency: 0 },
    );
    for (const k of ["a", "b", "c", "d"]) q.add(k);
    await new Promise(r => setTimeout(r, 30));
    expect(maxRunning).toBe(0);
    q.configure({ concurrency: 3 });
    await new Promise(r => setTimeout(r, 5));
    expect(running).toBe(3);
    await q.idle();
    expect(maxRunning).toBe(3);
  });

  it("runs keys waiting out a failure's backoff at once when asked, and leaves requeues after success alone", async () => {
    vi.useFakeTimers();
    const runs: string[] = [];
    const q = new ReconcileQueue(async key => {
      runs.push(key);
      if (key === "failing") throw new Error("apiserver away");
      return { requeueAfterMs: 60_000 };
    }, opts);
    q.add("failing");
    q.add("fine");
    await vi.advanceTimersByTimeAsync(10);
    expect(runs).toEqual(["failing", "fine"]);
    q.retryFailedNow();
    await vi.advanceTimersByTimeAsync(10);
    expect(runs).toEqual(["failing", "fine", "failing"]);
    q.stop();
  });
});
