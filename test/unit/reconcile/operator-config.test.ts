import { describe, expect, it } from "vitest";
import {
  operatorConfigProblems,
  operatorConfigSource,
  parseOperatorConfig,
} from "../../../lib/reconcile/operator-config";

type Config = Record<string, string>;

/** A ConfigMap read the test answers by hand, counting the reads. */
function manualRead() {
  const pending: Array<{ resolve: (c: Config) => void; reject: (e: Error) => void }> = [];
  let reads = 0;
  return {
    read: () =>
      new Promise<Config>((resolve, reject) => {
        reads++;
        pending.push({ resolve, reject });
      }),
    answer: (c: Config) => pending.shift()!.resolve(c),
    fail: (e: Error) => pending.shift()!.reject(e),
    get reads() {
      return reads;
    },
  };
}

const tick = () => new Promise(r => setTimeout(r, 0));

describe("operator configuration", () => {
  it("reads config.yaml and flink-conf.yaml from the operator ConfigMap, nested or flat", () => {
    const config = parseOperatorConfig({
      "flink-conf.yaml":
        "kubernetes.operator.reconcile.interval: 15 s\ntaskmanager.numberOfTaskSlots: 2\n",
      "config.yaml": "kubernetes:\n  operator:\n    reconcile:\n      interval: 30 s\n",
      "log4j-operator.properties": "ignored",
    });
    expect(config).toEqual({
      "kubernetes.operator.reconcile.interval": "30 s",
      "taskmanager.numberOfTaskSlots": "2",
    });
  });

  it("names the ConfigMap's options without effect and values it ignores, in its sections too", () => {
    expect(
      operatorConfigProblems({
        "kubernetes.operator.job.upgrade.ignore-pending-savepoint": "true",
        "kubernetes.operator.reconcile.interval": "often",
        "kubernetes.operator.reconcile.parallelism": "10",
        "kubernetes.operator.default-configuration.namespace.a.kubernetes.operator.reconcile.parallelism":
          "3",
        "kubernetes.operator.default-configuration.flink-version.v1_20.kubernetes.operator.exception.stacktrace.enabled":
          "true",
        "pipeline.name": "x",
      }),
    ).toEqual([
      'operator ConfigMap["kubernetes.operator.job.upgrade.ignore-pending-savepoint"]: is not implemented by this operator yet, so it has no effect',
      'operator ConfigMap["kubernetes.operator.reconcile.interval"]: must be a duration such as "30 s" or "5 min", got "often"; the value is ignored',
      'operator ConfigMap["kubernetes.operator.default-configuration.namespace.a.kubernetes.operator.reconcile.parallelism"]: applies to the whole operator, so only the operator ConfigMap\'s own keys set it; here it has no effect',
      'operator ConfigMap["kubernetes.operator.default-configuration.flink-version.v1_20.kubernetes.operator.exception.stacktrace.enabled"]: is not implemented by this operator yet, so it has no effect',
    ]);
  });
});

describe("the cached operator ConfigMap shared by admission and the reconciler", () => {
  it("reads once per TTL, one read at a time, and again as soon as its watch reports a change", async () => {
    const r = manualRead();
    let changed!: () => void;
    let clock = 0;
    const source = operatorConfigSource({
      ttlMs: 1000,
      read: r.read,
      watch: cb => (changed = cb),
      now: () => clock,
    });
    const first = source.get();
    const second = source.get();
    expect(r.reads).toBe(1);
    r.answer({ a: "1" });
    expect(await first).toEqual({ a: "1" });
    expect(await second).toEqual({ a: "1" });
    clock = 999;
    expect(await source.get()).toEqual({ a: "1" });
    expect(r.reads).toBe(1);
    changed();
    const third = source.get();
    expect(r.reads).toBe(2);
    r.answer({ a: "2" });
    expect(await third).toEqual({ a: "2" });
    clock = 2100;
    const fourth = source.get();
    expect(r.reads).toBe(3);
    r.answer({ a: "3" });
    expect(await fourth).toEqual({ a: "3" });
  });

  it("gives the last value read when a read fails, and fails a pass only before any read succeeded", async () => {
    const r = manualRead();
    let clock = 0;
    const source = operatorConfigSource({
      ttlMs: 10,
      read: r.read,
      watch: () => {},
      now: () => clock,
    });
    const before = source.get();
    r.fail(new Error("apiserver down"));
    await expect(before).rejects.toThrow("apiserver down");
    clock = 5000;
    const ok = source.get();
    r.answer({ a: "1" });
    expect(await ok).toEqual({ a: "1" });
    clock = 5100;
    const after = source.get();
    r.fail(new Error("apiserver down"));
    expect(await after).toEqual({ a: "1" });
  });

  it("lets admission wait a bounded time: then the last value read, or none with the reason", async () => {
    const r = manualRead();
    let clock = 0;
    const source = operatorConfigSource({
      ttlMs: 10,
      read: r.read,
      watch: () => {},
      now: () => clock,
    });
    const started = Date.now();
    expect(await source.within(50)).toEqual({
      operatorConfig: {},
      stale: "the operator ConfigMap was not read within 50 ms",
    });
    expect(Date.now() - started).toBeLessThan(1000);
    // The read goes on in the background and fills the cache for the next request.
    r.answer({ a: "1" });
    await tick();
    expect(await source.within(50)).toEqual({ operatorConfig: { a: "1" } });
    clock = 100;
    // Stale and a read that hangs: the last value, without waiting longer than asked.
    expect(await source.within(50)).toEqual({ operatorConfig: { a: "1" } });
    expect(r.reads).toBe(2);
    r.fail(new Error("late"));
    await tick();
  });

  it("does not read again for a few seconds after a failed read", async () => {
    const r = manualRead();
    let clock = 0;
    const source = operatorConfigSource({ read: r.read, watch: () => {}, now: () => clock });
    const first = source.get();
    r.fail(new Error("forbidden"));
    await expect(first).rejects.toThrow("forbidden");
    await expect(source.get()).rejects.toThrow("forbidden");
    expect((await source.within(1000)).stale).toContain("forbidden");
    expect(r.reads).toBe(1);
    clock = 5000;
    const again = source.get();
    expect(r.reads).toBe(2);
    r.answer({ a: "1" });
    expect(await again).toEqual({ a: "1" });
  });

  it("tells admission why it has nothing when the first read fails", async () => {
    const r = manualRead();
    const source = operatorConfigSource({ read: r.read, watch: () => {} });
    const pending = source.within(1000);
    r.fail(new Error("forbidden"));
    expect(await pending).toEqual({
      operatorConfig: {},
      stale: "the operator ConfigMap could not be read (Error: forbidden)",
    });
  });
});
