import { describe, expect, it } from "vitest";
import { childConflicts, conflictMessage, controlledBy } from "../../../lib/reconcile/ownership";

const UID = "fd-uid";
const ref = (uid: string, controller?: boolean, kind = "FlinkDeployment", name = "web") => ({
  apiVersion: "flink.apache.org/v1beta1",
  kind,
  name,
  uid,
  ...(controller === undefined ? {} : { controller }),
});
const obj = (kind: string, name: string, ownerReferences?: ReturnType<typeof ref>[]) => ({
  kind,
  metadata: { name, namespace: "ns", ownerReferences },
});

describe("ownership of children", () => {
  it("counts an object as controlled only with a controller reference carrying the FlinkDeployment's uid", () => {
    expect(controlledBy(obj("Deployment", "web", [ref(UID, true)]), UID)).toBe(true);
    expect(controlledBy(obj("Deployment", "web", [ref(UID, false)]), UID)).toBe(false);
    expect(controlledBy(obj("Deployment", "web", [ref(UID)]), UID)).toBe(false);
    expect(controlledBy(obj("Deployment", "web", [ref("other", true)]), UID)).toBe(false);
    expect(controlledBy(obj("Deployment", "web"), UID)).toBe(false);
  });

  it("finds the desired children whose names are taken by objects it does not control, saying who controls them", () => {
    const desired = [
      obj("Deployment", "web"),
      obj("Service", "web"),
      obj("Service", "web-rest"),
      obj("ConfigMap", "flink-config-web"),
    ];
    const found = [
      obj("Deployment", "web"),
      obj("Service", "web-rest", [ref("rs-uid", true, "ReplicaSet", "other")]),
      obj("Service", "web", [ref(UID, false)]),
      obj("ConfigMap", "flink-config-web", [ref(UID, true)]),
      // Same name, another kind: not in the way.
      obj("StatefulSet", "web"),
    ];
    expect(childConflicts(desired, found, UID)).toEqual([
      { kind: "Deployment", name: "web", owner: "nobody" },
      { kind: "Service", name: "web-rest", owner: "ReplicaSet/other" },
      { kind: "Service", name: "web", owner: "nobody" },
    ]);
    expect(childConflicts(desired, [], UID)).toEqual([]);
  });

  it("names each object and its controller in one message", () => {
    expect(
      conflictMessage([
        { kind: "Deployment", name: "web", owner: "nobody" },
        { kind: "Service", name: "web-rest", owner: "FlinkDeployment/other" },
      ]),
    ).toBe(
      "not deployed: the names of its children are taken by objects this FlinkDeployment does not control: Deployment/web (controlled by nobody), Service/web-rest (controlled by FlinkDeployment/other); the operator does not adopt, change or delete them: remove or rename them, or rename the FlinkDeployment",
    );
  });
});
