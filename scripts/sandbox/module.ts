import { fork } from "node:child_process";
import { openSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export interface RunningModule {
  /** Loopback port of the module's HTTPS server (https://localhost:<port>). */
  port: number;
  /** The process running scripts/dev.ts, which restarts the module process when it dies. */
  supervisorPid: number;
  /** The module process itself (Pepr's admission and watches): what a crash test kills, whose memory counts. */
  pid(): number;
  /** The module's readiness endpoint: 200 "ready", or 503 "not ready: <why>" (lib/reconcile/module-health.ts). */
  readyz: string;
  /** Removes the webhook configurations, stops the module and waits for it to exit. */
  stop(): Promise<void>;
}

export interface ModuleOptions {
  kubeconfig: string;
  /** Where the module's output goes; inherits our stderr when unset. */
  logFile?: string;
  timeoutMs?: number;
  /** Extra environment of the module process. */
  env?: Record<string, string>;
  /** Keep running after this process exits (npm start --detach); stop it with SIGTERM to its supervisorPid. */
  detach?: boolean;
  /** Called whenever a module process is started (the first and each restart), before it is ready. */
  onStart?: (module: { pid: number; readyz: string }) => void;
}

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Runs `npm run dev` (scripts/dev.ts) against the given cluster in a child process, since Pepr and the
 * fluent client read KUBECONFIG per process, and resolves once its webhook answers.
 */
export function startModule(opts: ModuleOptions): Promise<RunningModule> {
  const out = opts.logFile ? openSync(opts.logFile, "a") : "inherit";
  const child = fork(join(REPO, "scripts", "dev.ts"), [], {
    cwd: REPO,
    execArgv: ["--import", "tsx"],
    env: {
      ...process.env,
      ...opts.env,
      KUBECONFIG: opts.kubeconfig,
      // Nothing the sandbox runs may resolve a name through the machine's DNS (hosts-only-dns.ts).
      FLINK_PEPR_DNS: "hosts-only",
      ...(opts.detach ? { FLINK_PEPR_DEV_DETACHED: "1" } : {}),
    },
    stdio: ["ignore", out, out, "ipc"],
    detached: opts.detach,
  });
  const exited = new Promise<void>(resolve => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };

  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      void stop().then(() =>
        reject(
          new Error(
            `the Pepr module did not start: ${why}${opts.logFile ? ` (see ${opts.logFile})` : ""}`,
          ),
        ),
      );
    };
    const timer = setTimeout(() => fail("timed out"), opts.timeoutMs ?? 180_000);
    const onExit = (code: number | null, signal: string | null) =>
      fail(`scripts/dev.ts exited (${signal ?? `exit ${code}`})`);
    child.once("exit", onExit);
    let pid = 0;
    child.on(
      "message",
      (msg: {
        ready?: boolean;
        forked?: boolean;
        port?: number;
        pid?: number;
        readyz?: string;
      }) => {
        if (msg.forked && msg.pid && msg.readyz) {
          pid = msg.pid;
          opts.onStart?.({ pid: msg.pid, readyz: msg.readyz });
        }
        if (!msg.ready || !msg.port || !msg.pid || !msg.readyz) return;
        pid = msg.pid;
        clearTimeout(timer);
        child.off("exit", onExit);
        if (opts.detach) {
          child.disconnect();
          child.unref();
        }
        resolve({
          port: msg.port,
          supervisorPid: child.pid!,
          pid: () => pid,
          readyz: msg.readyz,
          stop,
        });
      },
    );
  });
}
