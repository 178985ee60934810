import { describe, expect, it } from "vitest";
import { serializeReconciledSpec } from "../../../lib/api/reconciled-spec";
import type { FlinkDeploymentSpec } from "../../../lib/api/spec";
import type { FlinkDeploymentStatus, JobState } from "../../../lib/api/status";
import { buildClusterManifests } from "../../../lib/builders";
import { canonical, classifySpecChange } from "../../../lib/reconcile/changes";
import { restAccess, restBaseUrl, restService } from "../../../lib/reconcile/cluster-info";
import { clusterHash } from "../../../lib/reconcile/cluster-sync";
import { jobStatusFromOverview } from "../../../lib/reconcile/observe";
import {
  Blocked,
  finishStatus,
  lifecycleState,
  mergePatch,
  setCondition,
} from "../../../lib/reconcile/status";
import { application, session } from "../validation/fixtures";

describe("spec change classification", () => {
  it("tells none, ignore, in-place and redeploy apart", () => {
    const a = session().spec;
    expect(classifySpecChange(a, structuredClone(a))).toBe("none");
    expect(
      classifySpecChange(a, {
        ...a,
        flinkConfiguration: {
          ...a.flinkConfiguration,
          "kubernetes.operator.reconcile.interval": "5 s",
        },
      }),
    ).toBe("ignore");
    const standalone = {
      ...a,
      mode: "standalone" as const,
      taskManager: { ...a.taskManager, replicas: 2 },
    };
    expect(
      classifySpecChange(standalone, {
        ...standalone,
        taskManager: { ...standalone.taskManager, replicas: 5 },
      }),
    ).toBe("in-place");
    const native = { ...a, taskManager: { ...a.taskManager, replicas: 2 } };
    expect(
      classifySpecChange(native, {
        ...native,
        taskManager: { ...native.taskManager, replicas: 5 },
      }),
    ).toBe("redeploy");
    expect(classifySpecChange(a, { ...a, image: "flink:2.1" })).toBe("redeploy");
  });

  it("compares specs whatever the order of their keys", () => {
    expect(canonical({ b: 1, a: { d: 2, c: 3 } })).toBe(canonical({ a: { c: 3, d: 2 }, b: 1 }));
  });

  it("hashes manifests without replicas and annotations", () => {
    const m = (replicas: number, gen: string) => [
      {
        kind: "Deployment",
        metadata: { name: "x", annotations: { g: gen } },
        spec: { replicas, template: { a: 1 } },
      },
    ];
    expect(clusterHash(m(1, "1"))).toBe(clusterHash(m(3, "2")));
    const other = [
      { kind: "Deployment", metadata: { name: "x" }, spec: { replicas: 1, template: { a: 2 } } },
    ];
    expect(clusterHash(m(1, "1"))).not.toBe(clusterHash(other));
  });

  it("hashes a built standalone session cluster alike across generations and TaskManager counts, not across images", () => {
    const build = (mutate: (o: ReturnType<typeof session>) => void, generation = 1) => {
      const o = session();
      o.metadata.uid = "uid";
      o.spec.mode = "standalone";
      o.spec.taskManager.replicas = 2;
      mutate(o);
      return clusterHash(buildClusterManifests(o, { generation }));
    };
    const base = build(() => undefined);
    expect(build(() => undefined, 7)).toBe(base);
    expect(build(o => (o.spec.taskManager.replicas = 4))).toBe(base);
    expect(build(o => (o.spec.image = "flink:1.20.1"))).not.toBe(base);
  });
});

describe("status", () => {
  it("derives the lifecycle state in the reference operator's order", () => {
    expect(lifecycleState({}, false, false)).toBe("CREATED");
    expect(lifecycleState({ error: "bad" }, false, false)).toBe("FAILED");
    const rs = (state: "DEPLOYED" | "UPGRADING") => ({
      reconciliationStatus: { lastReconciledSpec: "{}", state },
    });
    expect(lifecycleState(rs("UPGRADING"), false, false)).toBe("UPGRADING");
    expect(lifecycleState(rs("DEPLOYED"), true, false)).toBe("SUSPENDED");
    expect(
      lifecycleState({ ...rs("DEPLOYED"), jobStatus: { state: "FAILED" } }, false, false),
    ).toBe("FAILED");
    expect(lifecycleState(rs("DEPLOYED"), false, true)).toBe("STABLE");
    expect(lifecycleState(rs("DEPLOYED"), false, false)).toBe("DEPLOYED");
  });

  /** Generation 1 of `spec` deployed, its JobManager as given, the job (if any) in `job`; after finishStatus. */
  const finished = (
    spec: FlinkDeploymentSpec,
    jobManager: FlinkDeploymentStatus["jobManagerDeploymentStatus"],
    job?: JobState,
    blocked?: Blocked,
  ) => {
    const status: FlinkDeploymentStatus = {
      jobManagerDeploymentStatus: jobManager,
      jobStatus: spec.job ? { jobId: "a".repeat(32), state: job } : undefined,
      reconciliationStatus: {
        lastReconciledSpec: serializeReconciledSpec({ spec, generation: 1 }),
        state: "DEPLOYED",
      },
    };
    finishStatus(status, spec, blocked, undefined, new Date("2026-12-02T10:00:00Z"));
    const rs = status.reconciliationStatus!;
    return { status, stable: rs.lastStableSpec === rs.lastReconciledSpec };
  };

  it("records an application as stable once its JobManager is ready and its job RUNNING", () => {
    const { status, stable } = finished(application().spec, "READY", "RUNNING");
    expect(stable).toBe(true);
    expect(status.lifecycleState).toBe("STABLE");
  });

  it("does not record an application as stable while its job is not RUNNING under a ready JobManager", () => {
    for (const job of [undefined, "CREATED", "RESTARTING"] as const) {
      const { status, stable } = finished(application().spec, "READY", job);
      expect(stable, String(job)).toBe(false);
      expect(status.lifecycleState, String(job)).toBe("DEPLOYED");
      expect(status.conditions?.find(c => c.type === "Ready")?.status, String(job)).toBe("True");
    }
    const failed = finished(application().spec, "READY", "FAILED");
    expect(failed.stable).toBe(false);
    expect(failed.status.lifecycleState).toBe("FAILED");
    // A RUNNING seen before the JobManager went away is not a stable cluster.
    expect(finished(application().spec, "DEPLOYING", "RUNNING").stable).toBe(false);
  });

  it("records a bounded job that FINISHED on its own as stable, as the reference does", () => {
    expect(finished(application().spec, "READY", "FINISHED").stable).toBe(true);
  });

  it("records a session cluster as stable once its JobManager is ready", () => {
    const { status, stable } = finished(session().spec, "READY");
    expect(stable).toBe(true);
    expect(status.lifecycleState).toBe("STABLE");
    expect(finished(session().spec, "DEPLOYING").stable).toBe(false);
  });

  it("records a suspended spec as stable once suspended (DEPLOYED), and calls it SUSPENDED", () => {
    const spec = application().spec;
    spec.job.state = "suspended";
    // As a pass leaves a suspended resource: no JobManager, Ready=False Suspended.
    const { status, stable } = finished(spec, "MISSING", "SUSPENDED", {
      reason: "Suspended",
      message: "the job is suspended: nothing runs",
    });
    expect(stable).toBe(true);
    expect(status.lifecycleState).toBe("SUSPENDED");
  });

  it("keeps a condition's transition time while its status holds", () => {
    const t1 = new Date("2026-01-01T00:00:00Z");
    const t2 = new Date("2026-01-01T00:05:00Z");
    const c1 = setCondition(undefined, { type: "Ready", status: "False", reason: "Deploying" }, t1);
    const c2 = setCondition(c1, { type: "Ready", status: "False", reason: "JobManagerError" }, t2);
    expect(c2[0].lastTransitionTime).toBe(t1.toISOString());
    const c3 = setCondition(c2, { type: "Ready", status: "True", reason: "Ready" }, t2);
    expect(c3[0].lastTransitionTime).toBe(t2.toISOString());
  });
});

describe("status merge patch", () => {
  it("sends changed fields, nulls for removed ones, nothing for unchanged ones", () => {
    const before = {
      error: "bad",
      observedGeneration: 1,
      reconciliationStatus: { state: "DEPLOYED", lastReconciledSpec: "a" },
      conditions: [{ type: "Ready" }],
    };
    const after = {
      observedGeneration: 2,
      reconciliationStatus: { state: "DEPLOYED", lastReconciledSpec: "b" },
      conditions: [{ type: "Ready" }],
      jobStatus: { jobId: "x" },
    };
    expect(mergePatch(before, after)).toEqual({
      error: null,
      observedGeneration: 2,
      reconciliationStatus: { lastReconciledSpec: "b" },
      jobStatus: { jobId: "x" },
    });
    expect(
      mergePatch(
        { jobStatus: { jobId: "x", state: "RUNNING" } },
        { jobStatus: { jobId: "y", state: undefined } },
      ),
    ).toEqual({ jobStatus: { jobId: "y", state: null } });
  });
});

describe("the JobManager's REST endpoint", () => {
  const manifests = [
    {
      kind: "Service",
      metadata: { name: "x-rest", namespace: "ns" },
      spec: { ports: [{ name: "rest", port: 8081 }] },
    },
  ];
  const service = restService(manifests, "x-rest")!;
  it("is found among the manifests as the rest Service's name, namespace and port", () => {
    expect(service).toEqual({ name: "x-rest", namespace: "ns", port: 8081 });
    expect(restService(manifests, "other-rest")).toBeUndefined();
  });
  it("goes through the Service's DNS name from inside the cluster", () => {
    expect(restAccess(undefined, true)).toBe("service");
    expect(restBaseUrl("service", service)).toBe("http://x-rest.ns:8081");
  });
  it("goes through the apiserver's service proxy from outside, never resolving a cluster name on the host", () => {
    expect(restAccess("auto", false)).toBe("proxy");
    expect(restBaseUrl("proxy", service, new URL("https://10.244.0.1:6443"))).toBe(
      "https://10.244.0.1:6443/api/v1/namespaces/ns/services/http:x-rest:8081/proxy",
    );
  });
  it("follows kubernetes.operator.flink.rest.access over where the operator runs", () => {
    expect(restAccess("proxy", true)).toBe("proxy");
    expect(restAccess("service", false)).toBe("service");
    expect(() => restAccess("direct", false)).toThrow(/must be auto, service or proxy/);
  });
});

describe("job status from Flink's job overview", () => {
  const job = (jid: string, start: number, state = "RUNNING") => ({
    jid,
    name: `job-${jid}`,
    state,
    "start-time": start,
    "end-time": -1,
    "last-modification": start + 5,
  });
  it("takes the job with the id the operator chose", () => {
    expect(jobStatusFromOverview([job("b", 20), job("a", 10, "FAILING")], "a")).toEqual({
      jobId: "a",
      jobName: "job-a",
      state: "FAILING",
      startTime: "10",
      updateTime: "15",
    });
  });
  it("falls back to the newest job when none has that id, and says nothing when there is none", () => {
    expect(jobStatusFromOverview([job("a", 10), job("b", 20)], "z")?.jobId).toBe("b");
    expect(jobStatusFromOverview([], "z")).toBeUndefined();
  });
});
