import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { cacheDir } from "../../lib/cache";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The state directory of a long-lived sandbox (cluster:up, npm start) of this checkout: one per checkout, so
 * commands run in one checkout never stop or reuse another checkout's cluster.
 */
export function instanceDir(kind: "cluster" | "start"): string {
  const checkout = createHash("sha256").update(REPO).digest("hex").slice(0, 10);
  return cacheDir("sandbox", `${kind}-${checkout}`);
}
