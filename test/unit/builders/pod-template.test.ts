import { describe, expect, it } from "vitest";
import { buildNativeCluster } from "../../../lib/builders/native";
import { mergeValues } from "../../../lib/builders/pod-template";
import { OPTIONS, expectGolden, fixture } from "./helpers";

describe("mergeValues", () => {
  it("merges maps key by key, the override winning", () => {
    expect(mergeValues({ a: 1, b: { c: 2, d: 3 } }, { b: { c: 4 }, e: 5 }, false)).toEqual({
      a: 1,
      b: { c: 4, d: 3 },
      e: 5,
    });
  });

  it("keeps the base where the override is null or missing", () => {
    expect(mergeValues({ a: { b: 1 } }, { a: null }, false)).toEqual({ a: { b: 1 } });
    expect(mergeValues({ a: 1 }, undefined, false)).toEqual({ a: 1 });
  });

  it("merges lists of objects by position unless asked to merge by name", () => {
    const base = [{ name: "flink-main-container", image: "a" }];
    const override = [{ name: "sidecar", image: "b" }];
    expect(mergeValues(base, override, false)).toEqual([{ name: "sidecar", image: "b" }]);
    expect(mergeValues(base, override, true)).toEqual([
      { name: "flink-main-container", image: "a" },
      { name: "sidecar", image: "b" },
    ]);
  });

  it("merges by name into the base's order, appending new names", () => {
    const base = [
      { name: "a", x: 1 },
      { name: "b", x: 2 },
    ];
    const override = [
      { name: "c", x: 3 },
      { name: "a", y: 4 },
    ];
    expect(mergeValues(base, override, true)).toEqual([
      { name: "a", x: 1, y: 4 },
      { name: "b", x: 2 },
      { name: "c", x: 3 },
    ]);
  });

  it("falls back to positions when an element has no name", () => {
    expect(mergeValues([{ name: "a", x: 1 }], [{ x: 2 }], true)).toEqual([{ name: "a", x: 2 }]);
  });

  it("replaces lists of plain values whole", () => {
    expect(mergeValues({ args: ["a", "b", "c"] }, { args: ["d"] }, false)).toEqual({ args: ["d"] });
  });

  it("does not change its inputs", () => {
    const base = { spec: { containers: [{ name: "x" }] } };
    mergeValues(base, { spec: { containers: [{ image: "y" }] } }, false);
    expect(base).toEqual({ spec: { containers: [{ name: "x" }] } });
  });
});

describe("pod templates of a cluster", () => {
  it("the reference's pod-template example: common template, JobManager init container, operator settings last", () => {
    const cluster = buildNativeCluster(fixture("pod-template.yaml"), OPTIONS);
    expectGolden("pod-template-example", [
      cluster.jobManager.spec!.template,
      cluster.taskManagerPodTemplate,
    ]);
    const containers = cluster.jobManager.spec!.template.spec!.containers;
    expect(containers.map(c => c.name)).toEqual(["flink-main-container", "fluentbit"]);
    expect(containers[0].volumeMounts!.map(m => m.mountPath)).toEqual([
      "/opt/flink/log",
      "/opt/flink/downloads",
      "/opt/flink/conf",
      "/opt/flink/pod-template",
      "/opt/flink/artifacts",
    ]);
  });

  it("merges by position by default, so a role's first container lands on the common first container", () => {
    const template = buildNativeCluster(fixture("merge-by-name.yaml"), OPTIONS).jobManager.spec!
      .template;
    expectGolden("merge-by-position", [template]);
    // The sidecar's name replaced the main container's, and "scratch" replaced "data" (which the sidecar
    // now mounts): the reason merge-arrays-by-name exists. The operator adds a fresh main container.
    expect(template.spec!.containers.map(c => c.name)).toEqual([
      "flink-main-container",
      "log-shipper",
    ]);
    expect(template.spec!.containers[1].volumeMounts).toEqual([
      { name: "data", mountPath: "/data" },
    ]);
    expect(template.spec!.volumes!.map(v => v.name)).toEqual([
      "scratch",
      "flink-config-volume",
      "pod-template-volume",
      "user-artifacts-volume",
    ]);
  });

  it("merges by name with kubernetes.operator.pod-template.merge-arrays-by-name", () => {
    const deployment = fixture("merge-by-name.yaml", raw => {
      raw.spec.flinkConfiguration!["kubernetes.operator.pod-template.merge-arrays-by-name"] =
        "true";
    });
    const template = buildNativeCluster(deployment, OPTIONS).jobManager.spec!.template;
    expectGolden("merge-by-name", [template]);
    expect(template.spec!.containers.map(c => c.name)).toEqual([
      "flink-main-container",
      "log-shipper",
    ]);
    expect(template.spec!.containers[0].env).toContainEqual({
      name: "SHARED",
      value: "from-common",
    });
    expect(template.spec!.volumes!.map(v => v.name)).toEqual([
      "data",
      "scratch",
      "flink-config-volume",
      "pod-template-volume",
      "user-artifacts-volume",
    ]);
    expect(template.metadata!.labels).toMatchObject({
      team: "data",
      role: "control",
      component: "jobmanager",
    });
  });

  it("overrides what the operator owns: image, command, restart policy, service account", () => {
    const deployment = fixture("basic.yaml", raw => {
      raw.spec.podTemplate = {
        spec: {
          restartPolicy: "Never",
          serviceAccountName: "other",
          containers: [
            {
              name: "flink-main-container",
              image: "mine:1",
              command: ["sleep"],
              env: [{ name: "_POD_IP_ADDRESS", value: "x" }],
            },
          ],
        },
      };
    });
    const pod = buildNativeCluster(deployment, OPTIONS).jobManager.spec!.template.spec!;
    expect(pod.restartPolicy).toBe("Always");
    expect(pod.serviceAccountName).toBe("flink");
    expect(pod.containers[0].image).toBe("flink:2.2");
    expect(pod.containers[0].command).toEqual(["/docker-entrypoint.sh"]);
    expect(pod.containers[0].env!.filter(e => e.name === "_POD_IP_ADDRESS")).toHaveLength(1);
  });

  it("keeps a startup probe of the template's own, and drops the operator's when turned off", () => {
    const probe = { exec: { command: ["true"] } };
    const withOwn = fixture("basic.yaml", raw => {
      raw.spec.jobManager!.podTemplate = {
        spec: { containers: [{ name: "flink-main-container", startupProbe: probe }] },
      };
    });
    expect(
      buildNativeCluster(withOwn, OPTIONS).jobManager.spec!.template.spec!.containers[0]
        .startupProbe,
    ).toEqual(probe);
    const off = fixture("basic.yaml", raw => {
      raw.spec.flinkConfiguration!["kubernetes.operator.jm-deployment.startup.probe.enabled"] =
        "false";
    });
    expect(
      buildNativeCluster(off, OPTIONS).jobManager.spec!.template.spec!.containers[0].startupProbe,
    ).toBeUndefined();
  });
});
