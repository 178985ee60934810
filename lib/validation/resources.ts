import { JobManagerSpec, TaskManagerSpec } from "../api/spec";
import { Issue, error, warning } from "./issues";
import { parseMemory, parseQuantity } from "../api/units";

type RoleSpec = JobManagerSpec | TaskManagerSpec;
type Role = "jobManager" | "taskManager";

const MEMORY_KEYS: Record<Role, string[]> = {
  jobManager: [
    "jobmanager.memory.process.size",
    "jobmanager.memory.flink.size",
    "jobmanager.memory.heap.size",
    "jobmanager.heap.size",
  ],
  taskManager: [
    "taskmanager.memory.process.size",
    "taskmanager.memory.flink.size",
    "taskmanager.heap.size",
  ],
};

/** Memory, cpu and storage of a role, in either the reference operator's `resource` or Kubernetes `resources`. */
export function roleResourceIssues(
  role: Role,
  spec: RoleSpec | undefined,
  config: Record<string, string>,
): Issue[] {
  const base = `spec.${role}`;
  const issues: Issue[] = [];
  const resource = spec?.resource;
  const resources = spec?.resources;

  const memoryGiven =
    !!resource?.memory?.trim() ||
    resources?.requests?.memory !== undefined ||
    resources?.limits?.memory !== undefined ||
    MEMORY_KEYS[role].some(k => config[k]) ||
    (role === "taskManager" &&
      !!config["taskmanager.memory.task.heap.size"] &&
      !!config["taskmanager.memory.managed.size"]);
  if (!memoryGiven) {
    issues.push(
      error(
        `${base}.resource.memory`,
        `is required (or set resources.requests.memory, or ${MEMORY_KEYS[role][0]} in flinkConfiguration)`,
      ),
    );
  }

  if (resource && resources) {
    issues.push(
      warning(`${base}.resource`, "is ignored because resources is also set; keep one of them"),
    );
  }
  if (resource) {
    if (resource.memory !== undefined) {
      const bytes = parseMemory(resource.memory);
      if (bytes === undefined)
        issues.push(
          error(
            `${base}.resource.memory`,
            `must be a memory size such as 2048m, 2g or 2Gi, got "${resource.memory}"`,
          ),
        );
      else if (bytes <= 0)
        issues.push(
          error(`${base}.resource.memory`, `must be greater than 0, got "${resource.memory}"`),
        );
    }
    if (resource.ephemeralStorage !== undefined) {
      const bytes = parseQuantity(resource.ephemeralStorage);
      if (bytes === undefined)
        issues.push(
          error(
            `${base}.resource.ephemeralStorage`,
            `must be a Kubernetes quantity such as 10Gi, got "${resource.ephemeralStorage}"`,
          ),
        );
      else if (bytes < 0)
        issues.push(
          error(
            `${base}.resource.ephemeralStorage`,
            `must not be negative, got "${resource.ephemeralStorage}"`,
          ),
        );
    }
    if (resource.cpu !== undefined && resource.cpu <= 0) {
      issues.push(error(`${base}.resource.cpu`, `must be greater than 0, got ${resource.cpu}`));
    }
  }
  if (resources) issues.push(...requirementsIssues(`${base}.resources`, resources));
  return issues;
}

function requirementsIssues(base: string, resources: NonNullable<RoleSpec["resources"]>): Issue[] {
  const issues: Issue[] = [];
  const amount = (name: string, q: string | number) =>
    name === "memory" && typeof q === "string" ? parseMemory(q) : parseQuantity(q);
  for (const kind of ["requests", "limits"] as const) {
    for (const [name, q] of Object.entries(resources[kind] ?? {})) {
      const path = `${base}.${kind}.${name}`;
      const value = amount(name, q);
      if (value === undefined) continue;
      if ((name === "memory" || name === "cpu") && value <= 0)
        issues.push(error(path, `must be greater than 0, got ${JSON.stringify(q)}`));
      else if (value < 0)
        issues.push(error(path, `must not be negative, got ${JSON.stringify(q)}`));
      if (name === "memory" && typeof q === "string" && /^\d+m$/.test(q)) {
        issues.push(
          warning(
            path,
            `"${q}" is read as ${q.slice(0, -1)} MiB, as Flink does; to Kubernetes it would mean ${Number(q.slice(0, -1)) / 1000} bytes. Write ${q.slice(0, -1)}Mi to be unambiguous`,
          ),
        );
      }
    }
  }
  for (const [name, q] of Object.entries(resources.requests ?? {})) {
    const limit = resources.limits?.[name];
    if (limit === undefined) continue;
    const request = amount(name, q);
    const max = amount(name, limit);
    if (request !== undefined && max !== undefined && request > max) {
      issues.push(
        error(
          `${base}.requests.${name}`,
          `must not exceed limits.${name} (${JSON.stringify(q)} > ${JSON.stringify(limit)})`,
        ),
      );
    }
  }
  return issues;
}
