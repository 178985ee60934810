import { readFileSync, readlinkSync } from "node:fs";
import { dirname } from "node:path";
import { readState, saveState, spawnLogged, type ControlPlane } from "./controlplane";
import { Fatal, get, isAlive, say, seconds, sleep, waitFor } from "./proc";

/** A stopped kube-apiserver of a running control plane. */
export interface StoppedApiserver {
  /** When the process had exited (epoch ms). */
  stoppedAt: number;
  /**
   * Starts it again with the arguments it had (same address, serving certificate and etcd data), appending to
   * the same log; resolves with the time /readyz first answered 200.
   */
  start(): Promise<number>;
}

export interface Outage {
  stoppedAt: number;
  /** When the new process was started. */
  startedAt: number;
  /** When its /readyz first answered 200: the apiserver's return. */
  readyAt: number;
}

const APISERVER = "kube-apiserver";
const READY_TIMEOUT_MS = 120_000;

/**
 * Stops the control plane's kube-apiserver. Everything else keeps running and retrying, as in an apiserver
 * outage. The control plane's stop() and its watchdog stop the new process too.
 */
export async function stopApiserver(
  cp: Pick<ControlPlane, "dir" | "kubeconfig">,
): Promise<StoppedApiserver> {
  const state = await readState(cp.dir);
  const proc = state?.procs.find(p => p.name === APISERVER);
  if (!state || !proc || !isAlive(proc.pid))
    throw new Error(`no running ${APISERVER} recorded in ${cp.dir}/state.json`);
  // What it was started with, read back from the process itself: arguments and the log file on its stdout.
  const args = readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").split("\0").slice(1, -1);
  const logDir = dirname(readlinkSync(`/proc/${proc.pid}/fd/1`));
  // Killed rather than stopped: with watches open a graceful stop takes over 10 s, serving them meanwhile, which
  // would blur when the outage began. A killed apiserver resets its connections at once, as a lost host would.
  process.kill(proc.pid, "SIGKILL");
  await waitFor(`${APISERVER} to exit`, async () => !isAlive(proc.pid), 10_000);
  const stoppedAt = Date.now();
  say(`${APISERVER} stopped`);

  const start = async () => {
    const next = spawnLogged(APISERVER, proc.bin, args, logDir);
    const current = (await readState(cp.dir)) ?? state;
    current.procs = current.procs.map(p => (p.name === APISERVER ? next : p));
    await saveState(cp.dir, current);
    const { server, ca, token } = readKubeconfig(cp.kubeconfig);
    await waitFor(
      `${APISERVER} /readyz after its restart`,
      async () => {
        if (!isAlive(next.pid)) throw new Fatal(`${APISERVER} exited after its restart`);
        return (await get(`${server}/readyz`, { ca, token })).status === 200;
      },
      READY_TIMEOUT_MS,
    );
    const readyAt = Date.now();
    say(`${APISERVER} back after ${seconds(readyAt - stoppedAt)}`);
    return readyAt;
  };
  return { stoppedAt, start };
}

/** Stops the kube-apiserver for outageMs (from its exit to the new start) and waits until it is ready again. */
export async function apiserverOutage(
  cp: Pick<ControlPlane, "dir" | "kubeconfig">,
  outageMs: number,
): Promise<Outage> {
  const stopped = await stopApiserver(cp);
  await sleep(Math.max(0, outageMs - (Date.now() - stopped.stoppedAt)));
  const startedAt = Date.now();
  const readyAt = await stopped.start();
  return { stoppedAt: stopped.stoppedAt, startedAt, readyAt };
}

/** The server, CA and token of the admin kubeconfig controlplane.ts writes (JSON). */
function readKubeconfig(path: string): { server: string; ca: Buffer; token: string } {
  const config = JSON.parse(readFileSync(path, "utf8"));
  return {
    server: config.clusters[0].cluster.server,
    ca: Buffer.from(config.clusters[0].cluster["certificate-authority-data"], "base64"),
    token: config.users[0].user.token,
  };
}
