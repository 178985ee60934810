import { describe, expect, it, vi } from "vitest";
import { JarCache } from "../../../lib/artifacts/cache";
import { OperatorConfigSource } from "../../../lib/reconcile/operator-config";
import { sessionJobController } from "../../../lib/reconcile/sessionjob-controller";

// No pass runs here: the queue's add is watched instead.
vi.mock("../../../lib/reconcile/sessionjob", () => ({ reconcileSessionJob: async () => ({}) }));

const source: OperatorConfigSource = {
  get: async () => ({}),
  within: async () => ({ operatorConfig: {} }),
  invalidate: () => {},
};

const job = (name: string, session: string, generation = 1, uid = `uid-${name}`) => ({
  kind: "FlinkSessionJob",
  metadata: {
    name,
    namespace: "ns",
    uid,
    generation,
    labels: { "target.session": session },
  },
  spec: { deploymentName: session },
});

const deployment = (
  name: string,
  jm: string | undefined,
  extra: { job?: object; state?: string; operation?: object; uid?: string } = {},
) => ({
  kind: "FlinkDeployment",
  metadata: { name, namespace: "ns", uid: extra.uid ?? `uid-${name}` },
  spec: extra.job ? { job: extra.job } : {},
  status: {
    jobManagerDeploymentStatus: jm,
    reconciliationStatus: { state: extra.state ?? "DEPLOYED", operation: extra.operation },
  },
});

function controller(listAll: () => Promise<object[]> = async () => []) {
  const c = sessionJobController(source, new JarCache({ dir: "/nonexistent" }), listAll);
  const add = vi.spyOn(c.queue, "add").mockImplementation(() => undefined);
  const forget = vi.spyOn(c.queue, "forget");
  return { c, add, forget };
}

describe("the session job controller's wake-ups", () => {
  it("queues a session job for a new generation or a deletion, not for its own status writes", () => {
    const { c, add } = controller();
    c.changed(job("a", "s"));
    c.changed(job("a", "s"));
    c.changed(job("a", "s", 2));
    c.changed({
      ...job("a", "s", 2),
      metadata: { ...job("a", "s", 2).metadata, deletionTimestamp: new Date(0) },
    });
    expect(add.mock.calls).toEqual([["ns/a"], ["ns/a"], ["ns/a"]]);
  });

  it("wakes a session's jobs when the session's JobManager becomes ready, an upgrade starts or ends, or it is recreated or deleted", () => {
    const { c, add } = controller();
    c.changed(job("a", "s"));
    c.changed(job("b", "s"));
    c.changed(job("other", "t"));
    add.mockClear();
    const wakes = (o: object, phase?: "DELETED") => {
      add.mockClear();
      c.sessionChanged(o, phase);
      return add.mock.calls.map(([k]) => k).sort();
    };
    expect(wakes(deployment("s", "DEPLOYING"))).toEqual(["ns/a", "ns/b"]);
    expect(wakes(deployment("s", "READY"))).toEqual(["ns/a", "ns/b"]);
    // Its own status writes that change nothing here are not news.
    expect(wakes(deployment("s", "READY"))).toEqual([]);
    expect(wakes(deployment("s", "READY", { state: "UPGRADING", operation: {} }))).toEqual([
      "ns/a",
      "ns/b",
    ]);
    expect(wakes(deployment("s", "READY"))).toEqual(["ns/a", "ns/b"]);
    expect(wakes(deployment("s", "READY", { uid: "recreated" }))).toEqual(["ns/a", "ns/b"]);
    expect(wakes(deployment("s", "READY", { uid: "recreated" }), "DELETED")).toEqual([
      "ns/a",
      "ns/b",
    ]);
    // An application cluster has no session jobs.
    expect(wakes(deployment("t", "READY", { job: { jarURI: "local:///x.jar" } }))).toEqual([]);
  });

  it("stops waking a session job once it is deleted", () => {
    const { c, add, forget } = controller();
    c.changed(job("a", "s"));
    c.deleted(job("a", "s"));
    expect(forget).toHaveBeenCalledWith("ns/a");
    add.mockClear();
    c.sessionChanged(deployment("s", "READY"));
    expect(add).not.toHaveBeenCalled();
  });

  it("resyncs from a full list: every session job queued, vanished ones forgotten", async () => {
    let items: object[] = [job("a", "s"), job("b", "s")];
    const { c, add, forget } = controller(async () => items);
    await c.resync();
    expect(add.mock.calls.map(([k]) => k).sort()).toEqual(["ns/a", "ns/b"]);
    items = [job("a", "s")];
    await c.resync();
    expect(forget).toHaveBeenCalledWith("ns/b");
  });
});
