import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchClusterInfo } from "../../../lib/reconcile/cluster-info";
import {
  FlinkJobNotFoundError,
  FlinkJobTerminalError,
  FlinkRequestRejectedError,
  FlinkRestClient,
  FlinkUnreachableError,
  cancelJob,
  checkpoint,
  disposeSavepoint,
  pollSavepoint,
  savepoint,
  stopWithSavepoint,
  waitForJobState,
  type SavepointFormat,
} from "../../../lib/flink";
import {
  ensureFlinkRuntime,
  flinkDown,
  flinkUp,
  killFlinkProcess,
  type FlinkInstall,
  type SandboxState,
} from "../../../scripts/sandbox/flink-runtime";

const J1 = "a1000000000000000000000000000001";
const J2 = "a2000000000000000000000000000002";
const J3 = "a3000000000000000000000000000003";
const MISSING = "deadbeefdeadbeefdeadbeefdeadbeef";

function measure(what: string, ms: number) {
  process.stdout.write(`[measure] ${what}: ${(ms / 1000).toFixed(1)} s\n`);
}

/**
 * The whole REST client against one real Flink: a session cluster per file, started in beforeAll and
 * always stopped in afterAll. Steps share the job and the savepoint they make, so they run in order.
 */
export function describeFlinkRestClient(flinkSpec: string): void {
  describe(`Flink REST client against real Flink ${flinkSpec}`, () => {
    let install: FlinkInstall;
    let sandbox: SandboxState;
    let client: FlinkRestClient;
    let jarId: string;
    let savepointFormat: SavepointFormat;
    let firstSavepoint: string;
    let stopSavepoint: string;
    // One name per version: a run cleans up the previous run's logs, and a concurrent run fails loudly.
    const name = `it-flink-${flinkSpec}`;
    const checkpointing = { "execution.checkpointing.interval": "1s" };

    beforeAll(async () => {
      const fetchStart = Date.now();
      install = await ensureFlinkRuntime(flinkSpec);
      measure(
        `Flink ${install.release.version} runtime ready (fetch when cold)`,
        Date.now() - fetchStart,
      );
      // 2.x's StateMachineExample keeps async (V2) state, which Flink cannot write as a canonical savepoint.
      savepointFormat = install.release.major >= 2 ? "NATIVE" : "CANONICAL";
      const upStart = Date.now();
      // The adaptive scheduler: the only one that serves resource requirements (in-place rescaling).
      sandbox = await flinkUp({
        flink: install.release.version,
        name,
        config: { "jobmanager.scheduler": "adaptive" },
      });
      measure(`Flink ${install.release.version} cluster up`, Date.now() - upStart);
      // A crashed test run must not leave JVMs behind.
      process.once("exit", () => {
        for (const p of sandbox?.processes ?? []) {
          try {
            process.kill(p.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      });
      client = new FlinkRestClient({ baseUrl: sandbox.restUrl, timeoutMs: 10_000 });
    });

    afterAll(async () => {
      await flinkDown(name);
    });

    it("derives the version from /config and has web submission", async () => {
      expect((await client.version()).raw).toBe(install.release.version);
      const config = await client.config();
      expect(config.features?.["web-submit"]).toBe(true);
      const overview = await client.overview();
      expect(overview["slots-total"]).toBe(2);
      expect(overview.taskmanagers).toBe(1);
      const jmConfig = await client.jobManagerConfig();
      expect(jmConfig[install.release.keys.savepointsDir]).toContain(sandbox.savepointsDir);
    });

    it("gives the operator its status.clusterInfo", async () => {
      expect(await fetchClusterInfo(client)).toEqual({
        "flink-version": install.release.version,
        "flink-revision": expect.any(String),
        "total-taskmanagers": "1",
        "total-slots": "2",
        "available-slots": "2",
        "jobs-running": "0",
      });
    });

    it("uploads the StateMachineExample jar and lists it", async () => {
      ({ jarId } = await client.uploadJarFile(install.stateMachineJar));
      const jars = await client.listJars();
      expect(jars.files.map(f => f.id)).toContain(jarId);
    });

    it("runs it with a chosen job id and parallelism and sees it RUNNING", async () => {
      const started = Date.now();
      const jobId = await client.runJar(jarId, {
        entryClass: install.release.examples.stateMachineClass,
        parallelism: 2,
        jobId: J1,
        flinkConfiguration: checkpointing,
      });
      expect(jobId).toBe(J1);
      const job = await waitForJobState(client, J1, ["RUNNING"], { timeoutMs: 120_000 });
      measure(`Flink ${install.release.version} run -> RUNNING`, Date.now() - started);
      expect(job.vertices.length).toBeGreaterThan(0);
      expect(job.vertices.every(v => v.parallelism === 2)).toBe(true);
      expect((await client.jobsOverview()).find(j => j.jid === J1)?.state).toBe("RUNNING");
    });

    it("completes checkpoints, periodic and manual", async () => {
      await expect
        .poll(async () => (await client.checkpoints(J1)).counts.completed, {
          timeout: 60_000,
          interval: 500,
        })
        .toBeGreaterThan(0);
      const latest = (await client.checkpoints(J1)).latest.completed;
      expect(latest?.external_path).toMatch(/^file:/);
      const manual = await checkpoint(client, J1, { checkpointType: "FULL", timeoutMs: 60_000 });
      expect(manual.checkpointId).toBeGreaterThan(0);
    });

    it("takes a savepoint, and a restarted caller resumes polling from the trigger id", async () => {
      const started = Date.now();
      const result = await savepoint(client, J1, {
        formatType: savepointFormat,
        timeoutMs: 120_000,
      });
      measure(`Flink ${install.release.version} savepoint`, Date.now() - started);
      expect(result.location).toMatch(/^file:/);
      expect(existsSync(result.location.replace(/^file:/, ""))).toBe(true);
      firstSavepoint = result.location;

      // A caller-chosen trigger id makes the trigger idempotent: repeating it starts no second savepoint.
      const chosen = "5a7e0000000000000000000000000001";
      const triggerId = await client.triggerSavepoint(J1, {
        formatType: savepointFormat,
        triggerId: chosen,
      });
      expect(triggerId).toBe(chosen);
      expect(
        await client.triggerSavepoint(J1, { formatType: savepointFormat, triggerId: chosen }),
      ).toBe(chosen);
      const fresh = new FlinkRestClient({ baseUrl: sandbox.restUrl });
      const resumed = await pollSavepoint(fresh, J1, triggerId, { timeoutMs: 120_000 });
      expect(resumed.triggerId).toBe(triggerId);
      expect(resumed.location).not.toBe(firstSavepoint);
    });

    it("stops the job with a savepoint", async () => {
      const result = await stopWithSavepoint(client, J1, {
        formatType: savepointFormat,
        timeoutMs: 120_000,
      });
      stopSavepoint = result.location;
      expect(existsSync(stopSavepoint.replace(/^file:/, ""))).toBe(true);
      const job = await waitForJobState(client, J1, ["FINISHED"], { timeoutMs: 60_000 });
      expect(job.state).toBe("FINISHED");
    });

    it("runs again from that savepoint and restores it", async () => {
      const started = Date.now();
      await client.runJar(jarId, {
        entryClass: install.release.examples.stateMachineClass,
        parallelism: 2,
        jobId: J2,
        savepointPath: stopSavepoint,
        claimMode: "NO_CLAIM",
        flinkConfiguration: checkpointing,
      });
      await waitForJobState(client, J2, ["RUNNING"], { timeoutMs: 120_000 });
      const restored = (await client.checkpoints(J2)).latest.restored;
      measure(
        `Flink ${install.release.version} run from savepoint -> RUNNING, restored`,
        Date.now() - started,
      );
      expect(restored?.external_path).toBe(stopSavepoint);
      expect(restored?.is_savepoint).toBe(true);
    });

    it("reads the exception history in one shape", async () => {
      const history = await client.exceptions(J2, 5);
      expect(Array.isArray(history.entries)).toBe(true);
      expect(typeof history.truncated).toBe("boolean");
    });

    it("reads and changes the job's resource requirements", async () => {
      const before = await client.resourceRequirements(J2);
      const vertices = Object.keys(before);
      expect(vertices.length).toBeGreaterThan(0);
      for (const v of vertices) expect(before[v].parallelism.upperBound).toBe(2);
      const lowered = Object.fromEntries(
        vertices.map(v => [v, { parallelism: { lowerBound: 1, upperBound: 1 } }]),
      );
      await client.setResourceRequirements(J2, lowered);
      const after = await client.resourceRequirements(J2);
      for (const v of vertices)
        expect(after[v].parallelism).toEqual({ lowerBound: 1, upperBound: 1 });
    });

    it("cancels the job and sees CANCELED; cancelling a finished job is a terminal-job error", async () => {
      const job = await cancelJob(client, J2, { timeoutMs: 60_000 });
      expect(job.state).toBe("CANCELED");
      // Flink accepts a repeated cancel of a cancelled job, but refuses one of a job that ended otherwise.
      await client.cancel(J2);
      const finished = await client.cancel(J1).catch(e => e);
      expect(finished).toBeInstanceOf(FlinkJobTerminalError);
      expect((finished as FlinkJobTerminalError).state).toBe("FINISHED");
      const late = await savepoint(client, J2, { timeoutMs: 30_000 }).catch(e => e);
      expect(late).toBeInstanceOf(FlinkJobTerminalError);
      expect((late as FlinkJobTerminalError).state).toBe("CANCELED");
    });

    it("disposes a savepoint", async () => {
      await disposeSavepoint(client, firstSavepoint, { timeoutMs: 60_000 });
      expect(existsSync(firstSavepoint.replace(/^file:/, ""))).toBe(false);
    });

    it("deletes the jar", async () => {
      await client.deleteJar(jarId);
      expect((await client.listJars()).files.map(f => f.id)).not.toContain(jarId);
    });

    it("reports an unknown job as missing", async () => {
      await expect(client.job(MISSING)).rejects.toBeInstanceOf(FlinkJobNotFoundError);
      await expect(client.checkpoints(MISSING)).rejects.toBeInstanceOf(FlinkJobNotFoundError);
      await expect(savepoint(client, MISSING, { timeoutMs: 30_000 })).rejects.toBeInstanceOf(
        FlinkJobNotFoundError,
      );
      await expect(client.cancel(MISSING)).rejects.toBeInstanceOf(FlinkJobNotFoundError);
    });

    it("carries Flink's own message when an upload is not a jar", async () => {
      const dir = await mkdtemp(join(tmpdir(), "not-a-jar-"));
      const file = join(dir, "notes.txt");
      await writeFile(file, "plain text, not a jar\n");
      const err = await client.uploadJarFile(file).catch(e => e);
      await rm(dir, { recursive: true, force: true });
      expect(err).toBeInstanceOf(FlinkRequestRejectedError);
      expect((err as FlinkRequestRejectedError).status).toBe(400);
      expect((err as FlinkRequestRejectedError).flinkErrors).toContain(
        "Only Jar files are allowed.",
      );
    });

    it("reports the JobManager killed during a call as unreachable, within the timeout", async () => {
      const { jarId: jar } = await client.uploadJarFile(install.stateMachineJar);
      await client.runJar(jar, {
        entryClass: install.release.examples.stateMachineClass,
        parallelism: 1,
        jobId: J3,
      });
      await waitForJobState(client, J3, ["RUNNING"], { timeoutMs: 120_000 });
      const timeoutMs = 5_000;
      const short = new FlinkRestClient({
        baseUrl: sandbox.restUrl,
        timeoutMs,
        retries: 2,
        backoffMs: 200,
      });
      const started = Date.now();
      // A wait that would take the full minute if the JobManager stayed up: the job never finishes.
      const call = waitForJobState(short, J3, ["FINISHED"], {
        timeoutMs: 60_000,
        intervalMs: 200,
      }).catch(e => e);
      await new Promise(r => setTimeout(r, 1_000));
      await killFlinkProcess(sandbox.processes.find(p => p.role === "jobmanager")!);
      const err = await call;
      const elapsed = Date.now() - started;
      expect(err).toBeInstanceOf(FlinkUnreachableError);
      // One attempt per retry, each bounded by the per-request timeout, plus backoff.
      expect(elapsed).toBeLessThan(1_000 + 3 * timeoutMs + 1_000);
    });
  });
}
