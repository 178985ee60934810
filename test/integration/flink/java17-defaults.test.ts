import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { effectiveFlinkConfiguration } from "../../../lib/builders/flink-conf";
import { FlinkRestClient, waitForJobState } from "../../../lib/flink";
import {
  ensureFlinkRuntime,
  javaOptionsFromConfig,
  sandboxConfig,
  sandboxDir,
  startJobManager,
  startTaskManager,
  stopFlinkProcess,
  waitForSlots,
  type FlinkInstall,
  type FlinkProcess,
} from "../../../scripts/sandbox/flink-runtime";
import { OPTIONS, fixture } from "../../unit/builders/helpers";

/**
 * The operator's config file replaces the image's own, so the JVM options Flink needs on Java 17 must come
 * from the operator. Real Flink on this machine's Java 17, started the way the image's scripts start it:
 * JVM options only from the configuration (env.java.*), none added by the sandbox.
 */
const RELEASES = [
  { flink: "1.20", version: "v1_20" },
  { flink: "2.3", version: "v2_3" },
] as const;

/** What must change for the cluster to run on 127.0.0.1 here: addresses, ports, directories. */
const LOCAL_KEYS = [
  "jobmanager.rpc.address",
  "jobmanager.rpc.port",
  "jobmanager.bind-host",
  "rest.address",
  "rest.bind-address",
  "rest.port",
  "blob.server.port",
  "taskmanager.host",
  "taskmanager.bind-host",
  "io.tmp.dirs",
  "web.upload.dir",
];

/** The configuration the operator builds for a session cluster of this release, with no operator ConfigMap. */
async function operatorBuilt(install: FlinkInstall, version: string, workDir: string) {
  const deployment = fixture("basic-session-deployment-only.yaml", raw => {
    raw.spec.flinkVersion = version as never;
    raw.spec.image = `flink:${version.slice(1).replace("_", ".")}`;
    raw.spec.jobManager = { resource: { memory: "1024m", cpu: 1 } };
    raw.spec.taskManager = { resource: { memory: "1024m", cpu: 1 } };
  });
  const built = effectiveFlinkConfiguration(deployment, OPTIONS);
  const local = await sandboxConfig(install, workDir, 2);
  return { ...built, ...Object.fromEntries(LOCAL_KEYS.map(k => [k, local[k]])) };
}

const started: FlinkProcess[] = [];
afterEach(async () => {
  for (const p of started.splice(0).reverse()) await stopFlinkProcess(p);
});

async function prepare(name: string) {
  const workDir = sandboxDir(name);
  await rm(workDir, { recursive: true, force: true });
  await mkdir(join(workDir, "tmp"), { recursive: true });
  await mkdir(join(workDir, "uploads"), { recursive: true });
  return workDir;
}

describe.each(RELEASES)("Flink $flink on Java 17 from the operator's configuration", release => {
  it("runs a job with only the JVM options the operator ships", async () => {
    const install = await ensureFlinkRuntime(release.flink);
    const workDir = await prepare(`java17-${release.flink}`);
    const config = await operatorBuilt(install, release.version, workDir);
    expect(javaOptionsFromConfig(config, "jobmanager")).toContain(
      "--add-opens=java.base/java.util=ALL-UNNAMED",
    );

    const jm = await startJobManager({ install, config, workDir, id: "jm", javaOptions: "config" });
    started.push(jm);
    started.push(
      await startTaskManager({ install, config, workDir, id: "tm", javaOptions: "config" }),
    );
    const restUrl = `http://127.0.0.1:${config["rest.port"]}`;
    await waitForSlots(restUrl, 2, started);
    const client = new FlinkRestClient({ baseUrl: restUrl, timeoutMs: 30_000 });
    const { jarId } = await client.uploadJarFile(install.stateMachineJar);
    const jobId = await client.runJar(jarId, {
      entryClass: install.release.examples.stateMachineClass,
      parallelism: 1,
    });
    await waitForJobState(client, jobId, ["RUNNING"], { timeoutMs: 120_000 });
  });

  it("fails to run the same job without them, as an image whose config file the operator replaced", async () => {
    const install = await ensureFlinkRuntime(release.flink);
    const workDir = await prepare(`java17-${release.flink}-without`);
    const { "env.java.default-opts.all": shipped, ...config } = await operatorBuilt(
      install,
      release.version,
      workDir,
    );
    expect(shipped).toBeDefined();
    expect(javaOptionsFromConfig(config, "jobmanager")).toEqual([]);

    // The job's graph is built in the JobManager, which is where Java 17 refuses: no TaskManager needed.
    const jm = await startJobManager({ install, config, workDir, id: "jm", javaOptions: "config" });
    started.push(jm);
    const restUrl = `http://127.0.0.1:${config["rest.port"]}`;
    await waitForSlots(restUrl, 0, started);
    const client = new FlinkRestClient({ baseUrl: restUrl, timeoutMs: 30_000 });
    const { jarId } = await client.uploadJarFile(install.stateMachineJar);
    const res = await fetch(`${restUrl}/jars/${jarId}/run`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ entryClass: install.release.examples.stateMachineClass }),
    });
    expect(res.ok).toBe(false);
    expect(await res.text()).toContain("java.lang.reflect.InaccessibleObjectException");
    expect(await client.jobsOverview()).toEqual([]);
  });
});
