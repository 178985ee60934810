import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FlinkSessionJobSpec } from "../../../lib/api/spec";
import type { FlinkSessionJobStatus, Operation } from "../../../lib/api/status";
import { JarCache } from "../../../lib/artifacts/cache";
import { FlinkRestClient, type RunJarOptions, type StopOptions } from "../../../lib/flink/client";
import { cancelJob, waitForJobState } from "../../../lib/flink/operations";
import { operatorSettings } from "../../../lib/settings";
import { parseReconciledSpec } from "../../../lib/api/reconciled-spec";
import {
  acceptSessionJobGeneration,
  sessionJobActivity,
  SUBMITTING,
} from "../../../lib/reconcile/sessionjob-lifecycle";
import {
  advanceSessionOperation,
  stopForSession,
  type SessionJobContext,
} from "../../../lib/reconcile/sessionjob-operation";
import {
  observeJob,
  submitJob,
  type SubmitContext,
} from "../../../lib/reconcile/sessionjob-submit";
import { jobConfiguration } from "../../../lib/reconcile/sessionjob";
import { advanceSnapshots } from "../../../lib/reconcile/snapshots";
import {
  ensureFlinkRuntime,
  flinkDown,
  flinkUp,
  killFlinkProcess,
  startJobManager,
  stopFlinkProcess,
  waitForSlots,
  type FlinkInstall,
  type FlinkProcess,
  type SandboxState,
} from "../../../scripts/sandbox/flink-runtime";

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * A FlinkRestClient that records the run and stop-with-savepoint requests it makes, and can end a submission
 * right after its upload as a crash would (nothing of the submission runs after it).
 */
class RecordingClient extends FlinkRestClient {
  runs: Array<{ jarId: string; opts: RunJarOptions }> = [];
  stops: Array<{ jobId: string; opts: StopOptions }> = [];
  crashAfterNextUpload = false;
  override async uploadJar(jar: Uint8Array | Blob, fileName: string) {
    const uploaded = await super.uploadJar(jar, fileName);
    if (this.crashAfterNextUpload) {
      this.crashAfterNextUpload = false;
      throw new Error("simulated crash between upload and run");
    }
    return uploaded;
  }
  override async runJar(jarId: string, opts: RunJarOptions = {}): Promise<string> {
    this.runs.push({ jarId, opts });
    return super.runJar(jarId, opts);
  }
  override async triggerStop(jobId: string, opts: StopOptions = {}): Promise<string> {
    this.stops.push({ jobId, opts });
    return super.triggerStop(jobId, opts);
  }
}

/**
 * The session job controller's Flink side (submission, observation, stops; lib/reconcile/sessionjob-*.ts)
 * against one real Flink session cluster per file, with the jar served by a loopback HTTP server. Status is kept
 * in memory: every save is recorded, so the tests see what was written before each call to Flink. Steps share the
 * cluster and its jobs, so they run in order.
 */
export function describeSessionJobs(flinkSpec: string): void {
  describe(`session jobs against real Flink ${flinkSpec}`, () => {
    let install: FlinkInstall;
    let sandbox: SandboxState;
    let client: RecordingClient;
    let jarServer: Server;
    let jarHits = 0;
    let jarURI: string;
    let cacheDir: string;
    let jars: JarCache;
    let restartedJobManager: FlinkProcess | undefined;
    const name = `it-sessionjob-${flinkSpec}`;

    beforeAll(async () => {
      install = await ensureFlinkRuntime(flinkSpec);
      // Checkpoints are kept (not only the latest): the one a lost job's status names must still exist when
      // the job is submitted again, however many completed since it was observed.
      sandbox = await flinkUp({
        flink: install.release.version,
        name,
        slotsPerTaskManager: 4,
        config: { "execution.checkpointing.num-retained": "1000" },
      });
      process.once("exit", () => {
        for (const p of [...(sandbox?.processes ?? []), restartedJobManager]) {
          try {
            if (p) process.kill(p.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      });
      client = new RecordingClient({ baseUrl: sandbox.restUrl, timeoutMs: 30_000 });
      const jar = readFileSync(install.stateMachineJar);
      jarServer = createServer((_, res) => {
        jarHits++;
        res.end(jar);
      });
      await new Promise<void>((resolve, reject) => {
        jarServer.once("error", reject);
        jarServer.listen(0, "127.0.0.1", resolve);
      });
      jarURI = `http://127.0.0.1:${(jarServer.address() as AddressInfo).port}/jobs/state-machine.jar`;
      cacheDir = await mkdtemp(join(tmpdir(), "it-sessionjob-jars-"));
      jars = new JarCache({ dir: cacheDir });
    });

    afterAll(async () => {
      if (restartedJobManager) await stopFlinkProcess(restartedJobManager);
      await flinkDown(name);
      await new Promise(r => jarServer?.close(r));
      await rm(cacheDir, { recursive: true, force: true });
    });

    // 2.x's StateMachineExample keeps async (V2) state, which Flink cannot write as a canonical savepoint.
    const settings = (conf: Record<string, string> = {}) =>
      operatorSettings({
        "kubernetes.operator.observer.progress-check.interval": "0 ms",
        "kubernetes.operator.job.drain-on-savepoint-deletion": "true",
        "kubernetes.operator.savepoint.format.type":
          install.release.major >= 2 ? "NATIVE" : "CANONICAL",
        ...conf,
      });

    const spec = (
      job: Partial<NonNullable<FlinkSessionJobSpec["job"]>> = {},
    ): FlinkSessionJobSpec => ({
      deploymentName: "session",
      job: {
        jarURI,
        entryClass: install.release.examples.stateMachineClass,
        args: ["--error-rate", "0.0"],
        parallelism: 1,
        upgradeMode: "savepoint",
        state: "running",
        ...job,
      },
      flinkConfiguration: {
        "execution.checkpointing.interval": "1 s",
        "kubernetes.operator.job.savepoint-on-deletion": "true",
      },
    });

    /** A session job as the pass holds it: status in memory, saves and events recorded. */
    function sessionJob(initial: FlinkSessionJobSpec) {
      const accepted = acceptSessionJobGeneration(undefined, initial, 1, {}, new Date())!;
      const job = {
        generation: 1,
        status: accepted.status as FlinkSessionJobStatus,
        saves: [] as FlinkSessionJobStatus[],
        events: [] as string[],
        failSave: undefined as ((s: FlinkSessionJobStatus) => boolean) | undefined,
        /** Operator options of this job's own (kubernetes.operator.*), over the file's. */
        conf: {} as Record<string, string>,
        target: () =>
          parseReconciledSpec<FlinkSessionJobSpec>(
            job.status.reconciliationStatus?.lastReconciledSpec,
          )!.spec,
        ctx(): SubmitContext {
          const target = job.target();
          const ctx: SessionJobContext = {
            client,
            status: job.status,
            target,
            settings: settings(job.conf),
            save: async () => {
              if (job.failSave?.(job.status))
                throw new Error("simulated crash before the status write");
              job.saves.push(structuredClone(job.status));
            },
            event: (_, reason, message) => job.events.push(`${reason}: ${message}`),
            now: () => new Date(),
          };
          return {
            ...ctx,
            jar: () =>
              jars.get(target.job!.jarURI!, {
                policy: {
                  allowedSchemes: ["http"],
                  baseDir: "/nonexistent",
                  hosts: { allow: ["127.0.0.1"] },
                },
              }),
            flinkConfiguration: jobConfiguration(target),
          };
        },
        /** A new spec generation, as a pass takes it. */
        change(next: FlinkSessionJobSpec) {
          const last = parseReconciledSpec<FlinkSessionJobSpec>(
            job.status.reconciliationStatus?.lastReconciledSpec,
          );
          const a = acceptSessionJobGeneration(
            last,
            next,
            ++job.generation,
            job.status,
            new Date(),
          )!;
          job.status = a.status;
          return a;
        },
        /** Passes of the stop until it is over. */
        async stop(timeoutMs = 120_000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const r = await advanceSessionOperation(job.ctx());
            if (r.done) return;
            // Waiting for the job's tasks to run is part of a stop; anything else blocking it is a failure.
            if (r.blocked && r.blocked.reason !== "SavepointWaiting")
              throw new Error(`${r.blocked.reason}: ${r.blocked.message}`);
            if (Date.now() > deadline) throw new Error("the stop did not end");
            await sleep(r.waitMs);
          }
        },
        /** The controller's passes over its running job (observe, then the snapshots due) until `done`. */
        async passesUntil(done: () => boolean, timeoutMs = 120_000) {
          for (const deadline = Date.now() + timeoutMs; ; ) {
            const observed = await observeJob(job.ctx(), { ha: false });
            if (observed.blocked)
              throw new Error(`${observed.blocked.reason}: ${observed.blocked.message}`);
            const waitMs = await advanceSnapshots(job.ctx());
            if (done()) return;
            if (Date.now() > deadline) throw new Error("the passes did not get there in time");
            await sleep(Math.min(waitMs ?? 1000, 1000));
          }
        },
        async submit() {
          const r = await submitJob(job.ctx());
          if (!r.submitted) throw new Error(`${r.blocked.reason}: ${r.blocked.message}`);
          return job.status.jobStatus!.jobId!;
        },
      };
      return job;
    }

    const running = (jobId: string) =>
      waitForJobState(client, jobId, ["RUNNING"], { timeoutMs: 120_000 });
    const ourUploads = async (jobId: string) =>
      (await client.listJars()).files.filter(f => f.name.startsWith(jobId));
    const restoredFrom = async (jobId: string) =>
      (await client.checkpoints(jobId)).latest.restored?.external_path;

    let first: ReturnType<typeof sessionJob>;
    let firstId: string;

    it("submits under the job id recorded before the upload, with the spec's run options, and deletes the upload", async () => {
      first = sessionJob(spec({ parallelism: 2, allowNonRestoredState: true }));
      firstId = first.status.jobStatus!.jobId!;
      expect(await first.submit()).toBe(firstId);
      // Write-ahead: the id, marked as being submitted, was saved before Flink was asked; DEPLOYED after.
      expect(
        first.saves.map(s => [
          s.jobStatus?.jobId,
          s.jobStatus?.state,
          s.reconciliationStatus?.state,
        ]),
      ).toEqual([
        [firstId, SUBMITTING, "UPGRADING"],
        [firstId, SUBMITTING, "DEPLOYED"],
      ]);
      expect(client.runs.at(-1)?.opts).toEqual({
        jobId: firstId,
        entryClass: install.release.examples.stateMachineClass,
        args: ["--error-rate", "0.0"],
        parallelism: 2,
        allowNonRestoredState: true,
        savepointPath: undefined,
        flinkConfiguration: { "execution.checkpointing.interval": "1 s" },
      });
      const job = await running(firstId);
      expect(job.vertices.every(v => v.parallelism === 2)).toBe(true);
      expect(await ourUploads(firstId)).toEqual([]);
      expect(first.events).toContain(`JobSubmitted: job ${firstId} submitted from empty state`);
    });

    it("observes it: jobStatus from Flink, and its latest completed checkpoint (the job's own configuration took effect)", async () => {
      await expect
        .poll(async () => (await client.checkpoints(firstId)).counts.completed, {
          timeout: 60_000,
          interval: 500,
        })
        .toBeGreaterThan(0);
      const r = await observeJob(first.ctx(), { ha: false });
      expect(r.blocked).toBeUndefined();
      expect(first.status.jobStatus).toMatchObject({
        jobId: firstId,
        jobName: expect.any(String),
        state: "RUNNING",
        startTime: expect.stringMatching(/^\d+$/),
        updateTime: expect.stringMatching(/^\d+$/),
        checkpointInfo: { latestCompletedPath: expect.stringMatching(/^file:.*chk-\d+/) },
      });
    });

    it("stops it with a savepoint whose trigger id is on record first, submits the new spec from it, and Flink restores it", async () => {
      const a = first.change(spec({ parallelism: 1 }));
      expect(a.status.reconciliationStatus?.operation).toMatchObject({
        kind: "upgrade",
        upgradeMode: "savepoint",
        step: "savepoint",
        jobId: firstId,
      });
      const before = first.saves.length;
      await first.stop();
      const saves = first.saves.slice(before);
      // The trigger id was saved before the stop was asked, and the savepoint before the job was let go.
      const trigger = saves[0].jobStatus?.savepointInfo;
      expect(trigger).toMatchObject({
        triggerId: expect.stringMatching(/^[0-9a-f]{32}$/),
        triggerType: "UPGRADE",
      });
      const savepoint = first.status.reconciliationStatus?.restore?.path;
      expect(savepoint).toMatch(/^file:/);
      expect(first.status.jobStatus?.upgradeSavepointPath).toBe(savepoint);
      expect(first.status.jobStatus?.savepointInfo?.lastSavepoint?.location).toBe(savepoint);
      expect(existsSync(savepoint!.replace(/^file:/, ""))).toBe(true);
      expect((await client.job(firstId)).state).toBe("FINISHED");

      const nextId = await first.submit();
      expect(nextId).not.toBe(firstId);
      expect(client.runs.at(-1)?.opts).toMatchObject({
        jobId: nextId,
        savepointPath: savepoint,
        parallelism: 1,
      });
      await running(nextId);
      expect(await restoredFrom(nextId)).toBe(savepoint);
      // Four slots: each test leaves nothing running behind it.
      await cancelJob(client, nextId, { timeoutMs: 60_000 });
      expect(first.events).toContain(
        `SavepointCompleted: job ${firstId} stopped with savepoint ${savepoint}`,
      );
    });

    it("after a crash between the run and its status write, finds the job by the recorded id and runs no second one", async () => {
      const crashed = sessionJob(spec({ upgradeMode: "stateless" }));
      const jobId = crashed.status.jobStatus!.jobId!;
      crashed.failSave = s => s.reconciliationStatus?.state === "DEPLOYED";
      await expect(crashed.submit()).rejects.toThrow("simulated crash before the status write");
      const runs = client.runs.length;
      // The operator restarts from what was written last: the id, marked as being submitted.
      const restarted = sessionJob(spec({ upgradeMode: "stateless" }));
      restarted.status = structuredClone(crashed.saves.at(-1)!);
      expect(restarted.status.jobStatus).toMatchObject({ jobId, state: SUBMITTING });
      expect(await restarted.submit()).toBe(jobId);
      expect(client.runs.length).toBe(runs);
      expect(restarted.events).toEqual([
        `JobSubmitted: job ${jobId} submitted found in the session (submitted before the operator restarted)`,
      ]);
      const jobs = (await client.jobsOverview()).filter(j => j.jid === jobId);
      expect(jobs).toHaveLength(1);
      await running(jobId);
      await cancelJob(client, jobId, { timeoutMs: 60_000 });
    });

    it("after a crash between the upload and the run, runs the job once and deletes both uploads", async () => {
      const crashed = sessionJob(spec({ upgradeMode: "stateless" }));
      const jobId = crashed.status.jobStatus!.jobId!;
      const runs = client.runs.length;
      client.crashAfterNextUpload = true;
      await expect(crashed.submit()).rejects.toThrow("simulated crash between upload and run");
      expect(client.runs.length).toBe(runs);
      expect(await ourUploads(jobId)).toHaveLength(1);
      const restarted = sessionJob(spec({ upgradeMode: "stateless" }));
      restarted.status = structuredClone(crashed.saves.at(-1)!);
      expect(await restarted.submit()).toBe(jobId);
      await running(jobId);
      expect(await ourUploads(jobId)).toEqual([]);
      expect((await client.jobsOverview()).filter(j => j.jid === jobId)).toHaveLength(1);
      await cancelJob(client, jobId, { timeoutMs: 60_000 });
    });

    let stateless: ReturnType<typeof sessionJob>;
    it("upgrades a stateless job by cancelling it and submitting the new spec from empty state", async () => {
      stateless = sessionJob(spec({ upgradeMode: "stateless" }));
      const oldId = await stateless.submit();
      await running(oldId);
      const a = stateless.change({ ...spec({ upgradeMode: "stateless" }), restartNonce: 1 });
      expect(a.status.reconciliationStatus?.operation).toMatchObject({
        upgradeMode: "stateless",
        step: "cancel",
      });
      await stateless.stop();
      expect((await client.job(oldId)).state).toBe("CANCELED");
      expect(stateless.status.reconciliationStatus?.restore).toEqual({ upgradeMode: "stateless" });
      const newId = await stateless.submit();
      expect(client.runs.at(-1)?.opts.savepointPath).toBeUndefined();
      await running(newId);
      expect(await restoredFrom(newId)).toBeUndefined();
      await cancelJob(client, newId, { timeoutMs: 60_000 });
    });

    it("suspends a job with a savepoint and resumes it from that savepoint under a new id", async () => {
      const job = sessionJob(spec());
      const oldId = await job.submit();
      await running(oldId);
      job.change(spec({ state: "suspended" }));
      await job.stop();
      expect(job.status.jobStatus?.state).toBe("SUSPENDED");
      const kept = job.status.reconciliationStatus?.restore?.path;
      expect(kept).toMatch(/^file:/);
      expect((await client.job(oldId)).state).toBe("FINISHED");
      expect(job.events.at(-1)).toBe(
        `Suspended: savepoint stop of job ${oldId} done; state kept in ${kept}`,
      );

      job.change(spec());
      const resumedId = await job.submit();
      expect(resumedId).not.toBe(oldId);
      await running(resumedId);
      expect(await restoredFrom(resumedId)).toBe(kept);

      // Deleted with savepoint-on-deletion: the deletion's stop takes a savepoint and names it.
      const op: Operation = {
        kind: "delete",
        upgradeMode: "savepoint",
        step: "savepoint",
        jobId: resumedId,
        startedAt: Date.now(),
      };
      job.status.reconciliationStatus = { ...job.status.reconciliationStatus, operation: op };
      await job.stop();
      const last = job.status.jobStatus?.savepointInfo?.lastSavepoint?.location;
      expect(last).toMatch(/^file:/);
      expect(existsSync(last!.replace(/^file:/, ""))).toBe(true);
      expect(job.events).toContain(
        `SavepointCompleted: job ${resumedId} stopped with savepoint ${last}`,
      );
      // job.drain-on-savepoint-deletion: the deletion's stop drains; the upgrade's and the suspend's did not.
      expect(client.stops.filter(s => s.opts.drain).map(s => s.jobId)).toEqual([resumedId]);
      expect((await client.job(resumedId)).state).toBe("FINISHED");
    });

    it("downloaded the jar once for all these submissions", () => {
      expect(client.runs.length).toBeGreaterThanOrEqual(7);
      expect(jarHits).toBe(1);
    });

    // One job through the snapshot tests: it keeps running under the id it was submitted with.
    let snapshotted: ReturnType<typeof sessionJob>;
    let snapshottedId: string;
    const nonces = (savepointTriggerNonce: number, checkpointTriggerNonce: number) =>
      spec({ upgradeMode: "stateless", savepointTriggerNonce, checkpointTriggerNonce });
    const onDisk = (location: string) => existsSync(location.replace(/^file:/, ""));
    const stillTheSameJob = async () => {
      expect(snapshotted.status.jobStatus).toMatchObject({
        jobId: snapshottedId,
        state: "RUNNING",
      });
      expect((await client.job(snapshottedId)).state).toBe("RUNNING");
      expect(client.runs.filter(r => r.opts.jobId === snapshottedId)).toHaveLength(1);
    };

    it("takes a savepoint of the running job for a new savepointTriggerNonce, its trigger id on record first, and records where it is", async () => {
      snapshotted = sessionJob(nonces(1, 1));
      snapshottedId = await snapshotted.submit();
      await running(snapshottedId);
      // The nonces it was created with are the baseline: a pass takes no snapshot for them.
      await snapshotted.passesUntil(() => true);
      expect(snapshotted.status.jobStatus?.savepointInfo).toEqual({ triggerNonce: 1 });

      const a = snapshotted.change(nonces(2, 1));
      expect(a.change).toBe("ignore");
      expect(a.status.reconciliationStatus?.operation).toBeUndefined();
      expect(a.status.reconciliationStatus?.state).toBe("DEPLOYED");
      const before = snapshotted.saves.length;
      await snapshotted.passesUntil(
        () => snapshotted.status.jobStatus?.savepointInfo?.lastSavepoint?.triggerNonce === 2,
      );
      const trigger = snapshotted.saves[before].jobStatus?.savepointInfo;
      expect(trigger).toMatchObject({
        triggerId: expect.stringMatching(/^[0-9a-f]{32}$/),
        triggerType: "MANUAL",
        triggerNonce: 2,
      });
      // Flink took the savepoint under the id written before it was asked.
      expect((await client.savepointStatus(snapshottedId, trigger!.triggerId!)).status.id).toBe(
        "COMPLETED",
      );
      const info = snapshotted.status.jobStatus!.savepointInfo!;
      const location = info.lastSavepoint!.location!;
      expect(location).toMatch(/^file:/);
      expect(onDisk(location)).toBe(true);
      expect(info).toMatchObject({ triggerId: undefined, triggerNonce: 2 });
      expect(info.lastSavepoint).toMatchObject({ triggerType: "MANUAL", triggerNonce: 2 });
      expect(info.savepointHistory?.map(s => s.location)).toEqual([location]);
      expect(snapshotted.events).toContain(`SavepointCompleted: manual savepoint ${location}`);
      await stillTheSameJob();
    });

    it("triggers a checkpoint for a new checkpointTriggerNonce, which completes", async () => {
      snapshotted.change(nonces(2, 2));
      const before = snapshotted.saves.length;
      await snapshotted.passesUntil(
        () => snapshotted.status.jobStatus?.checkpointInfo?.lastCheckpoint?.triggerNonce === 2,
      );
      const trigger = snapshotted.saves[before].jobStatus?.checkpointInfo;
      expect(trigger).toMatchObject({
        triggerId: expect.stringMatching(/^[0-9a-f]{32}$/),
        triggerType: "MANUAL",
        triggerNonce: 2,
      });
      const done = await client.checkpointStatus(snapshottedId, trigger!.triggerId!);
      expect(done.status.id).toBe("COMPLETED");
      const id = done.operation?.checkpointId;
      expect(id).toBeGreaterThan(0);
      expect(snapshotted.status.jobStatus?.checkpointInfo).toMatchObject({
        triggerId: undefined,
        triggerNonce: 2,
        lastCheckpoint: { triggerType: "MANUAL", triggerNonce: 2, formatType: "FULL" },
      });
      expect(snapshotted.events).toContain(`CheckpointCompleted: manual checkpoint ${id}`);
      await stillTheSameJob();
    });

    it("takes periodic savepoints as their interval passes and disposes of those that leave the history", async () => {
      snapshotted.conf = {
        "kubernetes.operator.periodic.savepoint.interval": "3 s",
        "kubernetes.operator.savepoint.history.max.count": "1",
      };
      const manual = snapshotted.status.jobStatus!.savepointInfo!.lastSavepoint!.location!;
      const from = snapshotted.saves.length;
      const completed = () =>
        snapshotted.events
          .filter(e => e.startsWith("SavepointCompleted: periodic savepoint "))
          .map(e => e.slice("SavepointCompleted: periodic savepoint ".length));
      await snapshotted.passesUntil(() => completed().length === 2);
      // Each trigger is on record (with when it was asked) before Flink is asked; the second an interval later.
      const triggers = new Map<string, number>();
      for (const s of snapshotted.saves.slice(from)) {
        const i = s.jobStatus?.savepointInfo;
        if (i?.triggerType === "PERIODIC" && i.triggerId)
          triggers.set(i.triggerId, i.triggerTimestamp!);
      }
      const [at1, at2] = [...triggers.values()];
      expect(at2 - at1).toBeGreaterThanOrEqual(3_000);
      const [first, second] = completed();
      const info = snapshotted.status.jobStatus!.savepointInfo!;
      expect(info.savepointHistory?.map(s => s.location)).toEqual([second]);
      expect(info.savepointHistory?.[0].triggerType).toBe("PERIODIC");
      expect(onDisk(second)).toBe(true);
      for (const gone of [manual, first]) {
        expect(snapshotted.events).toContain(
          `SavepointDisposed: disposed of ${gone}, out of the history`,
        );
        await expect.poll(() => onDisk(gone), { timeout: 30_000 }).toBe(false);
      }
      await stillTheSameJob();
      await cancelJob(client, snapshottedId, { timeoutMs: 60_000 });
    });

    it("stops a running job with a savepoint when its session is about to stop, the stop on record first, and submits it from that savepoint after", async () => {
      const job = sessionJob(spec());
      const oldId = await job.submit();
      await running(oldId);
      const before = job.saves.length;
      // The passes while the session waits in its session-jobs step.
      let r = await stopForSession(job.ctx());
      while (r.blocked?.reason !== "SessionNotReady") {
        if (r.blocked && r.blocked.reason !== "SavepointWaiting")
          throw new Error(`${r.blocked.reason}: ${r.blocked.message}`);
        await sleep(r.waitMs);
        r = await stopForSession(job.ctx());
      }
      expect(job.saves[before].reconciliationStatus?.operation).toMatchObject({
        kind: "session-upgrade",
        upgradeMode: "savepoint",
        step: "savepoint",
        jobId: oldId,
      });
      expect(job.saves[before].jobStatus?.savepointInfo?.triggerId).toBeUndefined();
      const kept = job.status.reconciliationStatus?.restore?.path;
      expect(kept).toMatch(/^file:/);
      expect(job.status.jobStatus?.upgradeSavepointPath).toBe(kept);
      expect((await client.job(oldId)).state).toBe("FINISHED");
      expect(sessionJobActivity(job.status)).toBe("idle");
      expect(r.blocked?.message).toBe(
        `the session cluster is stopping for its upgrade; the job is submitted again once it is back, from ${kept}`,
      );
      // Once the session is back, the pass submits it.
      const newId = await job.submit();
      expect(newId).not.toBe(oldId);
      await running(newId);
      expect(await restoredFrom(newId)).toBe(kept);
      await cancelJob(client, newId, { timeoutMs: 60_000 });
    });

    it("looks up a job whose run was asked for when the session is about to stop: not in the session, nothing runs", async () => {
      const job = sessionJob(spec());
      job.status.jobStatus = { ...job.status.jobStatus, state: SUBMITTING };
      expect(sessionJobActivity(job.status)).toBe("running");
      const r = await stopForSession(job.ctx());
      expect(r.blocked?.reason).toBe("SessionNotReady");
      expect(job.status.jobStatus?.state).toBeUndefined();
      expect(job.status.reconciliationStatus?.operation).toBeUndefined();
      expect(sessionJobActivity(job.status)).toBe("idle");
    });

    /** Observes the job until it is FAILED or the observation acts on it (a resubmission, a reason). */
    async function observeUntilFailed(job: ReturnType<typeof sessionJob>) {
      const failedId = job.status.jobStatus!.jobId!;
      for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(500)) {
        const r = await observeJob(job.ctx(), { ha: false });
        if (job.status.jobStatus?.jobId !== failedId || r.blocked) return r;
      }
      throw new Error(`job ${failedId} did not fail`);
    }

    it("submits a job whose checkpoint is gone again from the savepoint on record, as Flink fails it", async () => {
      const job = sessionJob(spec());
      const firstRun = await job.submit();
      await running(firstRun);
      job.change(spec({ parallelism: 2 }));
      await job.stop();
      const savepoint = job.status.jobStatus?.savepointInfo?.lastSavepoint?.location;
      expect(savepoint).toMatch(/^file:/);
      // A lost job's restore from a checkpoint that was subsumed since it was observed.
      const gone = `${sandbox.workDir}/checkpoints/${"0".repeat(32)}/chk-7`;
      job.status.reconciliationStatus!.restore = { upgradeMode: "savepoint", path: `file:${gone}` };
      const failing = await job.submit();
      const r = await observeUntilFailed(job);
      expect(r.blocked).toBeUndefined();
      expect((await client.job(failing)).state).toBe("FAILED");
      const againId = job.status.jobStatus!.jobId!;
      expect(againId).not.toBe(failing);
      expect(job.status.reconciliationStatus?.restore).toEqual({
        upgradeMode: "savepoint",
        path: savepoint,
      });
      expect(job.events.at(-1)).toBe(
        `RestoreFallback: job ${failing} cannot start from file:${gone}: Flink does not find it (subsumed or deleted since it was recorded?); submitting it again from the savepoint on record, ${savepoint} (as job ${againId}; job ${failing} stays FAILED in the session)`,
      );
      await job.submit();
      await running(againId);
      expect(await restoredFrom(againId)).toBe(savepoint);
      await cancelJob(client, againId, { timeoutMs: 60_000 });
    });

    it("leaves a savepoint-mode job whose checkpoint is gone FAILED with the reason when no savepoint is on record", async () => {
      const job = sessionJob(spec());
      const gone = `file:${sandbox.workDir}/checkpoints/${"1".repeat(32)}/chk-3`;
      job.status.reconciliationStatus!.restore = { upgradeMode: "savepoint", path: gone };
      const failing = await job.submit();
      const r = await observeUntilFailed(job);
      expect(job.status.jobStatus).toMatchObject({ jobId: failing, state: "FAILED" });
      expect(r.blocked?.reason).toBe("RestorePathMissing");
      expect(r.blocked?.message).toContain(
        "no other savepoint is on record; with upgradeMode savepoint it is not started with empty state",
      );
    });

    it("brings a job back from its latest checkpoint after the JobManager restarted without HA and lost it", async () => {
      const job = sessionJob(spec());
      const lostId = await job.submit();
      await running(lostId);
      await expect
        .poll(async () => (await client.checkpoints(lostId)).counts.completed, {
          timeout: 60_000,
          interval: 500,
        })
        .toBeGreaterThan(0);
      await observeJob(job.ctx(), { ha: false });
      const checkpoint = job.status.jobStatus?.checkpointInfo?.latestCompletedPath;
      expect(checkpoint).toMatch(/chk-\d+/);

      const jm = sandbox.processes.find(p => p.role === "jobmanager")!;
      await killFlinkProcess(jm);
      restartedJobManager = await startJobManager({
        install,
        config: sandbox.config,
        workDir: sandbox.workDir,
        id: "jobmanager-restarted",
      });
      await waitForSlots(sandbox.restUrl, 4, [restartedJobManager], 180_000);
      expect((await client.jobsOverview()).map(j => j.jid)).toEqual([]);

      // The grace period is 0 here (observer.progress-check.interval): the first look resubmits.
      const r = await observeJob(job.ctx(), { ha: false });
      expect(r.blocked).toBeUndefined();
      const againId = job.status.jobStatus!.jobId!;
      expect(againId).not.toBe(lostId);
      expect(job.status.reconciliationStatus?.restore).toEqual({
        upgradeMode: "savepoint",
        path: checkpoint,
      });
      expect(job.events.at(-1)).toBe(
        `JobLost: job ${lostId} was lost with the session's JobManager; submitting it again as job ${againId} from ${checkpoint}`,
      );
      await job.submit();
      await running(againId);
      expect(await restoredFrom(againId)).toBe(checkpoint);
    });
  });
}
