import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ImageArchive } from "../../../scripts/sandbox/images";
import { run, sleep, waitFor } from "../../../scripts/sandbox/proc";

/**
 * Helpers for images.test.ts: a private containerd, and an image's entrypoint run for real without
 * Kubernetes (layers unpacked into a directory, then unshare + chroot on the host network).
 */

const CONTAINERD = "/usr/bin/containerd";
export const CTR = "/usr/bin/ctr";

export interface Containerd {
  address: string;
  ctr: (...args: string[]) => Promise<string>;
  stop: () => Promise<void>;
}

/** containerd with its own root, state and socket under dir, and no CRI plugin (so it touches no network). */
export async function startContainerd(dir: string): Promise<Containerd> {
  for (const bin of [CONTAINERD, CTR])
    if (!existsSync(bin)) throw new Error(`${bin} is missing: apt-get install containerd`);
  const address = join(dir, "containerd.sock");
  await writeFile(
    join(dir, "config.toml"),
    [
      "version = 2",
      `root = "${join(dir, "root")}"`,
      `state = "${join(dir, "state")}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${address}"`,
      "[ttrpc]",
      `  address = "${address}.ttrpc"`,
      "[metrics]",
      '  address = ""',
      "",
    ].join("\n"),
  );
  const log = openSync(join(dir, "containerd.log"), "a");
  const child = spawn(CONTAINERD, ["--config", join(dir, "config.toml")], {
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const ctr = (...args: string[]) => run(CTR, ["--address", address, ...args], { quiet: true });
  await waitFor(
    "the private containerd",
    async () => {
      if (child.exitCode !== null)
        throw new Error(
          `containerd exited: ${await readFile(join(dir, "containerd.log"), "utf8")}`,
        );
      return !!(await ctr("version"));
    },
    30_000,
  );
  return {
    address,
    ctr,
    stop: async () => {
      process.off("exit", killOnExit);
      await stopChild(child);
    },
  };
}

async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise(r => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface UnpackedImage {
  rootfs: string;
  /** The image config's "config": Env, Entrypoint, WorkingDir. */
  run: { Env: string[]; Entrypoint: string[]; WorkingDir?: string };
}

/** The layers of a docker-archive applied in order into dir/rootfs (no whiteouts are involved here). */
export async function unpackImage(archive: ImageArchive, dir: string): Promise<UnpackedImage> {
  const extracted = join(dir, "archive");
  const rootfs = join(dir, "rootfs");
  await mkdir(extracted, { recursive: true });
  await mkdir(rootfs, { recursive: true });
  await run("tar", ["-xf", archive.file, "-C", extracted], { quiet: true });
  const [manifest] = JSON.parse(await readFile(join(extracted, "manifest.json"), "utf8")) as {
    Config: string;
    Layers: string[];
  }[];
  const config = JSON.parse(await readFile(join(extracted, manifest.Config), "utf8"));
  for (const layer of manifest.Layers) {
    await run("tar", ["--numeric-owner", "-xpf", join(extracted, layer), "-C", rootfs], {
      quiet: true,
    });
  }
  await rm(extracted, { recursive: true, force: true });
  // A container runtime creates /dev as a mount point; runInImage binds the host's there.
  await mkdir(join(rootfs, "dev"), { recursive: true });
  return { rootfs, run: config.config };
}

/**
 * Name resolution that stays on this machine, as the runtime's /etc/hosts and resolv.conf would provide
 * in a pod: this host's name is 127.0.0.1 and any DNS query goes to loopback.
 */
export async function loopbackNames(image: UnpackedImage): Promise<void> {
  const host = (await run("hostname", [], { quiet: true })).trim();
  await writeFile(join(image.rootfs, "etc", "hosts"), `127.0.0.1\tlocalhost ${host}\n`);
  await writeFile(join(image.rootfs, "etc", "resolv.conf"), "nameserver 127.0.0.1\n");
}

/** The layers' diff ids, from the archive's manifest.json and config (its first two members). */
export async function diffIds(archive: ImageArchive): Promise<string[]> {
  const member = (name: string) =>
    run("tar", ["--occurrence=1", "-xOf", archive.file, name], { quiet: true });
  const [{ Config }] = JSON.parse(await member("manifest.json")) as { Config: string }[];
  return JSON.parse(await member(Config)).rootfs.diff_ids;
}

/** containerd's snapshot key of an image's top layer: the chain id of its diff ids. */
export function chainId(diffIds: string[]): string {
  return diffIds.reduce(
    (chain, diffId) => `sha256:${createHash("sha256").update(`${chain} ${diffId}`).digest("hex")}`,
  );
}

export interface Started {
  /** The unshare process; its pid namespace holds everything the command starts. */
  child: ChildProcess;
  outFile: string;
  startedAt: number;
  output: () => string;
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

export interface RunOptions {
  image: UnpackedImage;
  args: string[];
  env?: Record<string, string>;
  /** Bind-mounted read-only at /opt/flink/conf, as a ConfigMap volume would be. */
  confDir?: string;
  outFile: string;
}

/**
 * Runs the image's entrypoint with args in its own mount and pid namespaces, chrooted into the unpacked
 * layers, with the image's Env and WorkingDir and nothing of the caller's environment. stop() kills the
 * namespace's init and so everything in it; the mounts go with the namespace.
 */
export function runInImage(opts: RunOptions): Started {
  const { rootfs, run: config } = opts.image;
  const env = [...config.Env, ...Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`)];
  const script = [
    'mount --rbind /dev "$R/dev"',
    ...(opts.confDir
      ? ['mount --bind "$CONF" "$R/opt/flink/conf"', 'mount -o remount,bind,ro "$R/opt/flink/conf"']
      : []),
    'exec chroot "$R" /usr/bin/env -i -C "$WD" "$@"',
  ].join(" && ");
  const out = openSync(opts.outFile, "a");
  const child = spawn(
    "unshare",
    [
      "--mount",
      "--pid",
      "--fork",
      "--kill-child",
      `--mount-proc=${join(rootfs, "proc")}`,
      "sh",
      "-c",
      script,
      "sh",
      ...env,
      ...config.Entrypoint,
      ...opts.args,
    ],
    {
      stdio: ["ignore", out, out],
      // Its own process group, which everything in the namespace stays in: the last resort of killAll.
      detached: true,
      env: {
        PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
        R: rootfs,
        CONF: opts.confDir ?? "",
        WD: config.WorkingDir ?? "/",
      },
    },
  );
  closeSync(out);
  const pid = child.pid!;
  // unshare's --kill-child does not outlive the entrypoint dropping root (a change of credentials clears
  // the parent-death signal), so the namespace's init is killed directly, which ends the whole namespace.
  const killAll = () => {
    try {
      const [init] = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ");
      if (init) process.kill(Number(init), "SIGKILL");
    } catch {
      // unshare is gone, and with it the namespace's init
    }
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // the group is empty
    }
  };
  process.once("exit", killAll);
  const exited = new Promise<number | null>(resolve =>
    child.once("exit", code => {
      process.off("exit", killAll);
      resolve(code);
    }),
  );
  return {
    child,
    outFile: opts.outFile,
    startedAt: Date.now(),
    output: () => (existsSync(opts.outFile) ? readFileSync(opts.outFile, "utf8") : ""),
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) killAll();
      await exited;
    },
  };
}

/** Processes whose root directory is inside dir (those chrooted into an unpacked image). */
export function processesIn(dir: string): number[] {
  return readdirSync("/proc")
    .filter(d => /^\d+$/.test(d))
    .filter(d => {
      try {
        return readlinkSync(`/proc/${d}/root`).startsWith(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** Processes below pid (host pids), with their command name and real uid. */
export function descendants(pid: number): { pid: number; comm: string; uid: number }[] {
  const found: { pid: number; comm: string; uid: number }[] = [];
  const all = readdirSync("/proc")
    .filter(d => /^\d+$/.test(d))
    .map(Number);
  const below = new Set([pid]);
  // Parents have smaller pids almost always; a few passes settle the rare exception.
  for (let pass = 0; pass < 3; pass++) {
    for (const p of all) {
      try {
        if (!below.has(p) && below.has(parentOf(p))) below.add(p);
      } catch {
        // gone meanwhile
      }
    }
  }
  for (const p of below) {
    if (p === pid) continue;
    try {
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      found.push({
        pid: p,
        comm: /^Name:\s*(.+)$/m.exec(status)![1],
        uid: Number(/^Uid:\s*(\d+)/m.exec(status)![1]),
      });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * When the namespace's init (the entrypoint, which execs down to the Flink JVM) became `comm`: polled every
 * 100 ms, since an exec keeps the process's start time.
 */
export async function execedAt(
  started: Started,
  comm: string,
  timeoutMs = 240_000,
): Promise<number> {
  const unshare = started.child.pid!;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && started.child.exitCode === null) {
    try {
      const [init] = readFileSync(`/proc/${unshare}/task/${unshare}/children`, "utf8")
        .trim()
        .split(" ");
      if (init && readFileSync(`/proc/${init}/comm`, "utf8").trim() === comm) return Date.now();
    } catch {
      // not there yet, or gone
    }
    await sleep(100);
  }
  throw new Error(`the entrypoint did not become ${comm}:\n${started.output().slice(-4000)}`);
}

/** GET a JSON document from Flink's REST API on loopback; undefined while it does not answer. */
export async function restJson<T>(url: string): Promise<T | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls until check passes, failing at once with the process output if the process ends first. */
export async function waitWhileRunning(
  what: string,
  started: Started,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null || started.child.signalCode !== null)
      throw new Error(`${what}: the process ended first:\n${started.output().slice(-6000)}`);
    if (await check()) return;
    await sleep(500);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000}s:\n${started.output().slice(-6000)}`);
}
