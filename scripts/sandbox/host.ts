/*
 * Changes the real node makes to this machine, each recorded in a journal before it is made, so that
 * undoHostChanges() can reverse exactly what was done: after a normal stop, a failed start or a crash of the
 * command that started it (cluster:down, or the next start finding the owner gone).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { appendFile, mkdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isAlive, run, say, seconds, sleep } from "./proc";

/** The pod network: one bridge on this machine, pods in network namespaces that containerd creates. */
export const POD_NET = {
  bridge: "fpo0",
  cidr: "10.244.0.0/16",
  /** host-local hands out addresses from here; the gateway is the bridge's own address. */
  range: "10.244.0.0/24",
  gateway: "10.244.0.1",
  prefix: 16,
} as const;

export const SERVICE_CIDR = "10.0.0.0/16";

/** Our iptables chains: one for forwarded traffic, one for anything the pod network sends past routing. */
const GUARD_FORWARD = "FPO-GUARD-FORWARD";
const GUARD_EGRESS = "FPO-GUARD-EGRESS";

/** Kernel settings the kubelet, kube-proxy or the bridge plugin change; restored to what they were. */
const TOUCHED_SYSCTLS = [
  "net.ipv4.ip_forward",
  "net.ipv4.conf.all.route_localnet",
  "net.bridge.bridge-nf-call-iptables",
  "net.bridge.bridge-nf-call-ip6tables",
  "vm.overcommit_memory",
  "vm.panic_on_oom",
  "kernel.panic",
  "kernel.panic_on_oops",
  "kernel.keys.root_maxkeys",
  "kernel.keys.root_maxbytes",
];

/** Chains the kubelet creates in each table it touches, left behind when it stops. */
const KUBELET_CHAINS: Array<[table: string, chain: string]> = [
  ["filter", "KUBE-FIREWALL"],
  ["mangle", "KUBE-KUBELET-CANARY"],
  ["nat", "KUBE-KUBELET-CANARY"],
  ["filter", "KUBE-KUBELET-CANARY"],
  ["mangle", "KUBE-IPTABLES-HINT"],
];

/** One undo step. Written to the journal before the change it undoes. */
export type Undo =
  | { kind: "sysctls"; values: Record<string, string> }
  | { kind: "bridge"; name: string }
  | { kind: "guard" }
  | { kind: "kubelet-chains" }
  | { kind: "kube-proxy-rules"; bin: string }
  | { kind: "processes"; cgroup: string; marker: string }
  | { kind: "mounts"; under: string }
  | { kind: "netns"; prefix: string; removeDir: boolean }
  | { kind: "remove"; path: string };

/** Where one process at a time on this machine claims the real node (there is one bridge, one node name). */
const LOCK = "/run/flink-pepr-operator/real-node.json";

interface LockRecord {
  dir: string;
  pid: number;
}

export class HostJournal {
  constructor(readonly dir: string) {}

  private get file(): string {
    return join(this.dir, "host-journal.jsonl");
  }

  async add(undo: Undo): Promise<void> {
    await appendFile(this.file, `${JSON.stringify(undo)}\n`);
  }

  entries(): Undo[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map(l => JSON.parse(l) as Undo);
  }
}

/**
 * Claims the machine's real node for dir. A claim whose owner process is gone is stale: its host changes are
 * undone first. A live claim by another sandbox is refused with a message naming it, never taken over.
 */
export async function claimRealNode(dir: string, owner: number): Promise<void> {
  requireRoot();
  const held = readLock();
  if (held && held.dir !== dir) {
    if (sandboxAlive(held)) {
      throw new Error(
        `another sandbox runs the real node on this machine (state ${held.dir}, owner pid ${held.pid}); ` +
          "stop it first (npm stop or npm run cluster:down in its checkout)",
      );
    }
    say(`undoing the host changes of a stopped sandbox (${held.dir})`);
    await undoHostChanges(held.dir);
  }
  await mkdir(dirname(LOCK), { recursive: true });
  await writeFile(LOCK, JSON.stringify({ dir, pid: owner } satisfies LockRecord));
}

/** A claim lives while the process that made it or any process of its sandbox (a detached one) still runs. */
function sandboxAlive(held: LockRecord): boolean {
  if (!existsSync(held.dir)) return false;
  if (isAlive(held.pid)) return true;
  try {
    const state = JSON.parse(readFileSync(join(held.dir, "state.json"), "utf8")) as {
      procs?: Array<{ pid: number }>;
    };
    return (state.procs ?? []).some(p => isAlive(p.pid));
  } catch {
    return false;
  }
}

function readLock(): LockRecord | undefined {
  try {
    return JSON.parse(readFileSync(LOCK, "utf8"));
  } catch {
    return undefined;
  }
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      "the real node needs root (containerd, the kubelet, a bridge and iptables rules on this machine): " +
        "run as root, or use the simulated node (--node kwok)",
    );
  }
}

/**
 * Guard rules first, before any pod can exist: nothing from the pod network is forwarded off the bridge, and
 * nothing with a pod source address leaves by any interface but the bridge and loopback. No masquerading, so
 * a pod's traffic can only ever reach this machine and other pods.
 */
export async function installGuard(journal: HostJournal): Promise<void> {
  await journal.add({ kind: "guard" });
  for (const bin of ["iptables", "ip6tables"]) {
    await ipt(bin, "filter", "-N", GUARD_FORWARD);
    await ipt(
      bin,
      "filter",
      "-A",
      GUARD_FORWARD,
      "-i",
      POD_NET.bridge,
      "-o",
      POD_NET.bridge,
      "-j",
      "RETURN",
    );
    await ipt(bin, "filter", "-A", GUARD_FORWARD, "-i", POD_NET.bridge, "-j", "DROP");
    await ipt(bin, "filter", "-I", "FORWARD", "1", "-j", GUARD_FORWARD);
  }
  await ipt("iptables", "mangle", "-N", GUARD_EGRESS);
  await ipt("iptables", "mangle", "-A", GUARD_EGRESS, "-o", POD_NET.bridge, "-j", "RETURN");
  await ipt("iptables", "mangle", "-A", GUARD_EGRESS, "-o", "lo", "-j", "RETURN");
  await ipt("iptables", "mangle", "-A", GUARD_EGRESS, "-j", "DROP");
  await ipt("iptables", "mangle", "-I", "POSTROUTING", "1", "-s", POD_NET.cidr, "-j", GUARD_EGRESS);
}

/** The guard as iptables -S prints it, for tests that check it is in place. */
export async function guardRules(): Promise<{ forward: string; egress: string }> {
  return {
    forward: await run("iptables", ["-w", "-t", "filter", "-S", GUARD_FORWARD], { quiet: true }),
    egress: await run("iptables", ["-w", "-t", "mangle", "-S", GUARD_EGRESS], { quiet: true }),
  };
}

/** The bridge with the gateway address, made before the apiserver binds that address. IPv4 only. */
export async function createBridge(journal: HostJournal): Promise<void> {
  await journal.add({ kind: "bridge", name: POD_NET.bridge });
  await run("ip", ["link", "add", POD_NET.bridge, "type", "bridge"], { quiet: true });
  await writeFile(`/proc/sys/net/ipv6/conf/${POD_NET.bridge}/disable_ipv6`, "1");
  await run("ip", ["addr", "add", `${POD_NET.gateway}/${POD_NET.prefix}`, "dev", POD_NET.bridge], {
    quiet: true,
  });
  await run("ip", ["link", "set", POD_NET.bridge, "up"], { quiet: true });
}

/** Records the current values of every setting the node's components may change. */
export async function recordSysctls(journal: HostJournal): Promise<void> {
  const values: Record<string, string> = {};
  for (const key of TOUCHED_SYSCTLS) {
    const file = sysctlPath(key);
    if (existsSync(file)) values[key] = (await readFile(file, "utf8")).trim();
  }
  await journal.add({ kind: "sysctls", values });
}

/** Routing between the pods and the host needs forwarding; the guard keeps it on the bridge. */
export async function enableForwarding(): Promise<void> {
  await writeFile(sysctlPath("net.ipv4.ip_forward"), "1");
  // Service traffic between pods on one bridge must pass kube-proxy's rules.
  await writeFile(sysctlPath("net.bridge.bridge-nf-call-iptables"), "1");
}

function sysctlPath(key: string): string {
  return `/proc/sys/${key.replace(/\./g, "/")}`;
}

/** Undoes the journal of dir in reverse, each step best effort, and removes the claim if it is dir's. */
export async function undoHostChanges(dir: string): Promise<void> {
  const journal = new HostJournal(dir);
  for (const undo of journal.entries().reverse()) {
    const started = Date.now();
    try {
      await undoOne(undo);
      if (Date.now() - started > 3000)
        say(`undoing ${undo.kind} took ${seconds(Date.now() - started)}`);
    } catch (err) {
      say(`could not undo ${undo.kind}: ${err instanceof Error ? err.message : err}`);
    }
  }
  await rm(join(dir, "host-journal.jsonl"), { force: true });
  if (readLock()?.dir === dir) await rm(LOCK, { force: true });
}

async function undoOne(undo: Undo): Promise<void> {
  switch (undo.kind) {
    case "processes":
      return killCgroup(undo.cgroup, undo.marker);
    case "mounts":
      return unmountUnder(undo.under);
    case "netns":
      return removeNetns(undo.prefix, undo.removeDir);
    case "kube-proxy-rules":
      if (existsSync(undo.bin)) await run(undo.bin, ["--cleanup"], { quiet: true }).catch(() => "");
      return;
    case "kubelet-chains":
      for (const bin of ["iptables", "ip6tables"])
        for (const [table, chain] of KUBELET_CHAINS) await dropChain(bin, table, chain);
      return;
    case "guard":
      for (const bin of ["iptables", "ip6tables"]) await dropChain(bin, "filter", GUARD_FORWARD);
      await dropChain("iptables", "mangle", GUARD_EGRESS);
      return;
    case "bridge":
      await run("ip", ["link", "del", undo.name], { quiet: true }).catch(() => "");
      return;
    case "sysctls":
      for (const [key, value] of Object.entries(undo.values))
        await writeFile(sysctlPath(key), value).catch(() => undefined);
      return;
    case "remove":
      await rm(undo.path, { recursive: true, force: true });
      return;
  }
}

/** Deletes every rule that jumps to chain in table, then the chain itself. */
async function dropChain(bin: string, table: string, chain: string): Promise<void> {
  const rules = await run(bin, ["-w", "-t", table, "-S"], { quiet: true }).catch(() => "");
  for (const line of rules.split("\n")) {
    const m = /^-A (\S+) (.*-j (\S+).*)$/.exec(line);
    if (m && m[3] === chain) await ipt(bin, table, "-D", m[1], ...splitRule(m[2])).catch(() => "");
  }
  if (!rules.split("\n").includes(`-N ${chain}`)) return;
  await ipt(bin, table, "-F", chain).catch(() => "");
  await ipt(bin, table, "-X", chain).catch(() => "");
}

/** iptables -S quotes arguments with spaces (comments); split as a shell would. */
function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"([^"]*)"|(\S+)/g)].map(m => m[1] ?? m[2]);
}

function ipt(bin: string, table: string, ...args: string[]): Promise<string> {
  return run(bin, ["-w", "-t", table, ...args], { quiet: true });
}

/**
 * Kills every process in the named cgroup (all hierarchies) and removes the cgroups, deepest first. Containers
 * outlive containerd and its shims, so this is what makes sure no pod process is left. Shims are found by the
 * marker (our containerd socket) on their command line.
 */
async function killCgroup(cgroup: string, marker: string): Promise<void> {
  for (const pid of processesWith(marker)) signalQuietly(pid);
  const roots = readdirSync("/sys/fs/cgroup")
    .map(c => join("/sys/fs/cgroup", c, cgroup))
    .filter(p => existsSync(p));
  for (let round = 0; round < 50; round++) {
    const pids = roots.flatMap(r => procsUnder(r));
    if (pids.length === 0) break;
    for (const pid of pids) signalQuietly(pid);
    await sleep(100);
  }
  // A cgroup stays busy for a moment after its last task was killed.
  for (let round = 0; round < 50 && roots.some(r => existsSync(r)); round++) {
    for (const root of roots)
      for (const dir of subdirsDeepestFirst(root)) await rmdir(dir).catch(() => {});
    if (roots.some(r => existsSync(r))) await sleep(100);
  }
}

function procsUnder(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string) => {
    try {
      const procs = readFileSync(join(d, "cgroup.procs"), "utf8");
      out.push(...procs.split("\n").filter(Boolean).map(Number));
      for (const e of readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) walk(join(d, e.name));
    } catch {
      // gone meanwhile
    }
  };
  walk(dir);
  return out;
}

function subdirsDeepestFirst(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    try {
      for (const e of readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) walk(join(d, e.name));
    } catch {
      return;
    }
    out.push(d);
  };
  walk(dir);
  return out;
}

/** Processes whose command line contains marker (e.g. containerd shims started for our socket). */
export function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) pids.push(Number(entry));
    } catch {
      // exited
    }
  }
  return pids.filter(p => p !== process.pid);
}

function signalQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Unmounts everything mounted at or below path, deepest first (lazily, so a busy mount cannot block). */
async function unmountUnder(path: string): Promise<void> {
  const targets = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map(l => l.split(" ")[4])
    .filter((t): t is string => !!t && (t === path || t.startsWith(`${path}/`)))
    .map(t => t.replace(/\\040/g, " "))
    .sort((a, b) => b.length - a.length);
  for (const t of targets) await run("umount", ["-l", t], { quiet: true }).catch(() => "");
}

/** Network namespaces containerd made for our pods (cni-*), and the mount `ip netns` leaves on /run/netns. */
async function removeNetns(prefix: string, removeDir: boolean): Promise<void> {
  const dir = "/run/netns";
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    await run("umount", ["-l", join(dir, name)], { quiet: true }).catch(() => "");
    await rm(join(dir, name), { force: true });
  }
  // containerd made the directory (and may have mounted it): leave the host as it was.
  if (removeDir && readdirSync(dir).length === 0) {
    await run("umount", ["-l", dir], { quiet: true }).catch(() => "");
    await rmdir(dir).catch(() => {});
  }
}

/** What a real node leaves on this machine if teardown missed it; empty after a clean stop. */
export async function hostLeftovers(): Promise<string[]> {
  const found: string[] = [];
  if (existsSync(`/sys/class/net/${POD_NET.bridge}`)) found.push(`bridge ${POD_NET.bridge}`);
  for (const bin of ["iptables", "ip6tables"]) {
    const rules = await run(`${bin}-save`, [], { quiet: true }).catch(() => "");
    for (const chain of new Set(rules.match(/^:(FPO-\S+|KUBE-\S+)/gm) ?? []))
      found.push(`${bin} chain ${chain.slice(1)}`);
  }
  for (const c of readdirSync("/sys/fs/cgroup"))
    if (existsSync(join("/sys/fs/cgroup", c, "kubepods"))) found.push(`cgroup ${c}/kubepods`);
  if (existsSync("/run/netns"))
    for (const n of readdirSync("/run/netns")) if (n.startsWith("cni-")) found.push(`netns ${n}`);
  if (readLock()) found.push(`claim ${LOCK}`);
  return found;
}
