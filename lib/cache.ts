import { homedir } from "node:os";
import { join } from "node:path";

/** Where built binaries and downloaded Flink live, outside the repository so reruns start fast. */
export function cacheDir(...parts: string[]): string {
  const root = process.env.FLINK_PEPR_CACHE ?? join(homedir(), ".cache", "flink-pepr-operator");
  return join(root, ...parts);
}
