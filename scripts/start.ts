/*
 * npm start [-- --flink 1.20|2.2|2] [--detach] [--in-cluster]
 *   Builds or reuses everything, starts the control plane with a real node, the operator (webhooks included) and
 *   the reference's basic application, and prints the job's state, the Flink UI and the kubectl to use as soon as
 *   each is true. In the foreground until Ctrl-C, which stops everything. --detach prints `export` lines on stdout
 *   and returns once the operator is ready; `npm stop` tears it down. --in-cluster runs the operator in the node's
 *   pods as users install it (npm run build's manifests with the locally built module image) instead of on the
 *   host.
 * npm stop
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseAllDocuments } from "yaml";
import { binaryPaths } from "./sandbox/build";
import { controlPlaneRunning, startControlPlane, stopControlPlane } from "./sandbox/controlplane";
import { installCrds } from "./sandbox/crds";
import { flinkServiceAccount } from "./sandbox/flink-rbac";
import { PEPR_NAMESPACE, installInCluster, prepareInCluster } from "./sandbox/in-cluster";
import { instanceDir } from "./sandbox/instance";
import { startModule } from "./sandbox/module";
import { freePort, isAlive, run, say, seconds, sleep } from "./sandbox/proc";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const EXAMPLE = join(REPO, "test", "fixtures", "compat", "1.15.0", "basic.yaml");
const dir = instanceDir("start");
const RECORD = join(dir, "..", `${dir.split("/").pop()}.json`);

/** What `npm stop` (or a second `npm start`) needs to know about a running start. */
interface StartRecord {
  pid: number;
  modulePid?: number;
  portForwardPid?: number;
  detached: boolean;
}

/** --flink picks the image; without it the example runs unchanged (flink:2.2). */
const FLINK_CHOICES: Record<string, { image: string; flinkVersion: string }> = {
  "1.20": { image: "flink:1.20", flinkVersion: "v1_20" },
  "2.2": { image: "flink:2.2", flinkVersion: "v2_2" },
  "2": { image: "flink:2.3", flinkVersion: "v2_3" },
  "2.3": { image: "flink:2.3", flinkVersion: "v2_3" },
};

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      detach: { type: "boolean", default: false },
      flink: { type: "string" },
      "in-cluster": { type: "boolean", default: false },
    },
  });
  const choice = values.flink === undefined ? undefined : FLINK_CHOICES[values.flink];
  if (values.flink !== undefined && !choice)
    throw new Error(`--flink is one of ${Object.keys(FLINK_CHOICES).join(", ")}`);
  const running = readRecord();
  if (running && (isAlive(running.pid) || (await controlPlaneRunning(dir)))) {
    say(
      `npm start is already running here (pid ${running.pid}${running.detached ? ", detached" : ""}); ` +
        "`npm stop` stops it",
    );
    process.exitCode = 1;
    return;
  }
  await stopControlPlane(dir);
  const record: StartRecord = { pid: process.pid, detached: values.detach };
  await saveRecord(record);

  const started = Date.now();
  say(
    "starting: control plane + real node (first run builds Kubernetes, CoreDNS and the Flink images: 15-25 min)",
  );
  const cp = await startControlPlane({
    dir,
    detach: values.detach,
    node: "real",
    logDir: join(dir, "..", `${dir.split("/").pop()}-logs`),
  });
  const kubectl = (...a: string[]) =>
    run(cp.kubectl, [`--kubeconfig=${cp.kubeconfig}`, ...a], { quiet: true });
  await installCrds(cp);

  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    say("stopping: operator, port-forward, cluster");
    await stopEverything({ ...record, ...readRecord() });
    say("stopped; nothing left running");
  };
  if (!values.detach) {
    process.on("SIGINT", () => void stopAll().then(() => process.exit(0)));
    process.on("SIGTERM", () => void stopAll().then(() => process.exit(0)));
  }

  if (values["in-cluster"]) {
    say("installing the operator into the cluster (npm run build's manifests, the module image)");
    const dist = await prepareInCluster(cp);
    await installInCluster(cp, dist, "manifests");
    say(
      `operator ready in ${seconds(Date.now() - started)} (logs: kubectl logs -n ${PEPR_NAMESPACE} -l pepr.dev/controller)`,
    );
    // The manifests hold the `flink` service account for package.json flinkServiceAccount.namespaces (default).
  } else {
    say("starting the operator (module with its webhooks)");
    const mod = await startModule({
      kubeconfig: cp.kubeconfig,
      logFile: join(dir, "operator.log"),
      detach: values.detach,
    });
    record.modulePid = mod.supervisorPid;
    await saveRecord(record);
    say(`operator ready in ${seconds(Date.now() - started)} (log: ${join(dir, "operator.log")})`);
    await applyYaml(kubectl, JSON.stringify(flinkServiceAccount("default")));
  }
  const example = exampleYaml(choice);
  await applyYaml(kubectl, example.yaml);
  say(`applied ${EXAMPLE.replace(REPO, "")} (image ${example.image})`);

  const kubectlDir = dirname(binaryPaths().kubectl);
  const exports = `export KUBECONFIG=${cp.kubeconfig}\nexport PATH=${kubectlDir}:$PATH\n`;
  if (values.detach) {
    process.stdout.write(exports);
    say("detached: `kubectl get flinkdep -w` follows the job; `npm stop` tears everything down");
    return;
  }
  say(`in another shell:\n${exports}kubectl get flinkdep,pods`);
  await follow(kubectl, example.name, record, started);
  say("Ctrl-C stops everything");
  await new Promise(() => undefined);
}

/** The example unchanged, or with the image and flinkVersion of --flink. */
function exampleYaml(choice?: { image: string; flinkVersion: string }) {
  const text = readFileSync(EXAMPLE, "utf8");
  const doc = parseAllDocuments(text)[0].toJS() as {
    metadata: { name: string };
    spec: { image: string; flinkVersion: string };
  };
  if (choice) Object.assign(doc.spec, choice);
  return {
    yaml: choice ? JSON.stringify(doc) : text,
    name: doc.metadata.name,
    image: doc.spec.image,
  };
}

async function applyYaml(kubectl: (...a: string[]) => Promise<string>, yaml: string) {
  const file = join(dir, `apply-${Date.now()}.yaml`);
  await writeFile(file, yaml);
  await kubectl("apply", "-f", file);
}

/** Prints each milestone once, as soon as it is true: pods, the job's state, the UI's forwarded port. */
async function follow(
  kubectl: (...a: string[]) => Promise<string>,
  name: string,
  record: StartRecord,
  started: number,
): Promise<void> {
  const told = new Set<string>();
  const tell = (key: string, line: string) => {
    if (told.has(key)) return;
    told.add(key);
    say(`${line} (${seconds(Date.now() - started)} since npm start)`);
  };
  let lastJobState = "";
  let forward: ChildProcess | undefined;
  for (;;) {
    const dep = JSON.parse(await kubectl("get", "flinkdep", name, "-o", "json").catch(() => "{}"));
    const pods = JSON.parse(
      await kubectl("get", "pods", "-l", `app=${name}`, "-o", "json").catch(() => '{"items":[]}'),
    ).items as Array<{
      metadata: { name: string; labels: Record<string, string> };
      status: { phase: string };
    }>;
    for (const p of pods)
      if (p.status.phase === "Running")
        tell(
          `pod-${p.metadata.name}`,
          `pod ${p.metadata.name} (${p.metadata.labels.component}) Running`,
        );
    const status = dep.status ?? {};
    if (status.error) tell(`error-${status.error}`, `status error: ${status.error}`);
    if (status.jobManagerDeploymentStatus === "READY" && !forward) {
      const port = await freePort();
      forward = spawn(
        binaryPaths().kubectl,
        ["port-forward", "--address", "127.0.0.1", `service/${name}-rest`, `${port}:rest`],
        { env: { ...process.env, KUBECONFIG: join(dir, "kubeconfig") }, stdio: "ignore" },
      );
      record.portForwardPid = forward.pid;
      await saveRecord(record);
      tell("ui", `Flink UI: http://127.0.0.1:${port} (forwarded by kubectl port-forward)`);
    }
    const state = status.jobStatus?.state as string | undefined;
    if (state && state !== lastJobState) {
      lastJobState = state;
      say(
        `job ${status.jobStatus.jobId} ${state} (${seconds(Date.now() - started)} since npm start)`,
      );
    }
    if (state === "RUNNING" && told.has("ui")) return;
    await sleep(1000);
  }
}

async function stopEverything(record: StartRecord | undefined): Promise<void> {
  if (record?.portForwardPid) signal(record.portForwardPid);
  if (record?.modulePid && isAlive(record.modulePid)) {
    // The module's supervisor removes the webhook configurations before it exits.
    signal(record.modulePid);
    for (let i = 0; i < 150 && isAlive(record.modulePid); i++) await sleep(100);
  }
  await stopControlPlane(dir);
  await rm(RECORD, { force: true });
}

function signal(pid: number): void {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    // already gone
  }
}

function readRecord(): StartRecord | undefined {
  if (!existsSync(RECORD)) return undefined;
  try {
    return JSON.parse(readFileSync(RECORD, "utf8"));
  } catch {
    return undefined;
  }
}

async function saveRecord(record: StartRecord): Promise<void> {
  await mkdir(dirname(RECORD), { recursive: true });
  await writeFile(RECORD, JSON.stringify(record));
}

async function stop(): Promise<void> {
  const record = readRecord();
  if (record && !record.detached && isAlive(record.pid) && record.pid !== process.pid) {
    // A foreground start cleans up itself on SIGTERM, as on Ctrl-C.
    signal(record.pid);
    for (let i = 0; i < 600 && isAlive(record.pid); i++) await sleep(100);
  }
  await stopEverything(record);
  say("stopped");
}

const command = process.argv[2];
(command === "stop" ? stop() : start(process.argv.slice(2))).catch(async err => {
  say(err instanceof Error ? err.message : String(err));
  // A start that failed half-way leaves nothing behind.
  if (command !== "stop") await stopEverything(readRecord());
  process.exit(1);
});
