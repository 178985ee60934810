import { spawn, type SpawnOptions } from "node:child_process";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import type { TLSSocket } from "node:tls";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/** Plain progress lines for humans; scripts keep stdout for output meant to be eval'd. */
export function say(message: string): void {
  process.stderr.write(`[sandbox] ${message}\n`);
}

export function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/**
 * Runs a command to completion and returns its stdout. stderr passes through, or with quiet is kept for the
 * error message (for polling). Rejects on a non-zero exit.
 */
export function run(
  cmd: string,
  args: string[],
  opts: SpawnOptions & { timeoutMs?: number; quiet?: boolean } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      ...opts,
      stdio: ["ignore", "pipe", opts.quiet ? "pipe" : "inherit"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    const timer = opts.timeoutMs
      ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs)
      : undefined;
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else
        reject(
          new Error(
            `${cmd} ${args.join(" ")} failed (${signal ?? `exit ${code}`})${err ? `: ${err.trim()}` : ""}`,
          ),
        );
    });
  });
}

/** Asks the kernel for a free loopback port. Another process may grab it before use, which is rare enough here. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A zombie counts as gone: detached processes are reaped by PID 1, which here may take a couple of seconds. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** An error that ends waitFor() at once instead of being retried (e.g. the process we wait for died). */
export class Fatal extends Error {}

/** Polls until check() returns true, or fails with what it last saw. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      if (err instanceof Fatal) throw err;
      last = err;
    }
    await sleep(250);
  }
  throw new Error(
    `timed out after ${seconds(timeoutMs)} waiting for ${what}${last ? `: ${last}` : ""}`,
  );
}

/**
 * Minimal GET with a private CA and a bearer token, which fetch() cannot do without extra packages.
 * pinned (PEM) accepts exactly that server certificate instead of verifying a chain.
 */
export function get(
  url: string,
  opts: { ca?: Buffer | string; token?: string; pinned?: string } = {},
): Promise<{ status: number; body: string }> {
  const client = url.startsWith("https:") ? httpsRequest : httpRequest;
  const headers = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  return new Promise((resolve, reject) => {
    const req = client(
      url,
      { ca: opts.ca, headers, timeout: 5000, rejectUnauthorized: !opts.pinned },
      res => {
        if (opts.pinned) {
          const peer = (res.socket as TLSSocket).getPeerCertificate();
          if (!peer.raw?.equals(new X509Certificate(opts.pinned).raw)) {
            res.destroy();
            return reject(new Error(`${url} presented another certificate than the pinned one`));
          }
        }
        let body = "";
        res.on("data", d => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Runs fn while holding a lock file (one process at a time: a cluster start and a test run may build the same
 * thing together). A lock left by a process that died is taken over.
 */
export async function withFileLock<T>(
  lock: string,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  await mkdir(dirname(lock), { recursive: true });
  let told = false;
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: "wx" });
      break;
    } catch {
      const holder = Number(await readFile(lock, "utf8").catch(() => "0"));
      if (holder && !isAlive(holder)) {
        await rm(lock, { force: true });
        continue;
      }
      if (!told) say(`waiting for the ${what} running in process ${holder || "?"}`);
      told = true;
      await sleep(2000);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}
