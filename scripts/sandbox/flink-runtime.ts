import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readdirSync, statSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cacheDir } from "../../lib/cache";
import { log } from "../../lib/log";
import { JAVA_17_OPTIONS_LIST } from "../../lib/settings";
import versionTable from "./flink-versions.json";
import {
  downloadAll,
  downloadVerified,
  parseCoordinates,
  resolveClosure,
  type Artifact,
} from "./maven";

export interface FlinkRelease {
  version: string;
  /** "1.20", "2.3": the line the configuration catalog is keyed by. */
  minor: string;
  major: number;
  configFile: string;
  runtime: string[];
  catalog: string[];
  examples: { artifact: string; stateMachineClass: string };
  mainClasses: {
    jobManager: string;
    applicationJobManager: string;
    taskManager: string;
    resourceParams: string;
  };
  keys: { checkpointsDir: string; savepointsDir: string };
}

export interface FlinkInstall {
  release: FlinkRelease;
  home: string;
  /** Runtime jars, the classpath of every Flink process started here. */
  classpath: string[];
  stateMachineJar: string;
}

const MAVEN_REPO = process.env.MAVEN_REPOSITORY_URL ?? versionTable.mavenRepository;

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function knownFlinkVersions(): string[] {
  return Object.keys(versionTable.versions).sort(compareVersions);
}

/** "1.20" -> newest 1.20.x in the table, "2" -> newest 2.x, "2.3.0" -> exactly that. */
export function resolveFlinkVersion(spec: string): FlinkRelease {
  const wanted = spec.replace(/^v/, "").replace(/_/g, ".");
  const matches = knownFlinkVersions().filter(v => v === wanted || v.startsWith(`${wanted}.`));
  const version = matches.at(-1);
  if (!version) {
    throw new Error(
      `Flink ${spec} is not in scripts/sandbox/flink-versions.json (known: ${knownFlinkVersions().join(", ")})`,
    );
  }
  const entry = (
    versionTable.versions as Record<string, Omit<FlinkRelease, "version" | "minor" | "major">>
  )[version];
  const [major, minor] = version.split(".");
  return { ...entry, version, minor: `${major}.${minor}`, major: Number(major) };
}

export function flinkHome(release: FlinkRelease): string {
  return cacheDir("flink", release.version);
}

function jarsIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter(f => f.endsWith(".jar"))
    .sort()
    .map(f => join(dir, f));
}

/**
 * Downloads into a fresh sibling directory and renames it into place, so an interrupted fetch never
 * leaves a half-filled cache. A concurrent fetch that finished first wins; ours is dropped.
 */
export async function fillOnce(
  target: string,
  fill: (dir: string) => Promise<void>,
): Promise<void> {
  if (existsSync(target)) return;
  const parent = resolve(target, "..");
  await mkdir(parent, { recursive: true });
  // Leftovers of fetches that were killed; an hour is far longer than any fetch takes.
  for (const entry of readdirSync(parent).filter(e => e.startsWith(".partial-"))) {
    const path = join(parent, entry);
    if (Date.now() - statSync(path).mtimeMs > 3_600_000)
      await rm(path, { recursive: true, force: true });
  }
  const temp = await mkdtemp(join(parent, ".partial-"));
  try {
    await fill(temp);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    if (!existsSync(target)) throw err;
  }
}

/** The runtime of a release, fetched from Maven Central the first time and cached. */
export async function ensureFlinkRuntime(spec: string): Promise<FlinkInstall> {
  const release = resolveFlinkVersion(spec);
  const home = flinkHome(release);
  if (!existsSync(home)) {
    const started = Date.now();
    log.info("fetching Flink from Maven Central", { version: release.version, into: home });
    await fillOnce(home, async dir => {
      const closure = await resolveClosure(release.runtime, release.version);
      await mkdir(join(dir, "lib"));
      await downloadAll(MAVEN_REPO, closure, join(dir, "lib"));
      await mkdir(join(dir, "examples"));
      await downloadVerified(
        MAVEN_REPO,
        parseCoordinates(release.examples.artifact),
        join(dir, "examples"),
      );
      const manifest = {
        version: release.version,
        repository: MAVEN_REPO,
        fetchMs: Date.now() - started,
        lib: closure,
      };
      await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
    });
    log.info("fetched Flink", {
      version: release.version,
      seconds: Math.round((Date.now() - started) / 1000),
    });
  }
  const examples = jarsIn(join(home, "examples"));
  if (examples.length !== 1)
    throw new Error(`expected one examples jar in ${home}/examples, found ${examples.length}`);
  return { release, home, classpath: jarsIn(join(home, "lib")), stateMachineJar: examples[0] };
}

/**
 * Jars of the modules beyond the runtime whose options belong in the configuration catalog
 * (Kubernetes, table, state backends). Returns the runtime classpath plus those.
 */
export function ensureCatalogClasspath(install: FlinkInstall): Promise<string[]> {
  return ensureClasspathWith(install, install.release.catalog, join(install.home, "catalog"));
}

/**
 * The runtime classpath plus the closure of more Maven roots, kept in dir: resolved together with the runtime's
 * roots so Maven keeps the runtime's versions of shared modules; only what the runtime lacks is downloaded, once.
 */
export async function ensureClasspathWith(
  install: FlinkInstall,
  roots: string[],
  dir: string,
): Promise<string[]> {
  const key = (a: { groupId: string; artifactId: string; classifier?: string }) =>
    `${a.groupId}:${a.artifactId}:${a.classifier ?? ""}`;
  await fillOnce(dir, async temp => {
    const manifest = JSON.parse(await readFile(join(install.home, "manifest.json"), "utf8")) as {
      lib: Artifact[];
    };
    const have = new Set(manifest.lib.map(key));
    const closure = await resolveClosure(
      [...install.release.runtime, ...roots],
      install.release.version,
    );
    await downloadAll(
      MAVEN_REPO,
      closure.filter(a => !have.has(key(a))),
      temp,
    );
  });
  return [...install.classpath, ...jarsIn(dir)];
}

/** What Java 17 must open to Flink: the operator's own default list, so the sandbox runs as deployed clusters do. */
export const JAVA17_OPTS = JAVA_17_OPTIONS_LIST;

/**
 * The JVM options Flink's start scripts read from the configuration (config.sh): the defaults an image or
 * operator ships, then the user's, for all processes and then for the role.
 */
export function javaOptionsFromConfig(config: Record<string, string>, role: FlinkRole): string[] {
  const keys = [
    "env.java.default-opts.all",
    config["env.java.opts.all"] !== undefined ? "env.java.opts.all" : "env.java.opts",
    `env.java.default-opts.${role}`,
    `env.java.opts.${role}`,
  ];
  return keys.flatMap(k => (config[k] ?? "").replace(/^"|"$/g, "").split(/\s+/).filter(Boolean));
}

/** A Flink configuration: a flat key/value map, or the path of an existing config file. */
export type FlinkConfigSource = Record<string, string> | { file: string };

/** Flat `key: value` lines; config.yaml is real YAML, so values are quoted there. */
export function renderConfig(release: FlinkRelease, config: Record<string, string>): string {
  const yaml = release.configFile === "config.yaml";
  return (
    Object.entries(config)
      .map(([k, v]) => `${k}: ${yaml ? JSON.stringify(v) : v}`)
      .join("\n") + "\n"
  );
}

const LOG4J = `rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = \${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.pekko.name = org.apache.pekko
logger.pekko.level = WARN
logger.akka.name = akka
logger.akka.level = WARN
logger.netty.name = org.apache.flink.shaded.netty4.io.netty
logger.netty.level = WARN
`;

export type FlinkRole = "jobmanager" | "taskmanager";

/** A started Flink JVM. `marker` is on its command line so a recycled pid is never mistaken for it. */
export interface FlinkProcess {
  role: FlinkRole;
  id: string;
  pid: number;
  marker: string;
  logFile: string;
  outFile: string;
  confDir: string;
}

export interface StartOptions {
  install: FlinkInstall;
  config: FlinkConfigSource;
  /** Where conf, logs and stdout of this process go. */
  workDir: string;
  /** Distinguishes processes sharing a workDir, e.g. "tm-1". */
  id?: string;
  /** Extra JVM options (-D..., agents). */
  jvmOptions?: string[];
  /** Extra arguments for the main class, after --configDir. */
  args?: string[];
  /** Overrides the main class, e.g. the application-mode entrypoint. */
  mainClass?: string;
  /**
   * Where the JVM's module-access options come from: "sandbox" (default) adds JAVA17_OPTS; "config" takes
   * only what the configuration names (env.java.default-opts.all, env.java.opts.all and the role's own
   * keys), as Flink's start scripts do in an image.
   */
  javaOptions?: "sandbox" | "config";
}

async function writeConf(opts: StartOptions, id: string): Promise<string> {
  const confDir = join(opts.workDir, `conf-${id}`);
  await mkdir(confDir, { recursive: true });
  const target = join(confDir, opts.install.release.configFile);
  if ("file" in opts.config && typeof opts.config.file === "string")
    await copyFile(opts.config.file, target);
  else
    await writeFile(
      target,
      renderConfig(opts.install.release, opts.config as Record<string, string>),
    );
  await writeFile(join(confDir, "log4j.properties"), LOG4J);
  return confDir;
}

/**
 * JVM memory flags and the derived memory options for a JobManager or TaskManager, computed by Flink's
 * own BashJavaUtils from the configuration (what bin/config.sh does before starting a process).
 */
export async function resourceParams(
  install: FlinkInstall,
  confDir: string,
  role: FlinkRole,
): Promise<{ jvm: string[]; dynamic: string[] }> {
  const command = role === "jobmanager" ? "GET_JM_RESOURCE_PARAMS" : "GET_TM_RESOURCE_PARAMS";
  const args = [
    "-Xmx128m",
    "-cp",
    install.classpath.join(":"),
    install.release.mainClasses.resourceParams,
    command,
    "--configDir",
    confDir,
  ];
  const stdout = await new Promise<string>((resolveOut, reject) => {
    execFile("java", args, { timeout: 120_000, maxBuffer: 8 << 20 }, (err, out, errOut) => {
      if (err) reject(new Error(`${command} failed: ${err.message}\n${out}\n${errOut}`));
      else resolveOut(out);
    });
  });
  const results = stdout
    .split("\n")
    .filter(l => l.startsWith("BASH_JAVA_UTILS_EXEC_RESULT:"))
    .map(l => l.slice("BASH_JAVA_UTILS_EXEC_RESULT:".length).trim());
  if (results.length < 2) throw new Error(`${command} gave no result:\n${stdout}`);
  const [jvm, dynamic] = results.slice(-2);
  return { jvm: jvm.split(/\s+/).filter(Boolean), dynamic: dynamic.split(/\s+/).filter(Boolean) };
}

async function startFlinkProcess(role: FlinkRole, opts: StartOptions): Promise<FlinkProcess> {
  const id = opts.id ?? role;
  await mkdir(opts.workDir, { recursive: true });
  const confDir = await writeConf(opts, id);
  const { jvm, dynamic } = await resourceParams(opts.install, confDir, role);
  const marker = `${id}-${randomBytes(6).toString("hex")}`;
  const logFile = join(opts.workDir, `${id}.log`);
  const outFile = join(opts.workDir, `${id}.out`);
  const main =
    opts.mainClass ??
    (role === "jobmanager"
      ? opts.install.release.mainClasses.jobManager
      : opts.install.release.mainClasses.taskManager);
  const config = "file" in opts.config ? undefined : (opts.config as Record<string, string>);
  if (opts.javaOptions === "config" && !config)
    throw new Error('javaOptions "config" needs the configuration as a map, not a file');
  const javaOptions =
    opts.javaOptions === "config" ? javaOptionsFromConfig(config!, role) : JAVA17_OPTS;
  const args = [
    ...jvm,
    ...javaOptions,
    `-Dflink.sandbox.marker=${marker}`,
    `-Dlog.file=${logFile}`,
    `-Dlog4j.configurationFile=file:${join(confDir, "log4j.properties")}`,
    ...(opts.jvmOptions ?? []),
    "-cp",
    opts.install.classpath.join(":"),
    main,
    "--configDir",
    confDir,
    ...dynamic,
    ...(opts.args ?? []),
  ];
  // An empty plugins directory: Flink warns without one and loads nothing from it.
  await mkdir(join(opts.workDir, "plugins"), { recursive: true });
  const fd = openSync(outFile, "a");
  try {
    // Detached: the JVM outlives the command that started it; flink:down or stopFlinkProcess ends it.
    const child = spawn("java", args, {
      detached: true,
      stdio: ["ignore", fd, fd],
      cwd: opts.workDir,
      env: { ...process.env, FLINK_PLUGINS_DIR: join(opts.workDir, "plugins") },
    });
    await new Promise<void>((ok, fail) => {
      child.once("spawn", ok);
      child.once("error", fail);
    });
    child.unref();
    log.info("started Flink process", { role, id, pid: child.pid, log: logFile });
    return { role, id, pid: child.pid!, marker, logFile, outFile, confDir };
  } finally {
    closeSync(fd);
  }
}

/** Starts a JobManager (a session cluster entrypoint unless mainClass says otherwise) from a given configuration. */
export function startJobManager(opts: StartOptions): Promise<FlinkProcess> {
  return startFlinkProcess("jobmanager", opts);
}

/** Starts a TaskManager from a given configuration; it finds its JobManager through jobmanager.rpc.address/port. */
export function startTaskManager(opts: StartOptions): Promise<FlinkProcess> {
  return startFlinkProcess("taskmanager", opts);
}

/** True while the pid is alive and still the JVM we started. */
export function isRunning(p: Pick<FlinkProcess, "pid" | "marker">): boolean {
  try {
    return readFileSync(`/proc/${p.pid}/cmdline`, "utf8").includes(
      `-Dflink.sandbox.marker=${p.marker}`,
    );
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after graceMs. Only ever signals the pid if it is still our JVM. */
export async function stopFlinkProcess(
  p: Pick<FlinkProcess, "pid" | "marker">,
  graceMs = 15_000,
): Promise<void> {
  if (!isRunning(p)) return;
  process.kill(p.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(p)) return;
    await sleep(200);
  }
  if (isRunning(p)) process.kill(p.pid, "SIGKILL");
  while (isRunning(p)) await sleep(100);
}

/** Kills at once, as a crash would. */
export async function killFlinkProcess(p: Pick<FlinkProcess, "pid" | "marker">): Promise<void> {
  if (!isRunning(p)) return;
  process.kill(p.pid, "SIGKILL");
  while (isRunning(p)) await sleep(50);
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** Waits until /overview shows at least `slots` slots, failing early if a process died. */
export async function waitForSlots(
  restUrl: string,
  slots: number,
  processes: FlinkProcess[],
  timeoutMs = 180_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    const dead = processes.find(p => !isRunning(p));
    if (dead) {
      throw new Error(
        `Flink ${dead.id} (pid ${dead.pid}) exited during startup:\n${tail(dead.outFile)}\n${tail(dead.logFile)}`,
      );
    }
    try {
      const res = await fetch(`${restUrl}/overview`, { signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { "slots-total"?: number; taskmanagers?: number };
      last = JSON.stringify(body);
      if ((body["slots-total"] ?? 0) >= slots) return;
    } catch (err) {
      last = String(err);
    }
    await sleep(500);
  }
  throw new Error(
    `Flink at ${restUrl} did not show ${slots} slots within ${timeoutMs / 1000}s (last: ${last})`,
  );
}

/** What flink:up leaves behind for flink:down (and for tests), outside the repository. */
export interface SandboxState {
  name: string;
  version: string;
  restUrl: string;
  workDir: string;
  checkpointsDir: string;
  savepointsDir: string;
  config: Record<string, string>;
  processes: FlinkProcess[];
  startedAt: string;
}

export function sandboxDir(name: string): string {
  return cacheDir("run", "flink", name);
}

export function readSandboxState(name = "default"): SandboxState | undefined {
  const file = join(sandboxDir(name), "state.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as SandboxState) : undefined;
}

export interface UpOptions {
  flink: string;
  name?: string;
  taskManagers?: number;
  slotsPerTaskManager?: number;
  /** Added to (and overriding) the sandbox's configuration. */
  config?: Record<string, string>;
  readyTimeoutMs?: number;
}

/**
 * A session cluster sized for a shared 2-core machine: everything on 127.0.0.1, every port free-picked.
 * Memory: JM 1 GiB, TM 1.25 GiB process size with little managed memory (jobs here use heap state).
 */
export async function sandboxConfig(
  install: FlinkInstall,
  workDir: string,
  slots: number,
): Promise<Record<string, string>> {
  const [rest, rpc, blob] = [await freePort(), await freePort(), await freePort()];
  const checkpoints = await mkdtemp(join(tmpdir(), "flink-checkpoints-"));
  const savepoints = await mkdtemp(join(tmpdir(), "flink-savepoints-"));
  return {
    "jobmanager.rpc.address": "127.0.0.1",
    "jobmanager.rpc.port": String(rpc),
    "jobmanager.bind-host": "127.0.0.1",
    "rest.address": "127.0.0.1",
    "rest.bind-address": "127.0.0.1",
    "rest.port": String(rest),
    "blob.server.port": String(blob),
    "taskmanager.host": "127.0.0.1",
    "taskmanager.bind-host": "127.0.0.1",
    "taskmanager.numberOfTaskSlots": String(slots),
    "jobmanager.memory.process.size": "1024m",
    "taskmanager.memory.process.size": "1280m",
    "taskmanager.memory.managed.size": "128m",
    "parallelism.default": "1",
    "io.tmp.dirs": join(workDir, "tmp"),
    "web.upload.dir": join(workDir, "uploads"),
    [install.release.keys.checkpointsDir]: `file://${checkpoints}`,
    [install.release.keys.savepointsDir]: `file://${savepoints}`,
  };
}

/** Fetches (first time) and starts a session cluster: one JobManager and its TaskManagers. */
export async function flinkUp(opts: UpOptions): Promise<SandboxState> {
  const name = opts.name ?? "default";
  const previous = readSandboxState(name);
  if (previous?.processes.some(isRunning)) {
    throw new Error(
      `Flink sandbox "${name}" is already running at ${previous.restUrl}; stop it first (npm run flink:down)`,
    );
  }
  const install = await ensureFlinkRuntime(opts.flink);
  const workDir = sandboxDir(name);
  await rm(workDir, { recursive: true, force: true });
  await mkdir(join(workDir, "tmp"), { recursive: true });
  await mkdir(join(workDir, "uploads"), { recursive: true });
  const slots = opts.slotsPerTaskManager ?? 2;
  const config = { ...(await sandboxConfig(install, workDir, slots)), ...opts.config };
  const restUrl = `http://127.0.0.1:${config["rest.port"]}`;
  const state: SandboxState = {
    name,
    version: install.release.version,
    restUrl,
    workDir,
    checkpointsDir: config[install.release.keys.checkpointsDir].replace(/^file:\/\//, ""),
    savepointsDir: config[install.release.keys.savepointsDir].replace(/^file:\/\//, ""),
    config,
    processes: [],
    startedAt: new Date().toISOString(),
  };
  const save = () => writeFile(join(workDir, "state.json"), JSON.stringify(state, null, 2));
  try {
    state.processes.push(await startJobManager({ install, config, workDir, id: "jobmanager" }));
    await save();
    for (let i = 1; i <= (opts.taskManagers ?? 1); i++) {
      const tmConfig: Record<string, string> = {
        ...config,
        "taskmanager.rpc.port": String(await freePort()),
        "taskmanager.data.port": String(await freePort()),
        "taskmanager.resource-id": `tm-${i}`,
      };
      state.processes.push(
        await startTaskManager({ install, config: tmConfig, workDir, id: `taskmanager-${i}` }),
      );
      await save();
    }
    await waitForSlots(
      restUrl,
      slots * (opts.taskManagers ?? 1),
      state.processes,
      opts.readyTimeoutMs,
    );
  } catch (err) {
    await flinkDown(name, { keepLogs: true });
    throw err;
  }
  return state;
}

/** Stops what flinkUp started under that name and removes its checkpoint and savepoint directories. */
export async function flinkDown(
  name = "default",
  opts: { keepLogs?: boolean } = {},
): Promise<SandboxState | undefined> {
  const state = readSandboxState(name);
  if (!state) return undefined;
  // TaskManagers first, so the JobManager does not log them as lost.
  for (const p of [...state.processes].reverse()) await stopFlinkProcess(p);
  await rm(state.checkpointsDir, { recursive: true, force: true });
  await rm(state.savepointsDir, { recursive: true, force: true });
  if (!opts.keepLogs) await rm(join(state.workDir, "state.json"), { force: true });
  return state;
}

export async function readLogTail(p: FlinkProcess, lines = 40): Promise<string> {
  return (await readFile(p.logFile, "utf8").catch(() => "")).split("\n").slice(-lines).join("\n");
}
