import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  apply,
  deleteNamespace,
  eventually,
  getJson,
  kubectl,
  namespaceWithFlinkAccount,
  pods,
  type Json,
} from "./helpers";
import { patch, runningGeneration, stateMachine } from "./jobs";
import { stateDir } from "../../scripts/sandbox/examples";

process.env.KUBECONFIG = inject("kubeconfig");

/** Savepoints of a running job on demand, on a schedule with a pruned history, and before deletion. */
describe("savepoints of a running job on Flink 1.20", () => {
  const name = "snap";
  let ns: string;
  let dataDir: string;
  /** Where a savepoint Flink reports as file:/flink-data/... lies on the host. */
  const onHost = (location: string) =>
    join(dataDir, location.replace(/^file:\/*flink-data\//, ""), "_metadata");
  const status = async () => (await getJson("flinkdep", name, "-n", ns)).status ?? {};
  const events = async (): Promise<string[]> =>
    (
      await getJson("events", "-n", ns, "--field-selector", `involvedObject.name=${name}`)
    ).items.map((e: Json) => `${e.reason}: ${e.message}`);

  beforeAll(async () => {
    ns = await namespaceWithFlinkAccount("e2e-snap");
    dataDir = await stateDir();
    const dep = stateMachine(
      name,
      ns,
      dataDir,
      { image: "flink:1.20", flinkVersion: "v1_20" },
      "savepoint",
    );
    dep.spec.job.savepointTriggerNonce = 0;
    await apply(dep);
    await runningGeneration(ns, name, 1);
  });
  afterAll(async () => {
    await kubectl("delete", "flinkdep", name, "-n", ns, "--ignore-not-found", "--wait=false");
    await deleteNamespace(ns);
    await rm(dataDir, { recursive: true, force: true });
  });

  it("takes a savepoint for a new savepointTriggerNonce (not for the one it was created with), without a restart", async () => {
    const before = await status();
    expect(before.jobStatus.savepointInfo.lastSavepoint).toBeUndefined();
    await patch(ns, name, { spec: { job: { savepointTriggerNonce: 1 } } });
    const sp = await eventually(
      "the manual savepoint",
      async () => (await status()).jobStatus?.savepointInfo?.lastSavepoint,
      120_000,
    );
    expect(sp).toMatchObject({ triggerType: "MANUAL", triggerNonce: 1 });
    expect(existsSync(onHost(sp.location))).toBe(true);
    const after = await status();
    expect(after.jobStatus.jobId).toBe(before.jobStatus.jobId);
    expect(after.jobStatus.state).toBe("RUNNING");
    expect(await events()).toContain(`SavepointCompleted: manual savepoint ${sp.location}`);
  });

  it("takes periodic savepoints, keeps max.count in history and disposes of the others (their files go)", async () => {
    await patch(ns, name, {
      spec: {
        flinkConfiguration: {
          "kubernetes.operator.periodic.savepoint.interval": "5 s",
          "kubernetes.operator.savepoint.history.max.count": "2",
        },
      },
    });
    const disposed = await eventually(
      "a periodic savepoint disposed of",
      async () => {
        const e = await events();
        const periodic = e.filter(x => x.startsWith("SavepointCompleted: periodic savepoint "));
        const gone = e.filter(x => x.startsWith("SavepointDisposed: "));
        return periodic.length >= 3 && gone.length >= 1 ? gone : undefined;
      },
      180_000,
    );
    const history = (await status()).jobStatus.savepointInfo.savepointHistory;
    expect(history.length).toBeLessThanOrEqual(2);
    const path = disposed[0].replace(
      /^SavepointDisposed: disposed of (\S+), out of the history$/,
      "$1",
    );
    expect(history.map((s: Json) => s.location)).not.toContain(path);
    await eventually(
      "the disposed savepoint's files gone",
      async () => !existsSync(onHost(path)),
      60_000,
    );
    for (const s of history) expect(existsSync(onHost(s.location))).toBe(true);
    await patch(ns, name, {
      spec: { flinkConfiguration: { "kubernetes.operator.periodic.savepoint.interval": null } },
    });
  });

  it("stops the job with a savepoint before deleting it (job.savepoint-on-deletion), named in an Event", async () => {
    await patch(ns, name, {
      spec: { flinkConfiguration: { "kubernetes.operator.job.savepoint-on-deletion": "true" } },
    });
    await eventually(
      "the setting observed",
      async () => {
        const d = await getJson("flinkdep", name, "-n", ns);
        return d.status?.observedGeneration === d.metadata.generation;
      },
      60_000,
    );
    await kubectl("delete", "flinkdep", name, "-n", ns, "--wait=true", "--timeout=180s");
    const named = (await events()).find(e => e.startsWith("DeletionSavepoint: "));
    expect(named).toBeDefined();
    const location = named!.replace(/^.* stopped with savepoint (\S+) before deletion$/, "$1");
    expect(existsSync(onHost(location))).toBe(true);
    await eventually(
      "the cluster's pods gone",
      async () => (await pods(ns, `app=${name}`)).length === 0,
      120_000,
    );
  });
});
