import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlinkRestClient } from "../../../lib/flink/client";
import { waitForJobState } from "../../../lib/flink/operations";
import { rootCause } from "../../../lib/flink/root-cause";
import { inspectJob, lastLogLines } from "../../../lib/reconcile/why-stuck";
import {
  ensureFlinkRuntime,
  flinkDown,
  flinkUp,
  isRunning,
  killFlinkProcess,
  sandboxConfig,
  startJobManager,
  stopFlinkProcess,
  type FlinkInstall,
  type SandboxState,
} from "../../../scripts/sandbox/flink-runtime";

/**
 * Real Flink failures and what the operator makes of them: a JobManager that exits because the application's
 * entry class does not exist (a crash loop in Kubernetes: its log's last lines), and a job whose TaskManager
 * dies (its exception history's root cause). test/fixtures/flink-failures holds trimmed copies for the unit tests.
 */
describe.each(["2.2", "1.20"])("what the operator reports of real Flink %s failures", spec => {
  let install: FlinkInstall;

  beforeAll(async () => {
    install = await ensureFlinkRuntime(spec);
  });

  it("a JobManager whose entry class does not exist exits, and its last log lines name the class", async () => {
    const workDir = await mkdtemp(join(tmpdir(), "flink-missing-class-"));
    try {
      const jm = await startJobManager({
        install,
        workDir,
        id: "jobmanager",
        // What the builders set for application clusters.
        config: {
          ...(await sandboxConfig(install, workDir, 1)),
          "execution.submit-failed-job-on-application-error": "true",
          "execution.shutdown-on-application-finish": "false",
        },
        mainClass: install.release.mainClasses.applicationJobManager,
        args: ["--job-classname", "com.example.DoesNotExist"],
      });
      const deadline = Date.now() + 120_000;
      while (isRunning(jm) && Date.now() < deadline) await new Promise(r => setTimeout(r, 200));
      const stillRunning = isRunning(jm);
      await stopFlinkProcess(jm);
      expect(stillRunning).toBe(false);
      // The pod's previous log is this log's end (the image logs to the console in the same layout).
      const tail = (await readFile(jm.logFile, "utf8")).split("\n").slice(-40).join("\n");
      const lines = lastLogLines(tail)!;
      expect(lines.split(" | ").at(-1)).toBe(
        "Caused by: java.lang.ClassNotFoundException: com.example.DoesNotExist",
      );
      expect(lines).toContain("Could not create application program.");
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });

  describe("a job whose TaskManager dies while it runs", () => {
    const name = `it-failures-${spec}`;
    const jobId = "fa11ed00000000000000000000000001";
    let sandbox: SandboxState;
    let client: FlinkRestClient;

    beforeAll(async () => {
      // Without a TaskManager the restarted job asks for slots in vain: 5 s, then it fails for good.
      sandbox = await flinkUp({ flink: spec, name, config: { "slot.request.timeout": "5 s" } });
      client = new FlinkRestClient({ baseUrl: sandbox.restUrl, timeoutMs: 10_000 });
    });
    afterAll(() => flinkDown(name));

    it("restarts with the lost TaskManager as its root cause, then fails for want of resources, in one line each", async () => {
      const { jarId } = await client.uploadJarFile(install.stateMachineJar);
      await client.runJar(jarId, {
        entryClass: install.release.examples.stateMachineClass,
        parallelism: 2,
        jobId,
        flinkConfiguration: {
          "restart-strategy.type": "fixed-delay",
          "restart-strategy.fixed-delay.attempts": "1",
          "restart-strategy.fixed-delay.delay": "10 s",
        },
      });
      await waitForJobState(client, jobId, ["RUNNING"], { timeoutMs: 120_000 });
      // Every task deployed, so the TaskManager's death is a failure of running tasks.
      for (let i = 0; !(await client.job(jobId)).vertices.every(v => v.status === "RUNNING"); i++) {
        if (i > 600) throw new Error("the job's tasks did not all run within 2 minutes");
        await new Promise(r => setTimeout(r, 200));
      }
      await killFlinkProcess(sandbox.processes.find(p => p.role === "taskmanager")!);

      await waitForJobState(client, jobId, ["RESTARTING"], { timeoutMs: 60_000 });
      const restarting = await inspectJob(client, jobId);
      expect(restarting.job?.state).toBe("RESTARTING");
      expect(restarting.stuck).toEqual({
        reason: "JobRestarting",
        summary: "ResourceManagerException: TaskManager with id tm-1 is no longer reachable.",
        message:
          "job RESTARTING: ResourceManagerException: TaskManager with id tm-1 is no longer reachable.",
        fatal: false,
      });

      await waitForJobState(client, jobId, ["FAILED"], { timeoutMs: 60_000 });
      const history = await client.exceptions(jobId);
      expect(history.entries[0].stacktrace).toMatch(
        /^org.apache.flink.runtime.JobException: Recovery is suppressed/,
      );
      expect(rootCause(history)).toBe(
        "NoResourceAvailableException: Could not acquire the minimum required resources.",
      );
      expect((await inspectJob(client, jobId)).stuck?.message).toBe(
        "job FAILED: NoResourceAvailableException: Could not acquire the minimum required resources.",
      );
    });

    it("is a reason, not an error, once the JobManager is gone", async () => {
      await killFlinkProcess(sandbox.processes.find(p => p.role === "jobmanager")!);
      const gone = await inspectJob(
        new FlinkRestClient({ baseUrl: sandbox.restUrl, timeoutMs: 2_000, retries: 0 }),
        jobId,
      );
      expect(gone.job).toBeUndefined();
      expect(gone.stuck).toMatchObject({
        reason: "JobManagerUnreachable",
        summary: "the job's state cannot be read from the JobManager's REST API",
        fatal: false,
      });
      expect(gone.stuck?.message).toMatch(
        /^the job's state cannot be read from the JobManager's REST API: /,
      );
    });
  });
});
