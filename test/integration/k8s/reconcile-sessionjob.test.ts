import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apply,
  condition,
  createNamespace,
  deleteNamespace,
  eventually,
  find,
  flinkDeployment,
  getJson,
  kubectl,
  kubectlStdin,
  ready,
  type Json,
} from "./reconcile-helpers";

const ns = `rc-sessionjob-${Date.now()}`;
const OPERATOR_CONFIG = { namespace: "pepr-system", name: "flink-operator-config" };
const FINALIZER = "flinksessionjobs.flink.apache.org/finalizer";

function sessionJob(name: string, deploymentName: string, jarURI: string, conf: Json = {}) {
  return {
    apiVersion: "flink.apache.org/v1beta1",
    kind: "FlinkSessionJob",
    metadata: { name, namespace: ns },
    spec: {
      deploymentName,
      job: { jarURI, parallelism: 1, upgradeMode: "stateless" },
      flinkConfiguration: {
        "kubernetes.operator.observer.progress-check.interval": "2 s",
        ...conf,
      },
    },
  };
}

/** The session job's Events, oldest first, as "Reason: message". */
async function jobEvents(name: string): Promise<string[]> {
  const list = await getJson(
    "events",
    "-n",
    ns,
    "--field-selector",
    `involvedObject.kind=FlinkSessionJob,involvedObject.name=${name}`,
  );
  return list.items
    .sort((a: Json, b: Json) => String(a.lastTimestamp).localeCompare(String(b.lastTimestamp)))
    .map((e: Json) => `${e.reason}: ${e.message}`);
}

const readyReason = (name: string) => async () => {
  const job = await find("flinksessionjob", ns, name);
  return { job, reason: condition(job, "Ready")?.reason as string | undefined };
};

async function waitForReason(name: string, reason: string, timeoutMs = 60_000): Promise<Json> {
  return eventually(
    `${name} Ready=False ${reason}`,
    async () => {
      const { job, reason: now } = await readyReason(name)();
      return now === reason ? job : undefined;
    },
    timeoutMs,
  );
}

/**
 * The FlinkSessionJob controller as the module runs it, against a real apiserver with kwok's simulated node:
 * everything that does not need a JobManager to answer (kwok's pods serve no REST API). Flink's side is
 * test/integration/flink/session-jobs.ts.
 */
describe("reconcile: FlinkSessionJob", () => {
  let artifacts: string;
  let server: Server;
  let port: number;
  const redirects: string[] = [];

  beforeAll(async () => {
    await createNamespace(ns);
    artifacts = await mkdtemp(join(tmpdir(), "rc-sessionjob-artifacts-"));
    await writeFile(join(artifacts, "job.jar"), "PK\u0003\u0004 a jar in name only");
    // A jar host that redirects to the cloud metadata address: the fetcher must refuse it without a connection.
    server = createServer((req, res) => {
      redirects.push(req.url ?? "");
      res.writeHead(302, { location: "http://169.254.169.254/latest/job.jar" }).end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    port = (server.address() as AddressInfo).port;
    await kubectlStdin(
      JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: OPERATOR_CONFIG,
        data: {
          "config.yaml": [
            `kubernetes.operator.user.artifacts.base.dir: ${artifacts}`,
            "kubernetes.operator.user.artifacts.allowed-schemes: http;https",
            "kubernetes.operator.user.artifacts.allowed-internal-hosts: 127.0.0.1",
            "",
          ].join("\n"),
        },
      }),
      "apply",
      "-f",
      "-",
    );
  });
  afterAll(async () => {
    await kubectl(
      "delete",
      "configmap",
      OPERATOR_CONFIG.name,
      "-n",
      OPERATOR_CONFIG.namespace,
      "--ignore-not-found",
    );
    await new Promise(r => server?.close(r));
    await deleteNamespace(ns);
    await rm(artifacts, { recursive: true, force: true });
  });

  it("holds its finalizer, says its session is missing, and is woken by the session becoming ready", async () => {
    // A long progress interval: only the session's own changes can wake the job within the test's minute.
    await apply(
      sessionJob("waiting", "later", `file://${artifacts}/missing.jar`, {
        "kubernetes.operator.observer.progress-check.interval": "10 min",
        "kubernetes.operator.reconcile.interval": "10 min",
      }),
    );
    const missing = await waitForReason("waiting", "SessionNotFound");
    expect(missing.metadata.finalizers).toEqual([FINALIZER]);
    expect(condition(missing, "Ready")).toMatchObject({
      status: "False",
      message: 'the session cluster (FlinkDeployment "later") does not exist',
    });
    expect(missing.status.lifecycleState).toBe("UPGRADING");
    expect(missing.status.jobStatus.jobId).toMatch(/^[0-9a-f]{32}$/);
    expect(missing.status.reconciliationStatus.state).toBe("UPGRADING");

    await apply(flinkDeployment(ns, "later"));
    await ready(ns, "later");
    // The session READY wakes the job: its jar (missing) is tried at once.
    const fetched = await waitForReason("waiting", "JarFetchFailed", 30_000);
    expect(fetched.status.jobStatus.jobId).toBe(missing.status.jobStatus.jobId);
    // Nothing was run: the deletion has nothing to stop.
    await kubectl("delete", "flinksessionjob", "waiting", "-n", ns, "--timeout=30s");
  });

  it("says why its jar cannot be fetched, in status and an Event, without reaching Flink, and keeps trying", async () => {
    await apply(flinkDeployment(ns, "session"));
    await ready(ns, "session");
    await apply(sessionJob("no-jar", "session", `file://${artifacts}/missing.jar`));
    const job = await waitForReason("no-jar", "JarFetchFailed");
    const message = `jar file://${artifacts}/missing.jar: does not exist (ENOENT)`;
    expect(condition(job, "Ready").message).toContain(message);
    // Never sent to Flink: the job id is on record, but not as submitted.
    expect(job.status.jobStatus.state).toBeUndefined();
    expect(await jobEvents("no-jar")).toContain(`JarFetchFailed: ${message}`);
    // Retried with backoff: once the jar is there, the fetch succeeds and the job goes on to Flink.
    await writeFile(join(artifacts, "missing.jar"), "PK\u0003\u0004 now here");
    // The run is asked for (written before the upload), and kwok's JobManager does not answer the upload.
    await eventually(
      "the jar fetched, the run asked for, the JobManager not answering",
      async () => {
        const j = await find("flinksessionjob", ns, "no-jar");
        return (
          j?.status?.jobStatus?.state === "RECONCILING" &&
          condition(j, "Ready")?.reason === "JobManagerUnreachable"
        );
      },
      60_000,
    );
  });

  it("refuses a jar URL that redirects to the metadata address, before connecting to it", async () => {
    await apply(sessionJob("redirected", "session", `http://127.0.0.1:${port}/job.jar`));
    const job = await waitForReason("redirected", "JarFetchFailed");
    expect(condition(job, "Ready").message).toMatch(
      new RegExp(
        `^jar http://169\\.254\\.169\\.254/latest/job\\.jar: host "169\\.254\\.169\\.254" is link-local`,
      ),
    );
    expect(redirects.length).toBeGreaterThan(0);
    expect(redirects.every(u => u === "/job.jar")).toBe(true);
  });

  it("says s3:// jars are not supported yet", async () => {
    await kubectlStdin(
      JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: OPERATOR_CONFIG,
        data: {
          "config.yaml": [
            `kubernetes.operator.user.artifacts.base.dir: ${artifacts}`,
            "kubernetes.operator.user.artifacts.allowed-schemes: http;https;s3",
            "kubernetes.operator.user.artifacts.allowed-internal-hosts: 127.0.0.1",
            "",
          ].join("\n"),
        },
      }),
      "apply",
      "-f",
      "-",
    );
    // Admission reads the ConfigMap within seconds of its change.
    await eventually(
      "s3 admitted",
      async () =>
        apply(sessionJob("on-s3", "session", "s3://bucket/jobs/job.jar")).then(
          () => true,
          () => false,
        ),
      30_000,
    );
    const job = await waitForReason("on-s3", "JarFetchFailed");
    expect(condition(job, "Ready").message).toMatch(
      /^jar s3:\/\/bucket\/jobs\/job\.jar: s3:\/\/ jars are not supported by the operator's fetcher yet/,
    );
  });

  it("releases the finalizer at once when nothing was run, and when the session cluster is gone", async () => {
    await kubectl("delete", "flinksessionjob", "redirected", "on-s3", "-n", ns, "--timeout=30s");
    // no-jar's run was asked for (RECONCILING): with its session gone there is nothing left to stop.
    await kubectl(
      "patch",
      "flinkdep",
      "session",
      "-n",
      ns,
      "--type=merge",
      "-p",
      JSON.stringify({
        spec: {
          flinkConfiguration: {
            "kubernetes.operator.session.deletion.block-on-session-jobs": "false",
          },
        },
      }),
    );
    await kubectl("delete", "flinkdep", "session", "-n", ns, "--timeout=60s");
    const started = Date.now();
    await kubectl("delete", "flinksessionjob", "no-jar", "-n", ns, "--timeout=30s");
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("bounds the stop of a job it cannot reach by resource.cleanup.timeout, then releases the finalizer with an Event", async () => {
    await apply(
      sessionJob("unreachable", "later", `file://${artifacts}/job.jar`, {
        "kubernetes.operator.resource.cleanup.timeout": "5 s",
      }),
    );
    await eventually(
      "the run asked for",
      async () =>
        (await find("flinksessionjob", ns, "unreachable"))?.status?.jobStatus?.state ===
        "RECONCILING",
    );
    const started = Date.now();
    await kubectl("delete", "flinksessionjob", "unreachable", "-n", ns, "--wait=false");
    await eventually(
      "the session job gone",
      async () => !(await find("flinksessionjob", ns, "unreachable")),
      60_000,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
    const events = await getJson(
      "events",
      "-n",
      ns,
      "--field-selector",
      "involvedObject.kind=FlinkSessionJob,involvedObject.name=unreachable,reason=CleanupFailed",
    );
    expect(events.items[0]?.message).toMatch(
      /^the job could not be stopped for \d+s \(kubernetes\.operator\.resource\.cleanup\.timeout\), releasing the finalizer/,
    );
  });
});
