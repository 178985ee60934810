import { execFile, spawn } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheDir } from "../../../lib/cache";
import { startControlPlane, type ControlPlane } from "../../../scripts/sandbox/controlplane";
import { installCrds } from "../../../scripts/sandbox/crds";
import { startModule } from "../../../scripts/sandbox/module";
import { apiserverOutage, type Outage } from "../../../scripts/sandbox/outage";
import { get, sleep } from "../../../scripts/sandbox/proc";
import { flinkDeployment, type Json } from "./reconcile-helpers";

/*
 * The kube-apiserver stopped for 60 s and started again on the same address, certificates and etcd data. This
 * file runs its own control plane and module, so the outages disturb no other test file.
 */
const OUTAGE_MS = 60_000;
/** An outage Pepr's watches give up in when their limit is lowered to 2 reconnects. */
const GIVE_UP_OUTAGE_MS = 30_000;
/** What the operator is allowed after the apiserver's return to notice what changed. */
const RECOVERY_MS = 30_000;
const ns = "outage";

let cp: ControlPlane | undefined;
const logDir = cacheDir("sandbox", "logs", "k8s-outage");

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(cp!.kubectl, [
    `--kubeconfig=${cp!.kubeconfig}`,
    ...args,
  ]);
  return stdout.trim();
}

function kubectlStdin(input: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cp!.kubectl, [`--kubeconfig=${cp!.kubeconfig}`, ...args]);
    let out = "";
    let err = "";
    child.stdout.on("data", d => (out += d));
    child.stderr.on("data", d => (err += d));
    child.on("close", code => (code === 0 ? resolve(out.trim()) : reject(new Error(err.trim()))));
    child.stdin.end(input);
  });
}

const apply = (obj: object) => kubectlStdin(JSON.stringify(obj), "apply", "-f", "-");
const create = (obj: object) => kubectlStdin(JSON.stringify(obj), "create", "-f", "-");

async function find(name: string): Promise<Json | undefined> {
  const out = await kubectl(
    "get",
    "flinkdeployment",
    name,
    "-n",
    ns,
    "--ignore-not-found",
    "-o",
    "json",
  );
  return out ? JSON.parse(out) : undefined;
}

/** The operator's finalizer is on and the status records the resource's current generation as reconciled. */
function reconciled(fd: Json | undefined): boolean {
  const generation = fd?.metadata?.generation;
  return (
    !!fd?.metadata?.finalizers?.includes("flinkdeployments.flink.apache.org/finalizer") &&
    fd.status?.observedGeneration === generation &&
    String(fd.status?.reconciliationStatus?.lastReconciledSpec).includes(
      `"generation":${generation}`,
    )
  );
}

/** Polls until check holds and returns when it first did; fails at the deadline (epoch ms). */
async function until(
  what: string,
  deadline: number,
  check: () => Promise<boolean>,
): Promise<number> {
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return Date.now();
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`${what} did not happen in time${last ? `; last error: ${last}` : ""}`);
    await sleep(250);
  }
}

/** The readiness endpoint's answer, or how it failed (a process being restarted refuses the connection). */
async function readiness(url: string): Promise<string> {
  try {
    const r = await get(url);
    return `${r.status} ${r.body.trim()}`;
  } catch (e) {
    return `unreachable: ${(e as Error).message}`;
  }
}

/**
 * Readiness answers in order, each kept once: answers that differ only in their figures ("not connected for
 * 3 s" and "for 4 s") count as one.
 */
class Answers {
  readonly list: string[] = [];
  private last = "";

  note(answer: string): void {
    const shape = answer.replace(/\d+/g, "N");
    if (shape !== this.last) this.list.push(answer);
    this.last = shape;
  }
}

/** Records readiness answers every 200 ms until stopped. */
function recordReadiness(url: string): { answers: string[]; stop: () => void } {
  const answers = new Answers();
  let running = true;
  void (async () => {
    while (running) {
      answers.note(await readiness(url));
      await sleep(200);
    }
  })();
  return { answers: answers.list, stop: () => (running = false) };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** Readiness answers for the test's log: the start of each. */
const brief = (answers: string[]) => JSON.stringify(answers.map(a => a.slice(0, 140)));

beforeAll(async () => {
  await rm(logDir, { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });
  try {
    cp = await startControlPlane({ logDir });
    await installCrds(cp);
    await kubectl("create", "namespace", ns);
    await until(
      "the default service account",
      Date.now() + 60_000,
      async () =>
        (await kubectl(
          "get",
          "serviceaccount",
          "default",
          "-n",
          ns,
          "--ignore-not-found",
          "-o",
          "name",
        )) !== "",
    );
  } catch (err) {
    await cp?.stop();
    cp = undefined;
    throw new Error(
      `the outage tests' own control plane did not start (logs in ${logDir}): ${err instanceof Error ? err.message : err}`,
      { cause: err },
    );
  }
}, 240_000);

afterAll(async () => {
  await cp?.stop();
});

describe("apiserver outages", () => {
  it("after 60 s without the apiserver at steady state, the running module notices new, changed and deleted FlinkDeployments within 30 s of its return, and its readiness says why it is not ready meanwhile", async () => {
    const starts: number[] = [];
    const mod = await startModule({
      kubeconfig: cp!.kubeconfig,
      logFile: join(logDir, "module-steady.log"),
      onStart: m => starts.push(m.pid),
    }).catch(e => {
      throw new Error(`the outage test's module did not start (logs in ${logDir}): ${e.message}`);
    });
    try {
      await apply(flinkDeployment(ns, "changed"));
      await apply(flinkDeployment(ns, "deleted"));
      for (const name of ["changed", "deleted"])
        await until(`${name} reconciled`, Date.now() + 60_000, async () =>
          reconciled(await find(name)),
        );
      await until("the module ready", Date.now() + 30_000, async () =>
        (await readiness(mod.readyz)).startsWith("200"),
      );

      const recorder = recordReadiness(mod.readyz);
      let outage: Outage;
      try {
        outage = await apiserverOutage(cp!, OUTAGE_MS);
      } finally {
        recorder.stop();
      }
      const deadline = outage.readyAt + RECOVERY_MS;

      await create(flinkDeployment(ns, "created"));
      await kubectl(
        "patch",
        "flinkdep",
        "changed",
        "-n",
        ns,
        "--type=merge",
        "-p",
        '{"spec":{"image":"flink:2.2.0"}}',
      );
      await kubectl("delete", "flinkdep", "deleted", "-n", ns, "--wait=false");
      const [created, changed, deleted, ready] = await Promise.all([
        until("the new FlinkDeployment reconciled", deadline, async () =>
          reconciled(await find("created")),
        ),
        until("the changed FlinkDeployment reconciled at generation 2", deadline, async () => {
          const fd = await find("changed");
          return fd?.metadata?.generation === 2 && reconciled(fd);
        }),
        until(
          "the deleted FlinkDeployment's finalizer released",
          deadline,
          async () => !(await find("deleted")),
        ),
        // Each watch reconnects at its own next check, 5 s apart.
        until("the module ready again", deadline, async () =>
          (await readiness(mod.readyz)).startsWith("200"),
        ),
      ]);
      console.log(
        `apiserver away ${seconds(outage.readyAt - outage.stoppedAt)}; after its return: created reconciled in ${seconds(created - outage.readyAt)}, changed in ${seconds(changed - outage.readyAt)}, deleted released in ${seconds(deleted - outage.readyAt)}, ready in ${seconds(ready - outage.readyAt)}; readiness said: ${brief(recorder.answers)}`,
      );
      expect(starts).toEqual([mod.pid()]);
      // Watches down: the same module process said so while the apiserver was away.
      expect(recorder.answers[0]).toBe("200 ready");
      expect(recorder.answers.slice(1).length).toBeGreaterThan(0);
      for (const a of recorder.answers.slice(1))
        expect(a).toMatch(/^503 not ready: .*not connected for/);
    } finally {
      await mod.stop();
    }
  }, 300_000);

  it("after a 60 s outage beginning while the module starts (Pepr started, the module not whole yet), readiness says not ready until the module is whole, and creates are admitted and reconciled within 30 s of the apiserver's return", async () => {
    const starts: { pid: number; at: number }[] = [];
    let readyz: string | undefined;
    let outage: Promise<Outage> | undefined;
    let outageAfterStartMs = 0;
    /** Readiness answers; the one at index `atOutage` was the answer when the apiserver was stopped. */
    const recorded = new Answers();
    const answers = recorded.list;
    let atOutage = -1;
    let polling = true;
    // Polled closely until Pepr starts (the first answer from beyond the wait for the apiserver): Pepr then
    // waits a random 0-3 s before it reads its store, which is when the apiserver goes away.
    const poll = async () => {
      while (polling) {
        if (readyz) {
          const answer = await readiness(readyz);
          recorded.note(answer);
          const peprStarted =
            !answer.startsWith("unreachable") && !answer.includes("waiting for the apiserver");
          if (!outage && peprStarted) {
            atOutage = answers.length - 1;
            outageAfterStartMs = Date.now() - starts[0].at;
            outage = apiserverOutage(cp!, OUTAGE_MS);
            outage.catch(() => undefined);
          }
        }
        await sleep(outage ? 200 : 10);
      }
    };
    const poller = poll();
    let mod;
    try {
      mod = await startModule({
        kubeconfig: cp!.kubeconfig,
        logFile: join(logDir, "module-startup.log"),
        timeoutMs: 240_000,
        onStart: m => {
          starts.push({ pid: m.pid, at: Date.now() });
          readyz ??= m.readyz;
        },
      });
    } catch (e) {
      throw new Error(
        `the outage test's module did not become ready (logs in ${logDir}): ${(e as Error).message}`,
      );
    } finally {
      polling = false;
      await poller;
    }
    try {
      expect(outage, "the outage began before the module was ready").toBeDefined();
      const { stoppedAt, readyAt } = await outage!;
      const deadline = readyAt + RECOVERY_MS;
      let admittedAt = 0;
      const reconciledAt = await until(
        "a FlinkDeployment created after the return reconciled",
        deadline,
        async () => {
          if (!admittedAt) {
            await create(flinkDeployment(ns, "after-startup"));
            admittedAt = Date.now();
          }
          return reconciled(await find("after-startup"));
        },
      );
      const peprFailed = (await readFile(join(logDir, "module-startup.log"), "utf8")).includes(
        "Failed to create Pepr store",
      );
      console.log(
        `outage began ${seconds(outageAfterStartMs)} after the module process started; apiserver away ${seconds(readyAt - stoppedAt)}; module processes: ${starts.length} (Pepr's store failed to start: ${peprFailed}); after the return: admitted in ${seconds(admittedAt - readyAt)}, reconciled in ${seconds(reconciledAt - readyAt)}; readiness said: ${brief(answers)}`,
      );
      // Half-started when the apiserver went away, and not ready (with a reason, or restarting) until whole.
      const whole = answers.findIndex(a => a.startsWith("200"));
      const untilWhole = answers.slice(atOutage, whole === -1 ? undefined : whole);
      expect(untilWhole[0]).toMatch(/^503 not ready: /);
      for (const a of untilWhole) expect(a).toMatch(/^503 not ready: \S|^unreachable: /);
      expect(await readiness(mod.readyz)).toBe("200 ready");
    } finally {
      await mod.stop();
    }
  }, 300_000);

  it("a watch that gives up reconnecting (Pepr's limit lowered to 2) ends the module with exit 75, and the restarted module is whole and reconciles within 30 s of the apiserver's return", async () => {
    const starts: number[] = [];
    const logFile = join(logDir, "module-give-up.log");
    const mod = await startModule({
      kubeconfig: cp!.kubeconfig,
      logFile,
      // Gives up at its third check, 5 s apart (package.json sets 120 for outages up to 10 minutes).
      env: { PEPR_RESYNC_FAILURE_MAX: "2" },
      onStart: m => starts.push(m.pid),
    }).catch(e => {
      throw new Error(`the outage test's module did not start (logs in ${logDir}): ${e.message}`);
    });
    try {
      // The watches give up about 15 s in; the restarted module waits for the apiserver.
      const outage = await apiserverOutage(cp!, GIVE_UP_OUTAGE_MS);
      const deadline = outage.readyAt + RECOVERY_MS;
      const log = await readFile(logFile, "utf8");
      expect(log).toMatch(
        /the module cannot become whole: \/\S+ gave up reconnecting \(Retry limit \(2\) exceeded/,
      );
      expect(log).toContain("the module exited on its own (exit 75); restarting it");
      // Pepr's own give-up handler never ran: it would have thrown "WatchEvent GiveUp Error".
      expect(log).not.toContain("WatchEvent GiveUp Error");
      expect(starts).toHaveLength(2);

      const created = await until(
        "a FlinkDeployment created after the return reconciled",
        deadline,
        async () => {
          await apply(flinkDeployment(ns, "after-give-up"));
          return reconciled(await find("after-give-up"));
        },
      );
      const ready = await until("the restarted module ready", deadline, async () =>
        (await readiness(mod.readyz)).startsWith("200"),
      );
      console.log(
        `apiserver away ${seconds(outage.readyAt - outage.stoppedAt)}; after its return: reconciled in ${seconds(created - outage.readyAt)}, ready in ${seconds(ready - outage.readyAt)}`,
      );
      expect(mod.pid()).toBe(starts[1]);
    } finally {
      await mod.stop();
    }
  }, 300_000);
});
