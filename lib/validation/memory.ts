import { FlinkDeploymentSpec, JobManagerSpec, TaskManagerSpec } from "../api/spec";
import { resourceConfiguration } from "../builders/resources";
import { catalogFor } from "../flink/config-check";
import {
  formatBytes,
  jobManagerMemory,
  minimumProcessSize,
  taskManagerMemory,
} from "../flink/memory";
import { Issue, configPath, error, warning } from "./issues";

/** Flink's recommended least JVM heap of a JobManager; below it Flink only logs a warning. */
const JOBMANAGER_MIN_HEAP = 128 * 2 ** 20;

const ROLES = [
  { field: "jobManager", role: "jobmanager", name: "JobManager" },
  { field: "taskManager", role: "taskmanager", name: "TaskManager" },
] as const;

/** Deprecated heap sizes Flink still reads in place of a current key (1.x). */
const LEGACY: Record<string, string[]> = {
  "jobmanager.memory.heap.size": ["jobmanager.heap.size", "jobmanager.heap.mb"],
  "taskmanager.memory.flink.size": ["taskmanager.heap.size", "taskmanager.heap.mb"],
  "taskmanager.memory.process.size": ["taskmanager.heap.size", "taskmanager.heap.mb"],
};

/** Where the spec sets a role's process size: the field the memory came from. */
function specMemoryPath(field: string, spec: JobManagerSpec | TaskManagerSpec | undefined) {
  const resources = spec?.resources;
  if (resources?.requests?.memory !== undefined) return `spec.${field}.resources.requests.memory`;
  if (resources?.limits?.memory !== undefined) return `spec.${field}.resources.limits.memory`;
  return `spec.${field}.resource.memory`;
}

/**
 * What Flink would refuse about each role's memory, before anything is deployed: the memory model derived as
 * Flink derives it (lib/flink/memory.ts) from the effective configuration, the spec's resources included.
 * The issue names the field to change: the spec's memory when the process size is at fault, else the
 * flinkConfiguration key (or says the operator's default configuration set it).
 */
export function memoryIssues(
  spec: FlinkDeploymentSpec,
  config: Record<string, string>,
  own: Record<string, string>,
  roles: ReadonlyArray<"jobManager" | "taskManager">,
): Issue[] {
  const version = spec.flinkVersion;
  if (!version || version === "v1_13" || version === "v1_14") return [];
  const catalog = catalogFor(version);
  const issues: Issue[] = [];
  for (const { field, role, name } of ROLES.filter(r => roles.includes(r.field))) {
    const roleSpec = spec[field];
    let fromSpec: Record<string, string>;
    try {
      fromSpec = resourceConfiguration(role, roleSpec, []);
    } catch {
      continue; // unreadable sizes are reported by roleResourceIssues
    }
    const effective = { ...config, ...fromSpec };
    const legacyTaskManagerHeap = spec.mode === "standalone" ? "flink" : "process";
    const derived =
      role === "jobmanager"
        ? jobManagerMemory(effective, version)
        : taskManagerMemory(effective, version, { legacyTaskManagerHeap });
    const processKey = `${role}.memory.process.size`;
    const specPath = specMemoryPath(field, roleSpec);

    /** The path of a key and how the spec came to set it, or undefined for a Flink default. */
    const locate = (key: string): { path: string; note: string } | undefined => {
      if (key === processKey && fromSpec[key] !== undefined) return { path: specPath, note: "" };
      const aliases = [
        key,
        ...(catalog.catalog.options[key]?.deprecatedKeys ?? []),
        ...(LEGACY[key] ?? []),
      ];
      const inOwn = aliases.find(k => own[k] !== undefined);
      if (inOwn) return { path: configPath(inOwn, "spec.flinkConfiguration"), note: "" };
      const inDefaults = aliases.find(k => config[k] !== undefined);
      if (inDefaults)
        return {
          path: configPath(inDefaults, "spec.flinkConfiguration"),
          note: " (set by the operator's default configuration)",
        };
      return undefined;
    };

    if (derived.refused) {
      const { keys, message, kind } = derived.refused;
      // A missing size is roleResourceIssues' to report, an unreadable value the catalog check's.
      if (kind) continue;
      // The first key the spec or the defaults set is blamed, unless it is a process size no size fixes.
      const located = keys.flatMap(key => {
        const at = locate(key);
        return at ? [{ key, at }] : [];
      });
      let blamed = located[0];
      let hint = "";
      if (blamed?.key === processKey) {
        const least = minimumProcessSize(role, effective, version, { legacyTaskManagerHeap });
        if (least !== undefined) hint = `; Flink accepts no less than ${formatBytes(least)} here`;
        else if (located.length > 1) blamed = located[1];
      }
      const at = blamed?.at ?? { path: specPath, note: "" };
      issues.push(
        error(
          at.path,
          `Flink ${version.slice(1).replace("_", ".")} would refuse to start the ${name}: ${message}${at.note}${hint}`,
        ),
      );
    } else if (role === "jobmanager" && derived.memory && "heap" in derived.memory) {
      const heap = derived.memory.heap;
      if (heap < JOBMANAGER_MIN_HEAP)
        issues.push(
          warning(
            locate(processKey)?.path ?? specPath,
            `leaves the JobManager a JVM heap of ${formatBytes(heap)}, below the ${formatBytes(JOBMANAGER_MIN_HEAP)} Flink recommends`,
          ),
        );
    }
  }
  return issues;
}
