import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, openSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir } from "../../lib/cache";
import { ensureBinaries, ensureNodeBinaries, type Binaries } from "./build";
import {
  claimRealNode,
  createBridge,
  enableForwarding,
  HostJournal,
  installGuard,
  POD_NET,
  recordSysctls,
  requireRoot,
  SERVICE_CIDR,
  undoHostChanges,
} from "./host";
import { IDENTITIES, kubeconfigYaml, kubeletClientArgs, kubeletClientPki } from "./identities";
import { ensureNodePackages, REAL_NODE_NAME, startRealNode } from "./node";
import { Fatal, freePort, get, isAlive, run, say, seconds, sleep, waitFor } from "./proc";

export interface ControlPlane {
  /** Path of an admin kubeconfig (token auth, CA embedded). */
  kubeconfig: string;
  /** kubectl built from the same Kubernetes version as the apiserver. */
  kubectl: string;
  /** State directory: kubeconfig, keys, data, one log file per component. */
  dir: string;
  /** The audit log, when asked for (StartOptions.auditLog). */
  auditLog?: string;
  /** Stops every process this control plane started and removes its state directory. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** State directory, created and removed by us; defaults to a fresh one under cacheDir("sandbox"). */
  dir?: string;
  /**
   * Leave the processes running when this process exits (npm run cluster:up). Otherwise a watchdog stops
   * them when this process ends, so a killed test run does not leak a control plane.
   */
  detach?: boolean;
  /** Where each component writes <name>.log; defaults to the state directory, which stop() removes. */
  logDir?: string;
  /**
   * "kwok" (default): one simulated node, pods Running without containers; no root needed.
   * "real": a kubelet with containerd on this machine (root); pods run Flink for real.
   */
  node?: NodeKind;
  /**
   * Write an apiserver audit log (JSON lines, audit.log in the state directory) of the requests made with service
   * account tokens outside kube-system, with their bodies: what a test learns an identity's calls from.
   */
  auditLog?: boolean;
}

export type NodeKind = "kwok" | "real";

interface Proc {
  name: string;
  pid: number;
  bin: string;
}

/** What state.json records, so cluster:down and stale-run clean-up can find the processes. */
interface State {
  procs: Proc[];
  ready?: boolean;
  node?: NodeKind;
  /** Start-up steps in order with their time, so a test can check that the guard came before the first pod. */
  steps?: Array<{ step: string; at: number }>;
}

export const NODE_NAME = "kwok-node-0";
export const KWOK_POD_CIDR = "127.64.0.0/16";
const STARTUP_TIMEOUT_MS = 120_000;

/** Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on loopback, with one simulated Node. */
export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const node = opts.node ?? "kwok";
  if (node === "real") {
    requireRoot();
    await ensureNodePackages();
    await ensureNodeBinaries();
  }
  const bins = await ensureBinaries();
  await reapStale();
  const dir = opts.dir ?? join(cacheDir("sandbox"), `run-${process.pid}-${Date.now()}`);
  const logDir = opts.logDir ?? dir;
  await mkdir(dir, { recursive: true });
  await mkdir(logDir, { recursive: true });
  const state: State = { procs: [], node, steps: [] };
  await writeFile(join(dir, "state.json"), JSON.stringify(state, null, 2));
  const stop = () => stopControlPlane(dir);
  if (!opts.detach) startReaper(dir);

  const started = Date.now();
  // In the run's own state directory: log directories may be shared by runs.
  const auditLog = opts.auditLog ? join(dir, "audit.log") : undefined;
  try {
    if (node === "real") await prepareHost(dir, state);
    await launch(bins, dir, logDir, state, auditLog);
  } catch (err) {
    await stop();
    throw err;
  }
  say(`control plane ready in ${seconds(Date.now() - started)} (state in ${dir})`);
  return { kubeconfig: join(dir, "kubeconfig"), kubectl: bins.kubectl, dir, auditLog, stop };
}

export async function saveState(dir: string, state: State): Promise<void> {
  await writeFile(join(dir, "state.json"), JSON.stringify(state, null, 2));
}

async function step(dir: string, state: State, name: string): Promise<void> {
  state.steps!.push({ step: name, at: Date.now() });
  await saveState(dir, state);
}

/** Host changes the real node needs, each journaled first; the guard is in place before anything else runs. */
async function prepareHost(dir: string, state: State): Promise<void> {
  await claimRealNode(dir, process.pid);
  const journal = new HostJournal(dir);
  await recordSysctls(journal);
  await installGuard(journal);
  await step(dir, state, "guard");
  await createBridge(journal);
  await enableForwarding();
  await journal.add({ kind: "remove", path: "/tmp/hostpath_pv" });
  await step(dir, state, "bridge");
}

/** Service accounts' requests at Request level (with bodies); the controllers' own (kube-system) and admin's not. */
const AUDIT_POLICY = {
  apiVersion: "audit.k8s.io/v1",
  kind: "Policy",
  omitStages: ["RequestReceived"],
  rules: [
    { level: "None", userGroups: ["system:serviceaccounts:kube-system"] },
    { level: "Request", userGroups: ["system:serviceaccounts"] },
    { level: "None" },
  ],
};

async function auditArgs(dir: string, auditLog: string | undefined): Promise<string[]> {
  if (!auditLog) return [];
  const policy = join(dir, "audit-policy.json");
  await writeFile(policy, JSON.stringify(AUDIT_POLICY));
  return [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`];
}

async function launch(
  bins: Binaries,
  dir: string,
  logDir: string,
  state: State,
  auditLog: string | undefined,
): Promise<void> {
  const started = Date.now();
  const real = state.node === "real";
  // Pods reach the apiserver through the kubernetes Service, so on a real node it listens on the bridge.
  const apiAddress = real ? POD_NET.gateway : "127.0.0.1";
  const [etcdPort, peerPort, apiPort, kcmPort, schedPort, kwokPort] = await Promise.all(
    Array.from({ length: 6 }, freePort),
  );
  const start = async (name: string, bin: string, args: string[], env?: NodeJS.ProcessEnv) => {
    state.procs.push(spawnLogged(name, bin, args, logDir, env));
    await step(dir, state, name);
  };

  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  await start("etcd", bins.etcd, [
    `--data-dir=${join(dir, "etcd")}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=default=${peerUrl}`,
    // Throw-away data: durability only costs time.
    "--unsafe-no-fsync",
  ]);
  await waitFor(
    "etcd /health",
    async () => alive(state, logDir) && (await get(`${etcdUrl}/health`)).status === 200,
    STARTUP_TIMEOUT_MS,
  );

  // One identity per component: the admin, and on a real node the kubelet, kube-proxy and CoreDNS.
  const tokens = Object.fromEntries(
    Object.keys(IDENTITIES).map(user => [user, randomBytes(24).toString("hex")]),
  ) as Record<keyof typeof IDENTITIES, string>;
  const token = tokens.admin;
  await writeFile(
    join(dir, "tokens.csv"),
    Object.entries(IDENTITIES)
      .map(([user, id]) => `${tokens[user as keyof typeof IDENTITIES]},${id}\n`)
      .join(""),
    { mode: 0o600 },
  );
  const kubeletClient = real ? await kubeletClientPki(dir) : undefined;
  const sa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  await writeFile(join(dir, "sa.key"), sa.privateKey.export({ type: "pkcs8", format: "pem" }), {
    mode: 0o600,
  });
  await writeFile(join(dir, "sa.pub"), sa.publicKey.export({ type: "spki", format: "pem" }));

  const certDir = join(dir, "pki");
  await start("kube-apiserver", bins.kubeApiserver, [
    `--etcd-servers=${etcdUrl}`,
    `--bind-address=${apiAddress}`,
    `--advertise-address=${apiAddress}`,
    `--secure-port=${apiPort}`,
    // Generates a self-signed serving cert for 127.0.0.1 and localhost into apiserver.crt.
    `--cert-dir=${certDir}`,
    `--token-auth-file=${join(dir, "tokens.csv")}`,
    "--authorization-mode=RBAC",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${join(dir, "sa.pub")}`,
    `--service-account-signing-key-file=${join(dir, "sa.key")}`,
    // Room for a few thousand ClusterIP Services (the provision benchmark makes one per FlinkDeployment).
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    // kwok: no kube-proxy or real endpoints; the kubernetes Service would otherwise point at 127.0.0.1.
    ...(real ? kubeletClientArgs(kubeletClient!) : ["--endpoint-reconciler-type=none"]),
    "--allow-privileged=true",
    ...(await auditArgs(dir, auditLog)),
  ]);
  const caFile = join(certDir, "apiserver.crt");
  await waitFor(
    "kube-apiserver to write its certificate",
    async () => alive(state, logDir) && existsSync(caFile),
    STARTUP_TIMEOUT_MS,
  );
  const ca = await readFile(caFile);
  const server = `https://${apiAddress}:${apiPort}`;
  await waitFor(
    "kube-apiserver /readyz",
    async () =>
      alive(state, logDir) && (await get(`${server}/readyz`, { ca, token })).status === 200,
    STARTUP_TIMEOUT_MS,
  );

  say(`kube-apiserver ready in ${seconds(Date.now() - started)}`);
  const kubeconfig = join(dir, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigYaml(server, ca, token), { mode: 0o600 });
  const common = [`--kubeconfig=${kubeconfig}`, "--leader-elect=false", "--bind-address=127.0.0.1"];

  await start("kube-controller-manager", bins.kubeControllerManager, [
    ...common,
    `--secure-port=${kcmPort}`,
    `--cert-dir=${join(dir, "kcm")}`,
    `--service-account-private-key-file=${join(dir, "sa.key")}`,
    `--root-ca-file=${caFile}`,
    "--use-service-account-credentials=true",
    // Its single-node provisioner backs the real node's default StorageClass.
    ...(real ? ["--enable-hostpath-provisioner=true"] : []),
  ]);
  await start("kube-scheduler", bins.kubeScheduler, [
    ...common,
    `--secure-port=${schedPort}`,
    `--cert-dir=${join(dir, "scheduler")}`,
  ]);
  const kubectl = (...args: string[]) =>
    run(bins.kubectl, [`--kubeconfig=${kubeconfig}`, ...args], { quiet: true });
  let nodeName = NODE_NAME;
  if (real) {
    nodeName = REAL_NODE_NAME;
    await startRealNode({
      dir,
      journal: new HostJournal(dir),
      bins: await ensureNodeBinaries(),
      kubectl,
      kubeconfigFor: async user => {
        const file = join(dir, `${user}.kubeconfig`);
        await writeFile(file, kubeconfigYaml(server, ca, tokens[user as keyof typeof IDENTITIES]), {
          mode: 0o600,
        });
        return file;
      },
      kubeletClientCa: kubeletClient!.caCert,
      launch: start,
    });
  } else {
    await start("kwok", bins.kwok, [
      `--kubeconfig=${kubeconfig}`,
      `--config=${bins.kwokStages}`,
      "--manage-all-nodes=true",
      // Nodes stay Ready through a lease kwok renews, as with kwokctl's defaults.
      "--node-lease-duration-seconds=40",
      `--server-address=127.0.0.1:${kwokPort}`,
      // Simulated pods and the node get loopback addresses: the apiserver refuses loopback endpoints, so nothing
      // (a service proxy call to a simulated JobManager, logs of a simulated pod) is ever dialled off this machine.
      // kwok's default pod range, 10.0.0.0/24, would send such calls out of the machine's default route.
      `--cidr=${KWOK_POD_CIDR}`,
      "--node-ip=127.0.0.1",
    ]);
    await kubectl("apply", "-f", await writeNodeManifest(dir));
  }
  await waitFor(
    `node ${nodeName} Ready`,
    async () => {
      if (!alive(state, logDir)) return false;
      const status = await kubectl(
        "get",
        "node",
        nodeName,
        "-o",
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      );
      return status.trim() === "True";
    },
    STARTUP_TIMEOUT_MS,
  );
  // Pods are refused until the service account controller has made "default" in each namespace.
  await waitFor(
    "default service account",
    async () =>
      alive(state, logDir) && !!(await kubectl("get", "serviceaccount", "default", "-o", "name")),
    STARTUP_TIMEOUT_MS,
  );
  state.ready = true;
  await saveState(dir, state);
}

/** A detached watchdog (reaper.ts) that stops the control plane if this process dies without doing so. */
function startReaper(dir: string): void {
  const reaper = fileURLToPath(new URL("reaper.ts", import.meta.url));
  const repo = fileURLToPath(new URL("../..", import.meta.url));
  spawn(process.execPath, ["--import", "tsx", reaper, String(process.pid), dir], {
    cwd: repo,
    detached: true,
    stdio: "ignore",
  }).unref();
}

export function spawnLogged(
  name: string,
  bin: string,
  args: string[],
  logDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Proc {
  const out = openSync(join(logDir, `${name}.log`), "a");
  // Own process group, so a terminal's Ctrl-C on `npm run cluster:up` does not take the cluster down with it.
  const child = spawn(bin, args, { detached: true, stdio: ["ignore", out, out], env });
  child.unref();
  if (!child.pid) throw new Error(`could not start ${name} (${bin})`);
  return { name, pid: child.pid, bin };
}

/** Throws with the log tail of the first component that died, so a failed start says why. */
function alive(state: State, logDir: string): boolean {
  const dead = state.procs.find(p => !isAlive(p.pid));
  if (dead) {
    const log = join(logDir, `${dead.name}.log`);
    const tail = readFileSync(log, "utf8").split("\n").slice(-25).join("\n");
    throw new Fatal(`${dead.name} exited during start-up; last lines of ${log}:\n${tail}`);
  }
  return true;
}

async function writeNodeManifest(dir: string): Promise<string> {
  const resources = { cpu: "32", memory: "256Gi", pods: "1000" };
  const node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: NODE_NAME,
      labels: {
        "kubernetes.io/hostname": NODE_NAME,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        type: "kwok",
      },
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
    },
    // Nodes may set status on create; kwok keeps conditions and heartbeats up to date from here on.
    status: {
      capacity: resources,
      allocatable: resources,
      nodeInfo: {
        architecture: "amd64",
        operatingSystem: "linux",
        kubeletVersion: "fake",
        kubeProxyVersion: "fake",
      },
    },
  };
  const file = join(dir, "node.json");
  await writeFile(file, JSON.stringify(node));
  return file;
}

/** Stops the control plane recorded in dir (if any) and removes the directory. */
export async function stopControlPlane(dir: string): Promise<void> {
  const state = await readState(dir);
  if (state) await terminate(state.procs);
  // Also when state.json was never written: a start killed early may still have journaled host changes.
  await undoHostChanges(dir);
  await rm(dir, { recursive: true, force: true });
}

/** True when dir holds a control plane whose processes all still run. */
export async function controlPlaneRunning(dir: string): Promise<boolean> {
  const state = await readState(dir);
  return !!state?.ready && state.procs.every(ours);
}

export async function readState(dir: string): Promise<State | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, "state.json"), "utf8"));
  } catch {
    return undefined;
  }
}

/** Stops components in reverse start order; SIGKILL whatever ignores SIGTERM for 10s. */
async function terminate(procs: Proc[]): Promise<void> {
  for (const p of [...procs].reverse()) {
    if (!ours(p)) continue;
    signal(p.pid, "SIGTERM");
    for (let i = 0; i < 100 && isAlive(p.pid); i++) await sleep(100);
    if (isAlive(p.pid)) {
      say(`${p.name} ignored SIGTERM for 10s; killing it`);
      signal(p.pid, "SIGKILL");
    }
  }
}

/** process.kill that tolerates the process having exited in the meantime. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/** Guards against pid reuse: only signal a pid that still runs the binary we started. */
function ours(p: Proc): boolean {
  try {
    return readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0")[0] === p.bin;
  } catch {
    return false;
  }
}

/** Removes control planes left behind by test runs that were killed before their teardown ran. */
async function reapStale(): Promise<void> {
  const root = cacheDir("sandbox");
  const entries = await readdir(root).catch(() => [] as string[]);
  for (const entry of entries) {
    // Run directories are named run-<owner pid>-<time>; the owner tears its own down.
    const owner = Number(/^run-(\d+)-/.exec(entry)?.[1]);
    if (!owner || isAlive(owner)) continue;
    const dir = join(root, entry);
    say(`removing stale control plane ${dir}`);
    await stopControlPlane(dir);
  }
}
