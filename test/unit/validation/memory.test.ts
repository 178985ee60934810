import { describe, expect, it } from "vitest";
import { admitFlinkDeployment } from "../../../lib/admission";
import { jobManagerMemory, taskManagerMemory } from "../../../lib/flink/memory";
import { validateFlinkDeployment } from "../../../lib/validation/flinkdeployment";
import { formatIssue } from "../../../lib/validation/issues";
import { application } from "./fixtures";

const MIB = 2 ** 20;

/** Issues about memory (the memory rules' messages all name Flink's refusal or its recommendation). */
function memoryFindings(o: unknown, defaults: Record<string, string> = {}) {
  return validateFlinkDeployment(o, { defaults })
    .filter(i => /would refuse|Flink recommends/.test(i.message))
    .map(i => `${i.severity} ${formatIssue(i)}`);
}

describe("Flink's memory model at admission", () => {
  it("denies the issue's 128m JobManager, naming the field, the numbers and the least size Flink takes", () => {
    const o = application();
    o.spec.jobManager.resource.memory = "128m";
    const v = admitFlinkDeployment(o);
    expect(v.allowed).toBe(false);
    expect(v.message).toBe(
      "FlinkDeployment has 1 problem:\n- spec.jobManager.resource.memory: Flink 1.20 would refuse to start the JobManager: the process size (128 MiB) cannot hold JVM Metaspace (256 MiB) and JVM Overhead (192 MiB); Flink accepts no less than 577 MiB here",
    );
  });

  it("names resources.requests.memory when the size comes from there, in the resource's Flink version", () => {
    const o = application();
    o.spec.flinkVersion = "v2_2";
    o.spec.image = "flink:2.2";
    o.spec.taskManager = { resources: { requests: { memory: "512Mi" } } };
    expect(memoryFindings(o)).toEqual([
      "error spec.taskManager.resources.requests.memory: Flink 2.2 would refuse to start the TaskManager: the Flink size (64 MiB) cannot hold framework heap (128 MiB), framework off-heap (128 MiB), task off-heap (0 MiB), managed (25.6 MiB), network (64 MiB); Flink accepts no less than 982 MiB here",
    ]);
  });

  it("names the flinkConfiguration key when no process size would do", () => {
    const o = application();
    o.spec.flinkConfiguration["taskmanager.memory.managed.fraction"] = "0.9";
    expect(memoryFindings(o)).toEqual([
      expect.stringMatching(
        /^error spec\.flinkConfiguration\["taskmanager\.memory\.managed\.fraction"\]: Flink 1\.20 would refuse to start the TaskManager: the Flink size \(1587\.2 MiB\) cannot hold .*managed \(1428\.5 MiB\), network \(158\.7 MiB\)$/,
      ),
    ]);
  });

  it("says when the operator's default configuration set the key at fault", () => {
    const o = application();
    expect(
      memoryFindings(o, {
        "taskmanager.memory.managed.fraction": "0.9",
      })[0],
    ).toMatch(
      /^error spec\.flinkConfiguration\["taskmanager\.memory\.managed\.fraction"\]: .* \(set by the operator's default configuration\)$/,
    );
  });

  it("names the JobManager's heap when it does not fit the process size", () => {
    const o = application();
    o.spec.jobManager.resource.memory = "1200m";
    o.spec.flinkConfiguration["jobmanager.memory.heap.size"] = "1g";
    expect(memoryFindings(o)).toEqual([
      "error spec.jobManager.resource.memory: Flink 1.20 would refuse to start the JobManager: the process size (1200 MiB) is below the Flink size (1152 MiB: JVM heap 1024 MiB plus off-heap 128 MiB) plus JVM Metaspace (256 MiB); Flink accepts no less than 1600 MiB here",
    ]);
  });

  it("warns when the JobManager's heap is below what Flink recommends, and admits", () => {
    const o = application();
    o.spec.jobManager.resource.memory = "640m";
    expect(memoryFindings(o)).toEqual([
      "warning spec.jobManager.resource.memory: leaves the JobManager a JVM heap of 64 MiB, below the 128 MiB Flink recommends",
    ]);
    expect(admitFlinkDeployment(o).allowed).toBe(true);
  });

  it("leaves missing and unreadable sizes to their own rules", () => {
    const o = application();
    o.spec.taskManager.resource.memory = "lots";
    o.spec.flinkConfiguration["jobmanager.memory.jvm-metaspace.size"] = "big";
    expect(memoryFindings(o)).toEqual([]);
  });

  it("admits the usual sizes without a word", () => {
    for (const memory of ["1024m", "2048m", "4g", "1728m"]) {
      const o = application();
      o.spec.jobManager.resource.memory = memory;
      o.spec.taskManager.resource.memory = memory;
      expect(memoryFindings(o)).toEqual([]);
    }
  });
});

describe("Flink's memory derivation", () => {
  it("splits a 1 GiB TaskManager as Flink does, float fractions and truncation included", () => {
    expect(taskManagerMemory({ "taskmanager.memory.process.size": "1024m" }, "v2_3")).toEqual({
      memory: {
        process: 1024 * MIB,
        flink: 576 * MIB,
        frameworkHeap: 128 * MIB,
        taskHeap: 26843542,
        frameworkOffHeap: 128 * MIB,
        taskOffHeap: 0,
        network: 64 * MIB,
        managed: 241591914,
        metaspace: 256 * MIB,
        overhead: 192 * MIB,
      },
    });
  });

  it("reads deprecated keys where the current one is not set", () => {
    const d = taskManagerMemory(
      { "taskmanager.memory.process.size": "1g", "taskmanager.memory.size": "100m" },
      "v1_20",
    );
    expect(d.memory?.managed).toBe(100 * MIB);
  });

  it("derives a JobManager from its Flink size with the overhead as the inverse fraction", () => {
    const d = jobManagerMemory({ "jobmanager.memory.flink.size": "1g" }, "v2_3");
    expect(d.memory).toMatchObject({ heap: 896 * MIB, offHeap: 128 * MIB, overhead: 192 * MIB });
  });
});
