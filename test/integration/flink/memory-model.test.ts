import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  JobManagerMemory,
  MemoryRole,
  TaskManagerMemory,
  jobManagerMemory,
  taskManagerMemory,
} from "../../../lib/flink/memory";
import {
  ensureFlinkRuntime,
  renderConfig,
  resourceParams,
  sandboxDir,
} from "../../../scripts/sandbox/flink-runtime";

/**
 * lib/flink/memory.ts against Flink's own derivation: BashJavaUtils (what Flink's start scripts run before
 * the JVM starts) on the real jars of 1.20 and 2.3, for each configuration of the table. Accepted: the same
 * heap, off-heap, metaspace, overhead, network and managed sizes, to the byte. Refused: refused by both.
 */
interface Case {
  name: string;
  flink: "1.20" | "2.3";
  role: MemoryRole;
  config: Record<string, string>;
  accepted: boolean;
}

const jm = (
  flink: Case["flink"],
  name: string,
  config: Record<string, string>,
  accepted: boolean,
) => ({ name, flink, role: "jobmanager", config, accepted }) as Case;
const tm = (
  flink: Case["flink"],
  name: string,
  config: Record<string, string>,
  accepted: boolean,
) => ({ name, flink, role: "taskmanager", config, accepted }) as Case;

const CASES: Case[] = [
  jm("1.20", "process size 1024m", { "jobmanager.memory.process.size": "1024m" }, true),
  jm(
    "1.20",
    "process size 128m (the issue's)",
    { "jobmanager.memory.process.size": "128m" },
    false,
  ),
  jm("2.3", "process size 600m (tiny heap)", { "jobmanager.memory.process.size": "600m" }, true),
  jm(
    "2.3",
    "process size 576m (no heap left)",
    { "jobmanager.memory.process.size": "576m" },
    false,
  ),
  jm(
    "2.3",
    "process size in bytes, not whole MiB",
    { "jobmanager.memory.process.size": "1000000007b" },
    true,
  ),
  jm(
    "1.20",
    "process 4g, overhead fraction 0.25 capped at its max",
    { "jobmanager.memory.process.size": "4g", "jobmanager.memory.jvm-overhead.fraction": "0.25" },
    true,
  ),
  jm("2.3", "flink size 1g", { "jobmanager.memory.flink.size": "1g" }, true),
  jm(
    "1.20",
    "heap 1g inside process 1200m",
    { "jobmanager.memory.heap.size": "1g", "jobmanager.memory.process.size": "1200m" },
    false,
  ),
  jm(
    "2.3",
    "heap 512m inside process 2g (overhead above its max)",
    { "jobmanager.memory.heap.size": "512m", "jobmanager.memory.process.size": "2g" },
    false,
  ),
  jm(
    "1.20",
    "heap 512m and flink size 600m: off-heap is the rest",
    { "jobmanager.memory.heap.size": "512m", "jobmanager.memory.flink.size": "600m" },
    true,
  ),
  jm(
    "2.3",
    "heap, off-heap and flink size that do not add up",
    {
      "jobmanager.memory.heap.size": "512m",
      "jobmanager.memory.off-heap.size": "128m",
      "jobmanager.memory.flink.size": "600m",
    },
    false,
  ),
  jm("1.20", "deprecated jobmanager.heap.size", { "jobmanager.heap.size": "1g" }, true),
  jm(
    "1.20",
    "overhead min above max",
    {
      "jobmanager.memory.process.size": "2g",
      "jobmanager.memory.jvm-overhead.min": "512m",
      "jobmanager.memory.jvm-overhead.max": "256m",
    },
    false,
  ),
  jm(
    "2.3",
    "overhead fraction 1",
    { "jobmanager.memory.process.size": "1g", "jobmanager.memory.jvm-overhead.fraction": "1.0" },
    false,
  ),
  jm("2.3", "nothing set", {}, false),
  tm("2.3", "process size 1024m", { "taskmanager.memory.process.size": "1024m" }, true),
  tm("1.20", "process size 1728m", { "taskmanager.memory.process.size": "1728m" }, true),
  tm("1.20", "process size 512m", { "taskmanager.memory.process.size": "512m" }, false),
  tm("2.3", "flink size 1280m", { "taskmanager.memory.flink.size": "1280m" }, true),
  tm(
    "1.20",
    "task heap and managed: the rest derived",
    { "taskmanager.memory.task.heap.size": "512m", "taskmanager.memory.managed.size": "256m" },
    true,
  ),
  tm(
    "2.3",
    "task heap, managed and flink size leaving no network memory",
    {
      "taskmanager.memory.task.heap.size": "512m",
      "taskmanager.memory.managed.size": "256m",
      "taskmanager.memory.flink.size": "1g",
    },
    false,
  ),
  tm(
    "1.20",
    "managed fraction 0.7",
    { "taskmanager.memory.process.size": "2g", "taskmanager.memory.managed.fraction": "0.7" },
    true,
  ),
  tm(
    "2.3",
    "managed fraction 0.9",
    { "taskmanager.memory.process.size": "2g", "taskmanager.memory.managed.fraction": "0.9" },
    false,
  ),
  tm(
    "1.20",
    "network min above max",
    {
      "taskmanager.memory.process.size": "2g",
      "taskmanager.memory.network.min": "512m",
      "taskmanager.memory.network.max": "256m",
    },
    false,
  ),
  tm(
    "2.3",
    "network fraction 0.3 capped at max 1g",
    {
      "taskmanager.memory.process.size": "8g",
      "taskmanager.memory.network.fraction": "0.3",
      "taskmanager.memory.network.max": "1g",
    },
    true,
  ),
  tm(
    "2.3",
    "task heap inside process size: the rest is network",
    { "taskmanager.memory.process.size": "2g", "taskmanager.memory.task.heap.size": "500m" },
    true,
  ),
  tm(
    "1.20",
    "task heap too big for the process size",
    { "taskmanager.memory.process.size": "2g", "taskmanager.memory.task.heap.size": "700m" },
    false,
  ),
  tm("1.20", "deprecated taskmanager.heap.size", { "taskmanager.heap.size": "1g" }, true),
  tm(
    "1.20",
    "deprecated number of network buffers",
    { "taskmanager.memory.process.size": "2g", "taskmanager.network.numberOfBuffers": "4096" },
    true,
  ),
  tm(
    "2.3",
    "deprecated network key",
    { "taskmanager.memory.process.size": "1g", "taskmanager.network.memory.min": "32mb" },
    true,
  ),
  tm(
    "1.20",
    "deprecated managed key",
    { "taskmanager.memory.process.size": "1g", "taskmanager.memory.size": "100m" },
    true,
  ),
];

/** BashJavaUtils' answer: the JVM flags and dynamic options it computes, or the error it fails with. */
async function flinkAnswer(c: Case, index: number) {
  const install = await ensureFlinkRuntime(c.flink);
  const dir = join(sandboxDir("memory-model"), String(index));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, install.release.configFile), renderConfig(install.release, c.config));
  try {
    const { jvm, dynamic } = await resourceParams(install, dir, c.role);
    const flag = (prefix: string) => jvm.find(f => f.startsWith(prefix))?.slice(prefix.length);
    const option = (key: string) =>
      dynamic
        .find(d => d.startsWith(`${key}=`))
        ?.slice(key.length + 1)
        .replace(/b$/, "");
    return { flag, option };
  } catch (e) {
    return {
      error: String(e)
        .split("\n")
        .find(l => l.includes("IllegalConfigurationException")),
    };
  }
}

const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));

describe("Flink's memory model, ours against Flink's own (BashJavaUtils)", () => {
  it("has at least 15 cases over both roles, both versions, accepted and refused", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(15);
    for (const flink of ["1.20", "2.3"])
      for (const role of ["jobmanager", "taskmanager"])
        for (const accepted of [true, false])
          expect(
            CASES.some(c => c.flink === flink && c.role === role && c.accepted === accepted),
          ).toBe(true);
  });

  it.each(CASES.map((c, i) => ({ ...c, i })))("$flink $role: $name", async c => {
    const answer = await flinkAnswer(c, c.i);
    const ours =
      c.role === "jobmanager"
        ? jobManagerMemory(c.config, c.flink)
        : taskManagerMemory(c.config, c.flink, { legacyTaskManagerHeap: "flink" });
    expect({ flink: "error" in answer ? answer.error : "accepted" }).toEqual({
      flink: c.accepted ? "accepted" : expect.stringContaining("IllegalConfigurationException"),
    });
    expect(ours.refused?.message).toEqual(c.accepted ? undefined : expect.any(String));
    if ("error" in answer || !ours.memory) return;
    const { flag, option } = answer;
    if (c.role === "jobmanager") {
      const m = ours.memory as JobManagerMemory;
      expect({
        heap: num(flag("-Xmx")),
        offHeap: num(option("jobmanager.memory.off-heap.size")),
        metaspace: num(flag("-XX:MaxMetaspaceSize=")),
        overhead: num(option("jobmanager.memory.jvm-overhead.min")),
      }).toEqual({
        heap: m.heap,
        offHeap: m.offHeap,
        metaspace: m.metaspace,
        overhead: m.overhead,
      });
    } else {
      const m = ours.memory as TaskManagerMemory;
      expect({
        heap: num(flag("-Xmx")),
        direct: num(flag("-XX:MaxDirectMemorySize=")),
        metaspace: num(flag("-XX:MaxMetaspaceSize=")),
        frameworkHeap: num(option("taskmanager.memory.framework.heap.size")),
        taskHeap: num(option("taskmanager.memory.task.heap.size")),
        frameworkOffHeap: num(option("taskmanager.memory.framework.off-heap.size")),
        taskOffHeap: num(option("taskmanager.memory.task.off-heap.size")),
        network: num(option("taskmanager.memory.network.max")),
        managed: num(option("taskmanager.memory.managed.size")),
        overhead: num(option("taskmanager.memory.jvm-overhead.min")),
      }).toEqual({
        heap: m.frameworkHeap + m.taskHeap,
        direct: m.frameworkOffHeap + m.taskOffHeap + m.network,
        metaspace: m.metaspace,
        frameworkHeap: m.frameworkHeap,
        taskHeap: m.taskHeap,
        frameworkOffHeap: m.frameworkOffHeap,
        taskOffHeap: m.taskOffHeap,
        network: m.network,
        managed: m.managed,
        overhead: m.overhead,
      });
    }
  });
});
