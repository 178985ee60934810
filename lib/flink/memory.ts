import {
  Config,
  LONG_MAX,
  MIB,
  MemoryRefusal,
  Refused,
  capped,
  formatBytes,
  multiply,
  parseMemorySize,
  refuse,
} from "./memory-config";

export type { MemoryRefusal } from "./memory-config";
export { formatBytes } from "./memory-config";

/**
 * Flink's memory model of a JobManager and a TaskManager, derived from a configuration the way Flink derives
 * it before it starts the JVM (the memory utilities BashJavaUtils runs): which of process size, Flink size
 * or the fine-grained sizes is set decides the derivation; the rest comes from fractions capped to their
 * ranges, and what does not add up is refused. Sizes are bytes; the arithmetic is Java's (longs, fractions
 * read as floats, products truncated), so the numbers are the ones Flink computes.
 */

export type MemoryRole = "jobmanager" | "taskmanager";

export interface JobManagerMemory {
  process: number;
  flink: number;
  heap: number;
  offHeap: number;
  metaspace: number;
  overhead: number;
}

export interface TaskManagerMemory {
  process: number;
  flink: number;
  frameworkHeap: number;
  taskHeap: number;
  frameworkOffHeap: number;
  taskOffHeap: number;
  network: number;
  managed: number;
  metaspace: number;
  overhead: number;
}

export type Derivation<M> =
  | { memory: M; refused?: undefined }
  | { memory?: undefined; refused: MemoryRefusal };

export interface DeriveOptions {
  /**
   * What a deprecated TaskManager heap size (taskmanager.heap.size, 1.x) means: Flink's start script reads
   * it as the Flink size (standalone TaskManagers), its Kubernetes resource manager as the process size.
   */
  legacyTaskManagerHeap?: "flink" | "process";
}

/** Keys of one role's process-level options. */
function processKeys(role: MemoryRole) {
  const p = `${role}.memory`;
  return {
    process: `${p}.process.size`,
    flink: `${p}.flink.size`,
    metaspace: `${p}.jvm-metaspace.size`,
    overheadMin: `${p}.jvm-overhead.min`,
    overheadMax: `${p}.jvm-overhead.max`,
    overheadFraction: `${p}.jvm-overhead.fraction`,
  };
}

/** Metaspace and overhead around a Flink size, and the process size they make (ProcessMemoryUtils). */
function aroundFlink(c: Config, role: MemoryRole, flink: bigint, made = "", parts: string[] = []) {
  const k = processKeys(role);
  const metaspace = c.size(k.metaspace);
  const overheadRange = () => c.range(k.overheadMin, k.overheadMax, k.overheadFraction);
  if (c.contains(k.process)) {
    const process = c.size(k.process);
    if (process < flink + metaspace)
      refuse(
        [k.process, ...parts, k.flink, k.metaspace],
        `the process size (${formatBytes(process)}) is below the Flink size (${formatBytes(flink)}${made}) plus JVM Metaspace (${formatBytes(metaspace)})`,
      );
    const overhead = process - flink - metaspace;
    const r = overheadRange();
    if (overhead < r.min || overhead > r.max)
      refuse(
        [k.process, ...parts, k.flink, k.overheadMin, k.overheadMax],
        `the JVM Overhead left by the process size (${formatBytes(process)}) minus the Flink size (${formatBytes(flink)}${made}) and JVM Metaspace (${formatBytes(metaspace)}) is ${formatBytes(overhead)}, outside its range [${formatBytes(r.min)}, ${formatBytes(r.max)}]`,
      );
    return { process, metaspace, overhead };
  }
  const r = overheadRange();
  const overhead = capped(multiply(flink + metaspace, r.fraction / (1 - r.fraction)), r);
  return { process: flink + metaspace + overhead, metaspace, overhead };
}

/** Process size minus metaspace and overhead: the Flink size (ProcessMemoryUtils). */
function insideProcess(c: Config, role: MemoryRole) {
  const k = processKeys(role);
  const process = c.size(k.process);
  const metaspace = c.size(k.metaspace);
  const r = c.range(k.overheadMin, k.overheadMax, k.overheadFraction);
  const overhead = capped(multiply(process, r.fraction), r);
  if (metaspace + overhead > process)
    refuse(
      [k.process, k.metaspace, k.overheadMin],
      `the process size (${formatBytes(process)}) cannot hold JVM Metaspace (${formatBytes(metaspace)}) and JVM Overhead (${formatBytes(overhead)})`,
    );
  return { process, metaspace, overhead, flink: process - metaspace - overhead };
}

const toNumbers = <T extends Record<string, bigint>>(o: T) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number(v)])) as {
    [K in keyof T]: number;
  };

function derive<M>(run: () => M): Derivation<M> {
  try {
    return { memory: run() };
  } catch (e) {
    if (e instanceof Refused) return { refused: e.refusal };
    throw e;
  }
}

const noMemory = (role: MemoryRole, fineGrained: string): never => {
  const k = processKeys(role);
  return refuse(
    [k.process],
    `none of ${k.process}, ${k.flink} or ${fineGrained} is set, so Flink cannot size the process`,
    "unset",
  );
};

/**
 * The deprecated heap size of a role (1.x: <role>.heap.size, <role>.heap.mb) read as `target` when that is
 * not set, as Flink's backwards compatibility does.
 */
function withLegacyHeap(
  config: Record<string, string>,
  flinkVersion: string,
  role: MemoryRole,
  target: string,
): Record<string, string> {
  const c = new Config(config, flinkVersion);
  if (c.contains(target)) return config;
  const [size, mb] = [`${role}.heap.size`, `${role}.heap.mb`];
  if (c.known(size) && config[size] !== undefined) return { ...config, [target]: config[size] };
  if (c.known(mb) && config[mb] !== undefined)
    return { ...config, [target]: `${config[mb].trim()}m` };
  return config;
}

/** A JobManager's memory (JobManagerProcessUtils with BashJavaUtils' reading of the deprecated heap size). */
export function jobManagerMemory(
  config: Record<string, string>,
  flinkVersion: string,
): Derivation<JobManagerMemory> {
  return derive(() => {
    const k = processKeys("jobmanager");
    const heapKey = "jobmanager.memory.heap.size";
    const offHeapKey = "jobmanager.memory.off-heap.size";
    const c = new Config(withLegacyHeap(config, flinkVersion, "jobmanager", heapKey), flinkVersion);

    const fromFlink = (flink: bigint) => {
      const offHeap = c.size(offHeapKey);
      if (flink <= offHeap)
        refuse(
          [k.process, k.flink, offHeapKey],
          `the Flink size (${formatBytes(flink)}) leaves no JVM heap after off-heap memory (${formatBytes(offHeap)})`,
        );
      return { heap: flink - offHeap, offHeap };
    };

    if (c.contains(heapKey)) {
      const heap = c.size(heapKey);
      let offHeap = c.size(offHeapKey);
      if (c.contains(k.flink)) {
        const flink = c.size(k.flink);
        if (c.contains(offHeapKey) && heap + offHeap !== flink)
          refuse(
            [heapKey, k.flink, offHeapKey],
            `JVM heap (${formatBytes(heap)}) plus off-heap memory (${formatBytes(offHeap)}) is not the Flink size (${formatBytes(flink)})`,
          );
        if (flink < heap)
          refuse(
            [heapKey, k.flink],
            `the JVM heap (${formatBytes(heap)}) exceeds the Flink size (${formatBytes(flink)})`,
          );
        offHeap = flink - heap;
      }
      const made = `: JVM heap ${formatBytes(heap)} plus off-heap ${formatBytes(offHeap)}`;
      const around = aroundFlink(c, "jobmanager", heap + offHeap, made, [heapKey, offHeapKey]);
      return toNumbers({ ...around, flink: heap + offHeap, heap, offHeap });
    }
    if (c.contains(k.flink)) {
      const flink = c.size(k.flink);
      const parts = fromFlink(flink);
      return toNumbers({ ...aroundFlink(c, "jobmanager", flink), flink, ...parts });
    }
    if (c.contains(k.process)) {
      const inside = insideProcess(c, "jobmanager");
      return toNumbers({ ...inside, ...fromFlink(inside.flink) });
    }
    return noMemory("jobmanager", heapKey);
  });
}

const TM = {
  frameworkHeap: "taskmanager.memory.framework.heap.size",
  frameworkOffHeap: "taskmanager.memory.framework.off-heap.size",
  taskHeap: "taskmanager.memory.task.heap.size",
  taskOffHeap: "taskmanager.memory.task.off-heap.size",
  managed: "taskmanager.memory.managed.size",
  managedFraction: "taskmanager.memory.managed.fraction",
  networkMin: "taskmanager.memory.network.min",
  networkMax: "taskmanager.memory.network.max",
  networkFraction: "taskmanager.memory.network.fraction",
  legacyBuffers: "taskmanager.network.numberOfBuffers",
  segment: "taskmanager.memory.segment-size",
};

/** Names of a TaskManager's parts in messages. */
const PART_NAMES: Record<string, string> = {
  frameworkHeap: "framework heap",
  frameworkOffHeap: "framework off-heap",
  taskOffHeap: "task off-heap",
  taskHeap: "task heap",
  managed: "managed",
  network: "network",
};

/** A TaskManager's memory (TaskExecutorProcessUtils). */
export function taskManagerMemory(
  config: Record<string, string>,
  flinkVersion: string,
  opts: DeriveOptions = {},
): Derivation<TaskManagerMemory> {
  return derive(() => {
    const k = processKeys("taskmanager");
    const target = opts.legacyTaskManagerHeap === "process" ? k.process : k.flink;
    const values = withLegacyHeap(config, flinkVersion, "taskmanager", target);
    const c = new Config(values, flinkVersion);

    const networkRange = () => c.range(TM.networkMin, TM.networkMax, TM.networkFraction);
    const legacyNetwork =
      c.known(TM.legacyBuffers) &&
      values[TM.legacyBuffers] !== undefined &&
      ![TM.networkMin, TM.networkMax, TM.networkFraction].some(key => c.contains(key));
    const legacyNetworkSize = () =>
      BigInt(Number.parseInt(values[TM.legacyBuffers], 10) || 0) * c.size(TM.segment);
    const managedOf = (flink: bigint) =>
      c.contains(TM.managed)
        ? c.size(TM.managed)
        : multiply(flink, c.range("", "", TM.managedFraction, 0n, LONG_MAX).fraction);
    const fixed = () => ({
      frameworkHeap: c.size(TM.frameworkHeap),
      frameworkOffHeap: c.size(TM.frameworkOffHeap),
      taskOffHeap: c.size(TM.taskOffHeap),
    });
    /** The sum of the parts, refused when the Flink size cannot hold it. */
    const within = (flink: bigint, parts: Record<string, bigint>, keys: string[]) => {
      const total = Object.values(parts).reduce((a, b) => a + b, 0n);
      if (total > flink) {
        const list = Object.entries(parts).map(([n, v]) => `${PART_NAMES[n]} (${formatBytes(v)})`);
        refuse(
          [k.process, k.flink, ...keys],
          `the Flink size (${formatBytes(flink)}) cannot hold ${list.join(", ")}`,
        );
      }
      return total;
    };
    /** The network memory left over when everything else is fixed must still fit its range. */
    const checkLeftover = (network: bigint) => {
      if (legacyNetwork) {
        if (network !== legacyNetworkSize())
          refuse(
            [TM.legacyBuffers, k.flink, TM.taskHeap, TM.managed],
            `the network memory left over (${formatBytes(network)}) is not what ${TM.legacyBuffers} asks for (${formatBytes(legacyNetworkSize())})`,
          );
        return;
      }
      const r = networkRange();
      if (network < r.min || network > r.max)
        refuse(
          [k.flink, TM.taskHeap, TM.managed, TM.networkMin, TM.networkMax],
          `with the Flink size, task heap and managed memory all fixed, the network memory left over is ${formatBytes(network)}, outside its range [${formatBytes(r.min)}, ${formatBytes(r.max)}]`,
        );
    };

    const fromFlink = (flink: bigint) => {
      const f = fixed();
      const managed = managedOf(flink);
      if (c.contains(TM.taskHeap)) {
        const taskHeap = c.size(TM.taskHeap);
        const keys = [TM.taskHeap, TM.managed, TM.managedFraction];
        const network = flink - within(flink, { ...f, taskHeap, managed }, keys);
        checkLeftover(network);
        return { ...f, taskHeap, managed, network };
      }
      const network = legacyNetwork
        ? legacyNetworkSize()
        : capped(multiply(flink, networkRange().fraction), networkRange());
      const keys = [TM.managed, TM.managedFraction, TM.networkMin, TM.networkFraction];
      const taskHeap = flink - within(flink, { ...f, managed, network }, keys);
      return { ...f, managed, network, taskHeap };
    };

    if (c.contains(TM.taskHeap) && c.contains(TM.managed)) {
      const f = fixed();
      const taskHeap = c.size(TM.taskHeap);
      const managed = c.size(TM.managed);
      let network: bigint;
      if (c.contains(k.flink)) {
        const flink = c.size(k.flink);
        network = flink - within(flink, { ...f, taskHeap, managed }, [TM.taskHeap, TM.managed]);
        checkLeftover(network);
      } else if (legacyNetwork) {
        network = legacyNetworkSize();
      } else {
        const r = networkRange();
        const excluded = f.frameworkHeap + f.frameworkOffHeap + f.taskOffHeap + taskHeap + managed;
        network = capped(multiply(excluded, r.fraction / (1 - r.fraction)), r);
      }
      const parts = { ...f, taskHeap, managed, network };
      const flink = Object.values(parts).reduce((a, b) => a + b, 0n);
      const made = `: task heap ${formatBytes(taskHeap)}, managed ${formatBytes(managed)} and the rest`;
      const around = aroundFlink(c, "taskmanager", flink, made, [TM.taskHeap, TM.managed]);
      return toNumbers({ ...around, flink, ...parts });
    }
    if (c.contains(k.flink)) {
      const flink = c.size(k.flink);
      const parts = fromFlink(flink);
      return toNumbers({ ...aroundFlink(c, "taskmanager", flink), flink, ...parts });
    }
    if (c.contains(k.process)) {
      const inside = insideProcess(c, "taskmanager");
      return toNumbers({ ...inside, ...fromFlink(inside.flink) });
    }
    return noMemory("taskmanager", `${TM.taskHeap} with ${TM.managed}`);
  });
}

/**
 * The smallest process size, in whole MiB up to 64 GiB, that the rest of the configuration allows; undefined
 * when none is found. Sizes grow by a quarter from the configured one until one is accepted (a fixed heap
 * also caps the process size, through the overhead's maximum), then a binary search finds the least.
 */
export function minimumProcessSize(
  role: MemoryRole,
  config: Record<string, string>,
  flinkVersion: string,
  opts: DeriveOptions = {},
): number | undefined {
  const key = processKeys(role).process;
  const ok = (mib: number) => {
    const c = { ...config, [key]: `${mib}m` };
    const d =
      role === "jobmanager"
        ? jobManagerMemory(c, flinkVersion)
        : taskManagerMemory(c, flinkVersion, opts);
    return !d.refused;
  };
  const configured = parseMemorySize(config[key] ?? "");
  let low = configured === undefined ? 1 : Math.max(1, Number(configured / MIB));
  let high = low;
  while (!ok(high)) {
    low = high + 1;
    high = Math.ceil(high * 1.25);
    if (high > 64 * 1024) return undefined;
  }
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (ok(mid)) high = mid;
    else low = mid + 1;
  }
  return high * Number(MIB);
}
