import { describe, expect, it } from "vitest";
import { assess, readinessAnswer, WatchHealth } from "../../../lib/reconcile/watch-health";

const LIMITS = { storeDeadlineMs: 20_000 };
const at = (health: WatchHealth, now: number) => assess(health.snapshot(), now, LIMITS);

/** A module whose Pepr started at 1,000 and whose store was ready at 2,000. */
function started(): WatchHealth {
  const h = new WatchHealth(0);
  h.peprStarted(1_000);
  h.storeReady(2_000);
  return h;
}

describe("module health", () => {
  it("is not ready while it waits for the apiserver to start Pepr, says why, and never exits for it", () => {
    const h = new WatchHealth(0);
    expect(at(h, 500)).toEqual({
      ready: false,
      reasons: ["waiting for the apiserver before starting Pepr"],
    });
    h.waitingForApiserver("connect ECONNREFUSED 127.0.0.1:6443");
    expect(at(h, 3_600_000)).toEqual({
      ready: false,
      reasons: [
        "waiting for the apiserver before starting Pepr: connect ECONNREFUSED 127.0.0.1:6443",
      ],
    });
  });

  it("is not ready until Pepr's store is ready, and exits when it is not ready 20 s after Pepr started", () => {
    const h = new WatchHealth(0);
    h.waitingForApiserver("refused");
    h.peprStarted(5_000);
    const pending = at(h, 24_999);
    expect(pending.ready).toBe(false);
    expect(pending.exit).toBeUndefined();
    expect(pending.reasons).toEqual([
      "Pepr's store is not ready 20 s after Pepr started (admission and watches wait for it)",
    ]);
    expect(at(h, 25_000).exit).toMatch(
      /^Pepr's store is not ready 20 s after Pepr started .*Pepr does not retry a store that failed to start/,
    );
    h.storeReady(26_000);
    expect(at(h, 26_000)).toEqual({ ready: true, reasons: [] });
  });

  it("is ready only while every watch is connected, and names each one that is not", () => {
    const h = started();
    const flink = h.watchStarted();
    const store = h.watchStarted();
    expect(at(h, 2_000).reasons).toEqual([
      "watch #1 not connected yet",
      "watch #2 not connected yet",
    ]);
    h.watchConnected(flink, "/apis/flink.apache.org/v1beta1/flinkdeployments");
    h.watchConnected(store, "/apis/pepr.dev/v1/namespaces/pepr-system/peprstores");
    expect(at(h, 3_000)).toEqual({ ready: true, reasons: [] });

    h.watchFailed(flink, 10_000, "terminated");
    h.watchReconnecting(flink, 1);
    h.watchFailed(flink, 15_000, "fetch failed");
    h.watchReconnecting(flink, 2);
    expect(at(h, 40_000)).toEqual({
      ready: false,
      reasons: [
        "/apis/flink.apache.org/v1beta1/flinkdeployments not connected for 30 s (2 reconnect attempts): fetch failed",
      ],
    });
    expect(at(h, 40_000).exit).toBeUndefined();
  });

  it("reports a connect as a return only after the watch failed (what triggers the re-list)", () => {
    const h = started();
    const w = h.watchStarted();
    expect(h.watchConnected(w, "/api/v1/configmaps")).toBe(false);
    // The apiserver ends watches now and then; reconnecting without an error is not an outage.
    expect(h.watchConnected(w, "/api/v1/configmaps")).toBe(false);
    h.watchFailed(w, 5_000, "fetch failed");
    expect(h.watchConnected(w, "/api/v1/configmaps")).toBe(true);
    expect(at(h, 6_000).ready).toBe(true);
  });

  it("exits when a watch gave up, whatever the others do", () => {
    const h = started();
    const a = h.watchStarted();
    const b = h.watchStarted();
    h.watchConnected(a, "/apis/apps/v1/deployments");
    h.watchConnected(b, "/apis/apps/v1/statefulsets");
    h.watchFailed(b, 10_000, "fetch failed");
    h.watchGaveUp(b, "Retry limit (120) exceeded, giving up");
    const verdict = at(h, 11_000);
    expect(verdict.ready).toBe(false);
    expect(verdict.exit).toBe(
      "/apis/apps/v1/statefulsets gave up reconnecting (Retry limit (120) exceeded, giving up); Pepr cannot start it again in this process",
    );
  });

  it("forgets a watch closed on purpose", () => {
    const h = started();
    const w = h.watchStarted();
    h.watchFailed(w, 3_000, "fetch failed");
    h.watchClosed(w);
    expect(at(h, 4_000)).toEqual({ ready: true, reasons: [] });
  });

  it("answers the readiness probe with 200, or 503 and every reason", () => {
    expect(readinessAnswer({ ready: true, reasons: [] })).toEqual({ status: 200, body: "ready\n" });
    expect(readinessAnswer({ ready: false, reasons: ["a", "b"] })).toEqual({
      status: 503,
      body: "not ready: a; b\n",
    });
  });
});
