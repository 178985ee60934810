import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serializeReconciledSpec } from "../../../lib/api/reconciled-spec";
import {
  apply,
  condition,
  createNamespace,
  deleteNamespace,
  eventually,
  events,
  find,
  flinkDeployment,
  kubectl,
  kubectlStdin,
  ready,
  withModuleStopped,
  type Json,
} from "./reconcile-helpers";

const ns = `rc-session-upgrade-${Date.now()}`;
const OPERATOR_CONFIG = { namespace: "pepr-system", name: "flink-operator-config" };
const TIMEOUT = "kubernetes.operator.session.upgrade.session-jobs.timeout";

function sessionJob(name: string, session: string, jarURI: string, upgradeMode: string) {
  return {
    apiVersion: "flink.apache.org/v1beta1",
    kind: "FlinkSessionJob",
    // The label admission adds (the session's stop finds its jobs by it).
    metadata: { name, namespace: ns, labels: { "target.session": session } },
    spec: {
      deploymentName: session,
      job: { jarURI, parallelism: 1, upgradeMode },
      flinkConfiguration: {
        "kubernetes.operator.observer.progress-check.interval": "2 s",
        "execution.checkpointing.dir": "file:///flink-data/checkpoints",
        "execution.checkpointing.savepoint-dir": "file:///flink-data/savepoints",
      },
    },
  };
}

/** A spec change of the session cluster that needs new pods. */
const upgrade = (session: string) =>
  kubectl(
    "patch",
    "flinkdep",
    session,
    "-n",
    ns,
    "--type=merge",
    "-p",
    JSON.stringify({ spec: { flinkConfiguration: { "taskmanager.numberOfTaskSlots": "3" } } }),
  );

/**
 * A session cluster's upgrade with its FlinkSessionJobs, against a real apiserver with kwok's simulated node: what
 * needs no JobManager to answer (kwok's pods serve no REST API). The stop of a running job with a savepoint, and
 * its restore on the new session, are test/e2e/session-upgrade.test.ts.
 */
describe("reconcile: a session cluster's upgrade and its session jobs", () => {
  let artifacts: string;

  beforeAll(async () => {
    await createNamespace(ns);
    artifacts = await mkdtemp(join(tmpdir(), "rc-session-upgrade-artifacts-"));
    await kubectlStdin(
      JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: OPERATOR_CONFIG,
        data: {
          "config.yaml": `kubernetes.operator.user.artifacts.base.dir: ${artifacts}\nkubernetes.operator.user.artifacts.allowed-schemes: https\n`,
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
    await deleteNamespace(ns);
    await rm(artifacts, { recursive: true, force: true });
  });

  it("goes on at once when its session jobs run nothing", async () => {
    await apply(flinkDeployment(ns, "idle-session"));
    await ready(ns, "idle-session");
    await apply(
      sessionJob("no-jar", "idle-session", `file://${artifacts}/missing.jar`, "savepoint"),
    );
    await eventually(
      "no-jar Ready=False JarFetchFailed",
      async () =>
        condition(await find("flinksessionjob", ns, "no-jar"), "Ready")?.reason ===
        "JarFetchFailed",
    );
    await upgrade("idle-session");
    const upgraded = await ready(ns, "idle-session");
    expect(upgraded.metadata.generation).toBe(2);
    expect(await events(ns, "idle-session")).toContain(
      "SessionJobsStopped: 1 session job(s) stopped or idle",
    );
    // The job that never ran was not touched: no stop on record, the same target and job id.
    const job = await find("flinksessionjob", ns, "no-jar");
    expect(job.status.reconciliationStatus.operation).toBeUndefined();
    expect(job.status.reconciliationStatus.state).toBe("UPGRADING");
  });

  it("records the stop of a running savepoint job in its status first, names it while it waits, and goes on at the timeout", async () => {
    await apply(flinkDeployment(ns, "session", { conf: { [TIMEOUT]: "20 s" } }));
    await ready(ns, "session");
    // A job the operator submitted and saw RUNNING, as its status says: made with the module stopped, since
    // kwok's JobManager runs nothing.
    const jobId = "5".repeat(32);
    const manifest = sessionJob("stateful", "session", `file://${artifacts}/job.jar`, "savepoint");
    await withModuleStopped(ns, async () => {
      await apply(manifest);
      await kubectl(
        "patch",
        "flinksessionjob",
        "stateful",
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({
          status: {
            jobStatus: { jobId, state: "RUNNING" },
            reconciliationStatus: {
              lastReconciledSpec: serializeReconciledSpec({ spec: manifest.spec, generation: 1 }),
              state: "DEPLOYED",
              restore: { upgradeMode: "stateless" },
            },
          },
        }),
      );
    });

    const started = Date.now();
    await upgrade("session");
    // The session job's controller, woken by the session's recorded step, writes its stop before it acts.
    const stopping: Json = await eventually(
      "the session job's stop on record",
      async () => {
        const j = await find("flinksessionjob", ns, "stateful");
        return j?.status?.reconciliationStatus?.operation ? j : undefined;
      },
      30_000,
    );
    expect(stopping.status.reconciliationStatus.operation).toMatchObject({
      kind: "session-upgrade",
      upgradeMode: "savepoint",
      step: "savepoint",
      jobId,
    });
    const waiting: Json = await eventually(
      "the session waiting for it, named with its step",
      async () => {
        const fd = await find("flinkdeployment", ns, "session");
        const ready = condition(fd, "Ready");
        return ready?.reason === "WaitingForSessionJobs" &&
          ready.message.includes("stateful (savepoint)")
          ? fd
          : undefined;
      },
      30_000,
    );
    expect(condition(waiting, "Ready").message).toMatch(
      /^waiting for session jobs to stop in their upgrade modes before the session cluster stops: stateful \(savepoint\) \(at most until .*, kubernetes\.operator\.session\.upgrade\.session-jobs\.timeout, 20 s\)/,
    );
    expect(waiting.status.reconciliationStatus.operation.step).toBe("session-jobs");
    // The old JobManager still runs while the session waits.
    expect(
      (
        await kubectl(
          "get",
          "pods",
          "-n",
          ns,
          "-l",
          "app=session,component=jobmanager",
          "-o",
          "name",
        )
      )
        .split("\n")
        .filter(Boolean),
    ).toHaveLength(1);
    expect(
      await kubectl(
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        "involvedObject.name=stateful,reason=SessionUpgrade",
        "-o",
        "jsonpath={.items[0].message}",
      ),
    ).toBe(
      `the session cluster is about to stop: stopping with a savepoint job ${jobId}, to submit it again once the session is back`,
    );

    // kwok's JobManager never answers, so the stop never ends: the session goes on at its timeout.
    const upgraded = await ready(ns, "session", 90_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(19_000);
    expect(upgraded.metadata.generation).toBe(2);
    expect(await events(ns, "session")).toContain(
      "SessionJobsNotStopped: session jobs did not stop within kubernetes.operator.session.upgrade.session-jobs.timeout, 20 s: stateful (savepoint); the session cluster stops anyway, and they are submitted again as lost jobs once it is back",
    );
  });
});
