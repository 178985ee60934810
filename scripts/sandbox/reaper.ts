/*
 * Started by startControlPlane for test runs: stops that control plane once the process that started it is gone,
 * however it ended (a test runner killed by Ctrl-C or SIGKILL runs no teardown). Exits by itself once the owner
 * has stopped the control plane normally.
 */
import { existsSync } from "node:fs";
import { stopControlPlane } from "./controlplane";
import { isAlive, sleep } from "./proc";

async function main(owner: number, dir: string): Promise<void> {
  while (isAlive(owner) && existsSync(dir)) await sleep(1000);
  if (existsSync(dir)) await stopControlPlane(dir);
}

void main(Number(process.argv[2]), process.argv[3]);
