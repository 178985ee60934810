import type { EventEmitter } from "node:events";
import { createServer } from "node:http";
import type { GenericClass } from "kubernetes-fluent-client";
import { Watcher, WatchEvent } from "kubernetes-fluent-client/dist/fluent/watch.js";
import { log } from "../log";
import { call } from "./api";
import { errorText } from "./errors";
import { assess, readinessAnswer, WatchHealth, type HealthLimits } from "./watch-health";

/** Exit status asking the supervisor (scripts/dev.ts; in a cluster the kubelet restarts anyway) for a restart. */
export const RESTART_EXIT_CODE = 75;

/** Pepr's store is ready about 1-4 s after Pepr starts (it waits a random 0-3 s first). */
export const LIMITS: HealthLimits = { storeDeadlineMs: 20_000 };
const APISERVER_RETRY_MS = 1_000;
const CHECK_MS = 1_000;
/** The reconciler's safety net against a missed watch event: a full re-list this often. */
const RESYNC_INTERVAL_MS = 300_000;

export interface ModuleHealthOptions {
  /** Constructs the PeprModule (which starts its store, then its admission endpoints and watches). */
  start: () => void;
  /** A capability's Store.onReady: called when Pepr's store has its first data. */
  onStoreReady: (callback: () => void) => void;
  /** Re-lists what the watches deliver; run when a watch is back after failing and every RESYNC_INTERVAL_MS. */
  resync?: () => Promise<void>;
  /** host:port for GET /readyz; no endpoint when unset. */
  address?: string;
}

/** Where Pepr runs Watch and Reconcile bindings: its watcher Deployment, or `pepr dev` and scripts/dev.ts. */
export const runsWatches = () =>
  process.env.PEPR_WATCH_MODE === "true" || process.env.PEPR_MODE === "dev";

/**
 * Starts Pepr once the apiserver answers and keeps the process whole or ends it: Pepr 1.1.4 never retries a
 * store that failed to start (admission and watches then never start), and a watch that gives up throws from a
 * timer. Both exit with RESTART_EXIT_CODE; /readyz says why the process is not ready meanwhile.
 */
export function superviseModule(opts: ModuleHealthOptions): void {
  const health = new WatchHealth(Date.now());
  const exit = (why: string) => {
    log.error(`the module cannot become whole: ${why}; exiting so that it is restarted`);
    process.exit(RESTART_EXIT_CODE);
  };
  const resync = coalesce(opts.resync);
  followWatches(health, resync, exit);
  if (opts.address) serveReadiness(health, opts.address);
  opts.onStoreReady(() => {
    health.storeReady(Date.now());
    if (opts.resync) setInterval(resync, RESYNC_INTERVAL_MS).unref();
  });
  void untilApiserverAnswers(health).then(() => {
    health.peprStarted(Date.now());
    opts.start();
  });
  setInterval(() => {
    const verdict = assess(health.snapshot(), Date.now(), LIMITS);
    if (verdict.exit) exit(verdict.exit);
  }, CHECK_MS).unref();
}

/** Runs fn one call at a time; calls while it runs make it run once more afterwards. */
function coalesce(fn: (() => Promise<void>) | undefined): () => void {
  let running = false;
  let again = false;
  return () => {
    if (!fn) return;
    if (running) return void (again = true);
    running = true;
    void (async () => {
      do {
        again = false;
        await fn().catch(e => log.warn(`resync failed: ${errorText(e)}`));
      } while (again);
      running = false;
    })();
  };
}

let following = false;

/**
 * Follows every kubernetes-fluent-client watch the process starts: Pepr keeps its watchers private, and the
 * fluent client is one shared copy (external to the module bundle), so its Watcher class is the one handle.
 */
function followWatches(health: WatchHealth, resync: () => void, exit: (why: string) => void) {
  if (following) throw new Error("the module's watches are followed already");
  following = true;
  const follow = (events: EventEmitter) => {
    const id = health.watchStarted();
    const failed = (e: unknown) => health.watchFailed(id, Date.now(), errorText(e));
    events.on(WatchEvent.CONNECT, (path: string) => {
      if (health.watchConnected(id, path)) {
        log.info(`${path}: watch connected again; re-listing`);
        resync();
      }
    });
    events.on(WatchEvent.NETWORK_ERROR, failed);
    events.on(WatchEvent.WATCH_ERROR, failed);
    events.on(WatchEvent.RECONNECT, (attempt: number) => health.watchReconnecting(id, attempt));
    events.on(WatchEvent.ABORT, () => health.watchClosed(id));
    // Before Pepr's own listener, which throws from the fluent client's timer and so kills the process.
    events.prependListener(WatchEvent.GIVE_UP, (e: unknown) => {
      health.watchGaveUp(id, errorText(e));
      exit(assess(health.snapshot(), Date.now(), LIMITS).exit!);
    });
  };
  const start = Watcher.prototype.start;
  Watcher.prototype.start = function (this: Watcher<GenericClass>) {
    follow(this.events);
    return start.call(this);
  };
}

async function untilApiserverAnswers(health: WatchHealth): Promise<void> {
  let told: string | undefined;
  for (;;) {
    try {
      await call("GET", "/readyz");
      if (told) log.info("the apiserver answers; starting Pepr");
      return;
    } catch (e) {
      const why = notReadyReason(e);
      health.waitingForApiserver(why);
      if (why !== told) log.warn(`waiting for the apiserver before starting Pepr: ${why}`);
      told = why;
    }
    await new Promise(r => setTimeout(r, APISERVER_RETRY_MS));
  }
}

/** A /readyz failure names its failed checks ("[-]etcd failed: reason withheld"), the others are noise. */
function notReadyReason(e: unknown): string {
  const body = (e as { data?: unknown })?.data;
  const failed = typeof body === "string" ? body.split("\n").filter(l => l.startsWith("[-]")) : [];
  return failed.length ? `${(e as { status: number }).status} ${failed.join(", ")}` : errorText(e);
}

function serveReadiness(health: WatchHealth, address: string): void {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at) || undefined;
  const port = Number(address.slice(at + 1));
  createServer((req, res) => {
    if (req.method !== "GET" || req.url !== "/readyz") {
      res.writeHead(404).end();
      return;
    }
    const { status, body } = readinessAnswer(assess(health.snapshot(), Date.now(), LIMITS));
    res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" }).end(body);
  })
    .on("error", e => log.error(`readiness endpoint on ${address}: ${errorText(e)}`))
    .listen(port, host);
}
