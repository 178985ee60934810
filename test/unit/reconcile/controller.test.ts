import { describe, expect, it, vi } from "vitest";
import { deploymentController, queueOptions } from "../../../lib/reconcile/controller";
import { OperatorConfigSource } from "../../../lib/reconcile/operator-config";

// A pass here only reads the operator configuration, as a real pass does first.
vi.mock("../../../lib/reconcile/deployment", () => ({
  reconcileDeployment: async (
    _ns: string,
    _name: string,
    env: { defaults: () => Promise<unknown> },
  ) => {
    await env.defaults();
    return {};
  },
}));

/** An operator ConfigMap the test edits. */
function fakeSource(config: Record<string, string>): OperatorConfigSource {
  return {
    get: async () => config,
    within: async () => ({ operatorConfig: config }),
    invalidate: () => {},
  };
}

const workload = (
  uid: string,
  readyReplicas: number,
  owner = "sess",
  conditions: object[] = [],
) => ({
  kind: "Deployment",
  metadata: {
    name: owner,
    namespace: "ns",
    uid,
    ownerReferences: [
      {
        apiVersion: "flink.apache.org/v1beta1",
        kind: "FlinkDeployment",
        name: owner,
        uid: "fd",
        controller: true,
      },
    ],
  },
  status: { readyReplicas, conditions },
});

describe("deployment controller", () => {
  it("wakes a FlinkDeployment (label app) when one of its Flink pods restarts a container, fails or goes away, now and once more shortly after", () => {
    vi.useFakeTimers();
    try {
      const c = deploymentController();
      const add = vi.spyOn(c.queue, "add").mockImplementation(() => undefined);
      const pod = (restartCount: number, phase = "Running", type = "flink-native-kubernetes") => ({
        kind: "Pod",
        metadata: {
          name: "app-taskmanager-1-1",
          namespace: "ns",
          uid: "p1",
          labels: { app: "app", component: "taskmanager", type },
        },
        status: { phase, containerStatuses: [{ restartCount }] },
      });
      c.podChanged(pod(0));
      c.podChanged(pod(0));
      expect(add).not.toHaveBeenCalled();
      c.podChanged(pod(1));
      expect(add).toHaveBeenCalledWith("ns/app");
      vi.advanceTimersByTime(3_000);
      expect(add).toHaveBeenCalledTimes(2);
      c.podChanged(pod(1, "Failed"));
      c.podChanged(pod(1, "Failed"), "DELETED");
      vi.advanceTimersByTime(3_000);
      expect(add).toHaveBeenCalledTimes(6);
      // Pods of other kinds (a kube-system component, say) are none of its business.
      c.podChanged(pod(5, "Running", "other"));
      expect(add).toHaveBeenCalledTimes(6);
    } finally {
      vi.useRealTimers();
    }
  });

  it("wakes a FlinkDeployment when one of its Flink pods becomes unable to run, not while the cause lasts", () => {
    vi.useFakeTimers();
    try {
      const c = deploymentController();
      const add = vi.spyOn(c.queue, "add").mockImplementation(() => undefined);
      const pod = (waiting?: string, conditions: object[] = []) => ({
        kind: "Pod",
        metadata: {
          name: "app-6f8b7c9d5-x1",
          namespace: "ns",
          uid: "p2",
          labels: { app: "app", component: "jobmanager", type: "flink-native-kubernetes" },
        },
        status: {
          phase: "Pending",
          conditions,
          containerStatuses: [
            {
              name: "flink-main-container",
              restartCount: 0,
              state: { waiting: { reason: waiting } },
            },
          ],
        },
      });
      c.podChanged(pod("ContainerCreating"));
      c.podChanged(pod("ErrImagePull"));
      expect(add).toHaveBeenCalledTimes(1);
      // The kubelet alternates between the two while the image cannot be pulled: the same cause.
      c.podChanged(pod("ImagePullBackOff"));
      c.podChanged(pod("ErrImagePull"));
      expect(add).toHaveBeenCalledTimes(1);
      c.podChanged(
        pod(undefined, [{ type: "PodScheduled", status: "False", reason: "Unschedulable" }]),
      );
      expect(add).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("wakes a FlinkDeployment when its workload's readiness changes or it is deleted, not on its creation", () => {
    const c = deploymentController();
    const add = vi.spyOn(c.queue, "add").mockImplementation(() => undefined);
    c.workloadChanged(workload("a", 0));
    expect(add).not.toHaveBeenCalled();
    c.workloadChanged(workload("a", 0));
    c.workloadChanged(workload("a", 1));
    expect(add).toHaveBeenCalledTimes(1);
    expect(add).toHaveBeenLastCalledWith("ns/sess");
    c.workloadChanged(workload("a", 1));
    c.workloadChanged(workload("a", 1), "DELETED");
    expect(add).toHaveBeenCalledTimes(2);
    // A workload the operator does not own is none of its business.
    c.workloadChanged({ ...workload("b", 1), metadata: { name: "x", namespace: "ns", uid: "b" } });
    expect(add).toHaveBeenCalledTimes(2);
  });

  it("wakes a FlinkDeployment when its workload cannot create pods, and again when it can", () => {
    const c = deploymentController();
    const add = vi.spyOn(c.queue, "add").mockImplementation(() => undefined);
    const failure = { type: "ReplicaFailure", status: "True", reason: "FailedCreate" };
    c.workloadChanged(workload("a", 0));
    c.workloadChanged(workload("a", 0, "sess", [failure]));
    expect(add).toHaveBeenCalledTimes(1);
    c.workloadChanged(workload("a", 0, "sess", [failure]));
    expect(add).toHaveBeenCalledTimes(1);
    c.workloadChanged(workload("a", 0));
    expect(add).toHaveBeenCalledTimes(2);
  });

  it("queues a FlinkDeployment for a new generation or a deletion, not for its own status writes", () => {
    const c = deploymentController();
    const add = vi.spyOn(c.queue, "add").mockImplementation(() => undefined);
    const fd = (generation: number, deletionTimestamp?: string) => ({
      metadata: {
        name: "a",
        namespace: "ns",
        uid: "u",
        generation,
        deletionTimestamp: deletionTimestamp ? new Date(deletionTimestamp) : undefined,
      },
    });
    c.changed(fd(1));
    c.changed(fd(1));
    c.changed(fd(2));
    c.changed(fd(2, "2026-01-01T00:00:00Z"));
    expect(add).toHaveBeenCalledTimes(3);
  });

  it("takes the queue's parallelism and backoff from the operator ConfigMap at each pass, one pass at a time before", async () => {
    const config: Record<string, string> = {
      "kubernetes.operator.reconcile.parallelism": "3",
      "kubernetes.operator.retry.initial.interval": "1 s",
    };
    const c = deploymentController(fakeSource(config));
    expect(c.queue.concurrency).toBe(1);
    c.changed({ metadata: { name: "a", namespace: "ns", uid: "u", generation: 1 } });
    await new Promise(r => setTimeout(r, 10));
    await c.queue.idle();
    expect(c.queue.concurrency).toBe(3);
    expect(c.queue.backoffMs(1)).toBeGreaterThanOrEqual(1000);
    expect(c.queue.backoffMs(1)).toBeLessThanOrEqual(1200);
    // An edit of the ConfigMap applies at the next pass; -1 is the reference's "no limit".
    config["kubernetes.operator.reconcile.parallelism"] = "-1";
    c.changed({ metadata: { name: "a", namespace: "ns", uid: "u", generation: 2 } });
    await new Promise(r => setTimeout(r, 10));
    await c.queue.idle();
    expect(c.queue.concurrency).toBe(Infinity);
    c.queue.stop();
  });

  it("keeps the defaults for queue options the ConfigMap gets wrong", () => {
    expect(
      queueOptions({
        "kubernetes.operator.reconcile.parallelism": "0",
        "kubernetes.operator.retry.interval.multiplier": "0.5",
        "kubernetes.operator.retry.max.interval": "10 min",
      }),
    ).toEqual({
      concurrency: 50,
      initialBackoffMs: 5000,
      maxBackoffMs: 600_000,
      backoffMultiplier: 2,
    });
  });

  it("resyncs from a full list: queues new, changed and deleting FlinkDeployments, forgets vanished ones, retries failed passes now", async () => {
    const fd = (name: string, generation: number, deletionTimestamp?: Date) => ({
      metadata: { name, namespace: "ns", uid: `uid-${name}`, generation, deletionTimestamp },
    });
    let listed = [fd("a", 1), fd("b", 1), fd("c", 1)];
    const c = deploymentController(fakeSource({}), async () => listed);
    const add = vi.spyOn(c.queue, "add").mockImplementation(() => undefined);
    const forget = vi.spyOn(c.queue, "forget");
    const retry = vi.spyOn(c.queue, "retryFailedNow");
    c.changed(fd("a", 1));
    add.mockClear();
    await c.resync();
    expect(add.mock.calls).toEqual([["ns/b"], ["ns/c"]]);
    expect(retry).toHaveBeenCalledTimes(1);

    add.mockClear();
    listed = [fd("a", 2), fd("b", 1, new Date("2026-01-01T00:00:00Z")), fd("d", 1)];
    await c.resync();
    expect(add.mock.calls).toEqual([["ns/a"], ["ns/b"], ["ns/d"]]);
    expect(forget).toHaveBeenCalledWith("ns/c");
    // Forgotten: if it comes back, it is news again.
    add.mockClear();
    c.changed(fd("c", 1));
    expect(add).toHaveBeenCalledWith("ns/c");
  });
});
