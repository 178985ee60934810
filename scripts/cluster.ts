/*
 * npm run cluster:up   starts a local control plane (building it on first use) and prints `export KUBECONFIG=...`
 * npm run cluster:down stops it and removes its state
 * The processes outlive this command; their pids and state live in cacheDir("sandbox", "cluster").
 */
import { join } from "node:path";
import { cacheDir } from "../lib/cache";
import { binaryPaths } from "./sandbox/build";
import { controlPlaneRunning, startControlPlane, stopControlPlane } from "./sandbox/controlplane";
import { say } from "./sandbox/proc";

const dir = cacheDir("sandbox", "cluster");

async function up(): Promise<void> {
  if (await controlPlaneRunning(dir)) {
    say("the control plane is already running");
  } else {
    await stopControlPlane(dir);
    await startControlPlane({ dir, detach: true });
  }
  say(`kubectl of the same version: ${binaryPaths().kubectl}`);
  process.stdout.write(`export KUBECONFIG=${join(dir, "kubeconfig")}\n`);
}

async function down(): Promise<void> {
  await stopControlPlane(dir);
  say("control plane stopped");
}

const commands: Record<string, () => Promise<void>> = { up, down };
const command = commands[process.argv[2] ?? ""];
if (!command) {
  say("usage: tsx scripts/cluster.ts up|down");
  process.exit(2);
}
command().catch(err => {
  say(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
