import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { FlinkRestClient } from "../../lib/flink/client";
import { resolveRestEndpoint } from "../../lib/reconcile/cluster-info";
import { SESSION_JOB_CRASH_POINTS } from "../../lib/reconcile/crash-points";
import { classifyAddress } from "../../lib/validation/hosts";
import { hostsTable } from "../../scripts/sandbox/hosts-only-dns";
import { ensureFlinkRuntime, type FlinkInstall } from "../../scripts/sandbox/flink-runtime";
import { modulePid } from "../integration/k8s/reconcile-helpers";
import {
  apply,
  deleteNamespace,
  eventually,
  getJson,
  kubectl,
  kubectlStdin,
  namespaceWithFlinkAccount,
  pods,
  type Json,
} from "./helpers";
import {
  removeOperatorConfig,
  runningSessionJob,
  serveJar,
  trustJarServer,
  type JarServer,
} from "./session-jobs";

process.env.KUBECONFIG = inject("kubeconfig");
const crashDir = inject("crashDir");

const EXAMPLE = "test/fixtures/compat/1.15.0/basic-session-deployment-and-job.yaml";

/**
 * A host name this machine's /etc/hosts gives an internal address (the sandbox's operator resolves names from
 * /etc/hosts only): this machine's own name. Fails loudly when there is none.
 */
function internalName(): { name: string; address: string } {
  const table = hostsTable(readFileSync("/etc/hosts", "utf8"));
  const name = hostname().toLowerCase();
  const address = table.get(name)?.[0]?.address;
  if (!address || classifyAddress(address).allowed)
    throw new Error(
      `this test needs /etc/hosts to map this machine's name "${name}" to a local address; it maps it to ${address ?? "nothing"}`,
    );
  return { name, address };
}

/**
 * The reference's session example on the real node, with its jars served by a local https server whose CA the
 * operator is told to trust (kubernetes.operator.user.artifacts.trusted-ca), on the name `localhost`, which the
 * operator is told to allow (kubernetes.operator.user.artifacts.allowed-internal-hosts). Resources are those of
 * a 2-CPU node; checkpoints and savepoints go to a host directory shared by the pods.
 */
// Flink 1.20 only: the suite's time is bounded, and session-upgrade.test.ts runs session jobs on 2.3.
describe.each([{ flink: "1.20", image: "flink:1.20", flinkVersion: "v1_20" }])(
  "session jobs on Flink $flink",
  ({ flink, image, flinkVersion }) => {
    let ns: string;
    let dataDir: string;
    let install: FlinkInstall;
    let server: JarServer;
    let base: string;
    let hits: Map<string, number>;
    const session = "basic-session-deployment-example";

    beforeAll(async () => {
      install = await ensureFlinkRuntime(flink);
      ns = await namespaceWithFlinkAccount(`e2e-sj-${flinkVersion.replace("_", "-")}`);
      dataDir = await mkdtemp(join(tmpdir(), "fpo-e2e-sessionjob-"));
      await chmod(dataDir, 0o777);
      // A redirect to the loopback address: allowed by name only, the address itself is refused.
      server = await serveJar(await readFile(install.stateMachineJar), (path, res) => {
        if (!path.startsWith("/redirect/")) return false;
        res.writeHead(302, { location: `https://127.0.0.1:${port()}/jars/examples.jar` }).end();
        return true;
      });
      const port = () => new URL(server.base).port;
      base = server.base;
      hits = server.hits;
      await trustJarServer(server, probeAdmission);
    });
    afterAll(async () => {
      await removeOperatorConfig();
      await deleteNamespace(ns);
      await server?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    /** Whether admission allows a session job jar on https://localhost yet (a server-side dry run). */
    async function probeAdmission(): Promise<boolean> {
      return kubectlStdin(
        JSON.stringify(sessionJob("probe", { jarURI: `${base}/jars/probe.jar`, parallelism: 1 })),
        "apply",
        "--dry-run=server",
        "-f",
        "-",
      ).then(
        () => true,
        () => false,
      );
    }

    const client = async () =>
      new FlinkRestClient({
        ...(await resolveRestEndpoint("proxy", {
          name: `${session}-rest`,
          namespace: ns,
          port: 8081,
        })),
        timeoutMs: 30_000,
      });

    function sessionJob(name: string, job: Json, conf: Json = {}): Json {
      return {
        apiVersion: "flink.apache.org/v1beta1",
        kind: "FlinkSessionJob",
        metadata: { name, namespace: ns },
        spec: {
          deploymentName: session,
          job: {
            entryClass: install.release.examples.stateMachineClass,
            upgradeMode: "stateless",
            ...job,
          },
          flinkConfiguration: {
            "kubernetes.operator.observer.progress-check.interval": "2 s",
            "kubernetes.operator.reconcile.interval": "5 s",
            "execution.checkpointing.interval": "2 s",
            ...conf,
          },
        },
      };
    }

    const job = (name: string) => getJson("flinksessionjob", name, "-n", ns);

    const runningJob = (name: string, timeoutMs?: number) => runningSessionJob(ns, name, timeoutMs);

    const patchJob = (name: string, body: Json) =>
      kubectl(
        "patch",
        "flinksessionjob",
        name,
        "-n",
        ns,
        "--type=merge",
        "-p",
        JSON.stringify(body),
      );

    const events = async (name: string, reason: string) =>
      (
        await getJson(
          "events",
          "-n",
          ns,
          "--field-selector",
          `involvedObject.kind=FlinkSessionJob,involvedObject.name=${name},reason=${reason}`,
        )
      ).items.map((e: Json) => e.message as string);

    it("runs the reference's session job example: both jobs RUNNING, with the job ids in status", async () => {
      const docs = parseAllDocuments(readFileSync(EXAMPLE, "utf8")).map(d => d.toJS());
      const dep = docs.find(d => d.kind === "FlinkDeployment");
      Object.assign(dep.spec, {
        image,
        flinkVersion,
        jobManager: { resource: { memory: "1024m", cpu: 0.5 } },
        taskManager: { resource: { memory: "1024m", cpu: 0.5 } },
        flinkConfiguration: {
          "taskmanager.numberOfTaskSlots": "8",
          "execution.checkpointing.dir": "file:///flink-data/checkpoints",
          "execution.checkpointing.savepoint-dir": "file:///flink-data/savepoints",
          // Checkpoints stay, so the one a lost job's status names still exists when it is submitted again.
          "execution.checkpointing.num-retained": "1000",
        },
        podTemplate: {
          spec: {
            containers: [
              {
                name: "flink-main-container",
                volumeMounts: [{ mountPath: "/flink-data", name: "flink-data" }],
              },
            ],
            volumes: [{ name: "flink-data", hostPath: { path: dataDir, type: "Directory" } }],
          },
        },
      });
      await apply({ ...dep, metadata: { ...dep.metadata, namespace: ns } });
      // The jobs as the example writes them, on the local server; the first names its class (the example's
      // TopSpeedWindowing jar says it in its manifest, the examples jar served here does not).
      const jobs = docs.filter(d => d.kind === "FlinkSessionJob");
      jobs[0].spec.job.jarURI = `${base}/jars/TopSpeedWindowing.jar`;
      jobs[0].spec.job.entryClass =
        "org.apache.flink.streaming.examples.windowing.TopSpeedWindowing";
      jobs[0].spec.job.parallelism = 1;
      jobs[1].spec.job.jarURI = `${base}/jars/examples.jar`;
      for (const j of jobs) await apply({ ...j, metadata: { ...j.metadata, namespace: ns } });

      for (const j of jobs) {
        const running = await runningJob(j.metadata.name, 420_000);
        const jobId = running.status.jobStatus.jobId;
        expect(jobId).toMatch(/^[0-9a-f]{32}$/);
        const overview = await (await client()).jobsOverview();
        expect(overview.find(o => o.jid === jobId)?.state).toBe("RUNNING");
        expect(running.metadata.finalizers).toEqual([
          "flinksessionjobs.flink.apache.org/finalizer",
        ]);
      }
      expect(await events(jobs[0].metadata.name, "JobSubmitted")).toHaveLength(1);
    });

    it("downloads a jar once for three session jobs on one session", async () => {
      const names = ["three-a", "three-b", "three-c"];
      await Promise.all(
        names.map(n => apply(sessionJob(n, { jarURI: `${base}/jars/three.jar`, parallelism: 1 }))),
      );
      for (const n of names) await runningJob(n);
      expect(hits.get("/jars/three.jar")).toBe(1);
      for (const n of names)
        await kubectl("delete", "flinksessionjob", n, "-n", ns, "--timeout=120s");
    });

    it("refuses, at fetch time, a jar URL that redirects to 127.0.0.1 and a name that resolves to a local address", async () => {
      await apply(sessionJob("redirected", { jarURI: `${base}/redirect/examples.jar` }));
      const local = internalName();
      const port = new URL(base).port;
      await apply(sessionJob("local-name", { jarURI: `https://${local.name}:${port}/jars/x.jar` }));
      const reason = (name: string) =>
        eventually(`${name} JarFetchFailed`, async () => {
          const j = await job(name);
          const ready = j.status?.conditions?.find((c: Json) => c.type === "Ready");
          return ready?.reason === "JarFetchFailed" && ready.message;
        });
      expect(await reason("redirected")).toMatch(
        /^jar https:\/\/127\.0\.0\.1:\d+\/jars\/examples\.jar: host "127\.0\.0\.1" is loopback/,
      );
      expect(await reason("local-name")).toContain(
        `host "${local.name}" resolves to ${local.address}, which is`,
      );
      expect(hits.get(`/jars/x.jar`)).toBeUndefined();
      expect((await events("redirected", "JarFetchFailed")).length).toBeGreaterThan(0);
      for (const name of ["redirected", "local-name"])
        await kubectl("delete", "flinksessionjob", name, "-n", ns, "--timeout=60s");
    });

    it("upgrades a savepoint session job and suspends and resumes it, each time restoring the savepoint", async () => {
      const name = "stateful";
      await apply(
        sessionJob(name, {
          jarURI: `${base}/jars/examples.jar`,
          parallelism: 1,
          upgradeMode: "savepoint",
        }),
      );
      const first = await runningJob(name);
      const firstId = first.status.jobStatus.jobId;
      await patchJob(name, { spec: { job: { parallelism: 2 } } });
      const upgraded = await runningJob(name);
      const js = upgraded.status.jobStatus;
      expect(js.jobId).not.toBe(firstId);
      expect(js.upgradeSavepointPath).toMatch(/savepoint-/);
      expect(upgraded.status.reconciliationStatus.restore).toEqual({
        upgradeMode: "savepoint",
        path: js.upgradeSavepointPath,
      });
      const rest = await client();
      expect((await rest.checkpoints(js.jobId)).latest.restored?.external_path).toBe(
        js.upgradeSavepointPath,
      );
      expect((await rest.job(firstId)).state).toBe("FINISHED");

      await patchJob(name, { spec: { job: { state: "suspended" } } });
      const suspended = await eventually(
        "SUSPENDED",
        async () => {
          const j = await job(name);
          return (
            j.status?.lifecycleState === "SUSPENDED" &&
            !j.status.reconciliationStatus.operation &&
            j
          );
        },
        180_000,
      );
      const kept = suspended.status.reconciliationStatus.restore;
      expect(kept.upgradeMode).toBe("savepoint");
      expect((await rest.job(js.jobId)).state).toBe("FINISHED");
      await patchJob(name, { spec: { job: { state: "running" } } });
      const resumed = await runningJob(name);
      expect(
        (await rest.checkpoints(resumed.status.jobStatus.jobId)).latest.restored?.external_path,
      ).toBe(kept.path);
    });

    it.each(SESSION_JOB_CRASH_POINTS.map(point => ({ point })))(
      "runs one job, not two, when the operator is SIGKILLed at $point, and leaves no upload behind",
      async ({ point }) => {
        const rest = await client();
        const before = (await rest.jobsOverview()).length;
        const name = `crash-${point.replace(/^session-/, "")}`;
        const pid = modulePid();
        await writeFile(join(crashDir, point), "");
        await apply(sessionJob(name, { jarURI: `${base}/jars/examples.jar`, parallelism: 1 }));
        await eventually(
          `the operator killed at ${point}`,
          async () => !existsSync(join(crashDir, point)),
          180_000,
        );
        await eventually(
          "the operator started again",
          async () => {
            const next = modulePid();
            return next !== undefined && next !== pid;
          },
          60_000,
        );
        const running = await runningJob(name);
        const jobs = await rest.jobsOverview();
        expect(jobs.length).toBe(before + 1);
        expect(jobs.filter(j => j.jid === running.status.jobStatus.jobId)).toHaveLength(1);
        expect(
          (await rest.listJars()).files.filter(f =>
            f.name.startsWith(running.status.jobStatus.jobId),
          ),
        ).toEqual([]);
        await kubectl("delete", "flinksessionjob", name, "-n", ns, "--timeout=120s");
      },
    );

    it("brings a job back from its last checkpoint when the session's JobManager is deleted (no HA)", async () => {
      const name = "stateful";
      const before = await runningJob(name);
      const lostId = before.status.jobStatus.jobId;
      const checkpoint = await eventually(
        "a checkpoint in status",
        async () => (await job(name)).status?.jobStatus?.checkpointInfo?.latestCompletedPath,
        120_000,
      );
      const [jm] = await pods(ns, `app=${session},component=jobmanager`);
      await kubectl("delete", "pod", jm.metadata.name, "-n", ns, "--wait=false");
      const back = await eventually(
        "the job submitted again",
        async () => {
          const j = await job(name);
          return (
            j.status?.jobStatus?.jobId !== lostId && j.status?.jobStatus?.state === "RUNNING" && j
          );
        },
        420_000,
      );
      const restore = back.status.reconciliationStatus.restore;
      expect(restore.upgradeMode).toBe("savepoint");
      expect(restore.path).toMatch(/chk-\d+/);
      // The newest checkpoint status named before the loss, or a later one the job completed and reported.
      expect(restore.path.replace(/chk-\d+$/, "")).toBe(checkpoint.replace(/chk-\d+$/, ""));
      expect(
        (await (await client()).checkpoints(back.status.jobStatus.jobId)).latest.restored
          ?.external_path,
      ).toBe(restore.path);
      expect((await events(name, "JobLost")).at(-1)).toMatch(
        new RegExp(`^job ${lostId} was lost with the session's JobManager`),
      );
    });

    it("takes a savepoint when a session job is deleted with savepoint-on-deletion, and the Event names it", async () => {
      const name = "keep-on-delete";
      await apply(
        sessionJob(
          name,
          { jarURI: `${base}/jars/examples.jar`, parallelism: 1 },
          { "kubernetes.operator.job.savepoint-on-deletion": "true" },
        ),
      );
      const running = await runningJob(name);
      await kubectl("delete", "flinksessionjob", name, "-n", ns, "--timeout=180s");
      const [message] = await events(name, "SavepointCompleted");
      expect(message).toMatch(
        new RegExp(
          `^job ${running.status.jobStatus.jobId} stopped with savepoint file:/+flink-data/savepoints/savepoint-`,
        ),
      );
      const dir = message.replace(/^.* stopped with savepoint file:\/+flink-data\//, "");
      expect(await readdir(join(dataDir, dir))).toContain("_metadata");
    });
  },
);
