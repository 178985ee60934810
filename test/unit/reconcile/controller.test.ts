import { describe, expect, it, vi } from "vitest";
import { deploymentController } from "../../../lib/reconcile/controller";

const workload = (uid: string, readyReplicas: number, owner = "sess") => ({
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
  status: { readyReplicas },
});

describe("deployment controller", () => {
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
});
