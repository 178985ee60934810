import type { V1ResourceRequirements } from "@kubernetes/client-node";
import { JobManagerSpec, TaskManagerSpec } from "../api/spec";
import { parseFlinkMemory, parseMemory, parseQuantity } from "../api/units";
import { Role } from "./metadata";

type RoleSpec = JobManagerSpec | TaskManagerSpec;
type Requirements = NonNullable<RoleSpec["resources"]>;
type Amounts = Record<string, string>;

const MIB = 2 ** 20;

/** Flink's name for a role in its memory keys. */
const MEMORY_KEY: Record<Role, string> = {
  jobmanager: "jobmanager.memory.process.size",
  taskmanager: "taskmanager.memory.process.size",
};

const hasAmounts = (r: Requirements | undefined) =>
  Object.keys(r?.requests ?? {}).length + Object.keys(r?.limits ?? {}).length > 0;

function memoryBytes(where: string, value: string | number): number {
  // Flink's units first: "2048m" is 2048 MiB to Flink, and the reference examples mean it that way.
  const bytes = typeof value === "number" ? value : parseMemory(value);
  if (bytes === undefined) throw new Error(`${where}: "${value}" is not a memory size`);
  return bytes;
}

function cpuCores(where: string, value: string | number): number {
  const cores = parseQuantity(value);
  if (cores === undefined) throw new Error(`${where}: "${value}" is not a cpu quantity`);
  return cores;
}

/** A memory size as Flink reads it back: whole MiB when it divides, bytes otherwise. */
const flinkMemory = (bytes: number) => (bytes % MIB === 0 ? `${bytes / MIB}m` : `${bytes}b`);

/**
 * The Flink configuration keys that carry a role's spec resources: process memory, cpu and, from the
 * Kubernetes form, the limit factors. `resources` wins over the older `resource` when it holds anything.
 */
export function resourceConfiguration(
  role: Role,
  spec: RoleSpec | undefined,
  cpuKeys: string[],
): Amounts {
  const config: Amounts = {};
  const setCpu = (cores: number) => cpuKeys.forEach(k => (config[k] = String(cores)));
  const resources = spec?.resources;
  if (hasAmounts(resources)) {
    const where = `${role} resources`;
    const request = (name: string) => resources?.requests?.[name];
    const limit = (name: string) => resources?.limits?.[name];
    // Kubernetes defaults a missing request to the limit; so does Flink's view of it.
    const memory = request("memory") ?? limit("memory");
    if (memory !== undefined) config[MEMORY_KEY[role]] = flinkMemory(memoryBytes(where, memory));
    const cpu = request("cpu") ?? limit("cpu");
    if (cpu !== undefined) setCpu(cpuCores(where, cpu));
    const factor = (name: string, amount: (where: string, v: string | number) => number) => {
      const req = request(name);
      const lim = limit(name);
      if (req === undefined || lim === undefined || amount(where, req) <= 0) return;
      config[`kubernetes.${role}.${name}.limit-factor`] = String(
        amount(where, lim) / amount(where, req),
      );
    };
    factor("cpu", cpuCores);
    factor("memory", memoryBytes);
    return config;
  }
  const resource = spec?.resource;
  if (resource?.memory !== undefined)
    config[MEMORY_KEY[role]] = flinkMemory(memoryBytes(`${role} resource.memory`, resource.memory));
  if (resource?.cpu !== undefined) setCpu(resource.cpu);
  return config;
}

/** Requests and limits other than cpu and memory (ephemeral storage, devices), which Flink leaves to the pod. */
export function otherResources(spec: RoleSpec | undefined): { requests: Amounts; limits: Amounts } {
  const resources = spec?.resources;
  if (hasAmounts(resources)) {
    const others = (amounts: Record<string, string | number> | undefined) =>
      Object.fromEntries(
        Object.entries(amounts ?? {})
          .filter(([name]) => name !== "cpu" && name !== "memory")
          .map(([name, v]) => [name, String(v)]),
      );
    return { requests: others(resources?.requests), limits: others(resources?.limits) };
  }
  const storage = spec?.resource?.ephemeralStorage;
  const amounts: Amounts = storage === undefined ? {} : { "ephemeral-storage": storage };
  return { requests: { ...amounts }, limits: { ...amounts } };
}

const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));

/** Cores of a role's pod, read from the effective configuration with Flink's precedence and defaults. */
function configuredCpu(role: Role, config: Amounts): number {
  const explicit = number(
    config[`kubernetes.${role}.cpu.amount`] ?? config[`kubernetes.${role}.cpu`],
  );
  if (role === "jobmanager") return explicit ?? 1;
  const cores = number(config["taskmanager.cpu.cores"]);
  if (cores !== undefined) return cores;
  if (explicit !== undefined && explicit > 0) return explicit;
  return number(config["taskmanager.numberOfTaskSlots"]) ?? 1;
}

/** Whole cores as "2", fractions in millicores, the form kubectl shows. */
const cpuQuantity = (cores: number) =>
  Number.isInteger(cores) ? String(cores) : `${Math.round(cores * 1000)}m`;

/**
 * The main container's resources, as Flink's Kubernetes client computes them: cpu and memory from the
 * effective configuration (limits = request × limit factor, memory in whole MiB), over the spec's other
 * resources, over whatever the pod template already asked for.
 */
export function mainContainerResources(
  role: Role,
  config: Amounts,
  spec: RoleSpec | undefined,
  fromTemplate: V1ResourceRequirements | undefined,
): V1ResourceRequirements {
  const others = otherResources(spec);
  const requests: Amounts = { ...fromTemplate?.requests, ...others.requests };
  const limits: Amounts = { ...fromTemplate?.limits, ...others.limits };

  const cpu = configuredCpu(role, config);
  const cpuFactor = number(config[`kubernetes.${role}.cpu.limit-factor`]) ?? 1;
  requests.cpu = cpuQuantity(cpu);
  limits.cpu = cpuQuantity(cpu * cpuFactor);

  const processSize = config[MEMORY_KEY[role]];
  if (processSize !== undefined) {
    const bytes = parseFlinkMemory(processSize);
    if (bytes === undefined)
      throw new Error(`${MEMORY_KEY[role]}: "${processSize}" is not a Flink memory size`);
    const mib = Math.floor(bytes / MIB);
    const memoryFactor = number(config[`kubernetes.${role}.memory.limit-factor`]) ?? 1;
    requests.memory = `${mib}Mi`;
    limits.memory = `${Math.floor(mib * memoryFactor)}Mi`;
  }
  return { ...fromTemplate, requests, limits };
}
