/*
 * npm run cluster:up [-- --node real|kwok]  starts a local control plane (building it on first use) and prints
 *                                            `export KUBECONFIG=...`; real (default) runs a kubelet on this
 *                                            machine (root), kwok a simulated node
 * npm run cluster:down                       stops it, removes its state and undoes its changes to the host
 * The processes outlive this command; their pids and state live in a directory of this checkout's own.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { binaryPaths } from "./sandbox/build";
import {
  controlPlaneRunning,
  startControlPlane,
  stopControlPlane,
  type NodeKind,
} from "./sandbox/controlplane";
import { instanceDir } from "./sandbox/instance";
import { say } from "./sandbox/proc";

const dir = instanceDir("cluster");

async function up(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { node: { type: "string", default: "real" } } });
  if (values.node !== "real" && values.node !== "kwok") throw new Error("--node is real or kwok");
  if (await controlPlaneRunning(dir)) {
    say("the control plane is already running");
  } else {
    await stopControlPlane(dir);
    await startControlPlane({ dir, detach: true, node: values.node as NodeKind });
  }
  say(`kubectl of the same version: ${binaryPaths().kubectl}`);
  process.stdout.write(`export KUBECONFIG=${join(dir, "kubeconfig")}\n`);
}

async function down(): Promise<void> {
  await stopControlPlane(dir);
  say("control plane stopped");
}

const commands: Record<string, (args: string[]) => Promise<void>> = { up, down };
const command = commands[process.argv[2] ?? ""];
if (!command) {
  say("usage: tsx scripts/cluster.ts up [--node real|kwok] | down");
  process.exit(2);
}
command(process.argv.slice(3)).catch(err => {
  say(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
