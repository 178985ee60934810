import { createHash } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir } from "../../lib/cache";
import {
  JAVA17_OPTS,
  ensureClasspathWith,
  ensureFlinkRuntime,
  fillOnce,
  type FlinkInstall,
  type FlinkRelease,
} from "./flink-runtime";
import versionTable from "./flink-versions.json";
import type { Layer } from "./image-archive";
import { writeTar, type TarEntry } from "./image-tar";
import { run, say, seconds } from "./proc";

const HERE = dirname(fileURLToPath(import.meta.url));
const IMAGE_DIR = join(HERE, "image");

export const FLINK_HOME = "/opt/flink";
/** uid and gid of user flink, as in the official image. */
export const FLINK_UID = 9999;
/** Times of the files in the layer: fixed, so unchanged inputs give the same layer. */
const MTIME = 1704067200;

/** The image group of flink-versions.json: what the image adds to the runtime in lib/. */
function imageRoots(release: FlinkRelease): string[] {
  const entry = (versionTable.versions as Record<string, { image?: string[] }>)[release.version];
  return entry?.image ?? [];
}

/**
 * lib/ of the image: the runtime plus the image group (flink-kubernetes), resolved together so Maven keeps
 * the runtime's versions of shared modules; only the jars the runtime lacks are downloaded (once).
 */
async function imageClasspath(install: FlinkInstall): Promise<string[]> {
  const roots = imageRoots(install.release);
  // Named by the roots, so a changed image group is resolved again.
  const dir = join(
    install.home,
    `image-${createHash("sha256").update(roots.join(",")).digest("hex").slice(0, 8)}`,
  );
  return ensureClasspathWith(install, roots, dir);
}

/** conf/config.yaml of a distribution, with the bind addresses the official image sets for containers. */
export function defaultConfig(): string {
  const entries: [string, string][] = [
    // Java 17 needs these for Flink's reflection-based serialization; user options go to env.java.opts.all.
    ["env.java.default-opts.all", JAVA17_OPTS.join(" ")],
    ["jobmanager.rpc.address", "localhost"],
    ["jobmanager.rpc.port", "6123"],
    ["jobmanager.bind-host", "0.0.0.0"],
    ["jobmanager.memory.process.size", "1600m"],
    ["jobmanager.execution.failover-strategy", "region"],
    ["taskmanager.bind-host", "0.0.0.0"],
    ["taskmanager.numberOfTaskSlots", "1"],
    ["taskmanager.memory.process.size", "1728m"],
    ["parallelism.default", "1"],
    ["rest.address", "0.0.0.0"],
    ["rest.bind-address", "0.0.0.0"],
  ];
  return (
    "# Flink's configuration (standard YAML, flat keys). The entrypoint sets jobmanager.rpc.address to the\n" +
    "# container's host name while this directory is writable; FLINK_PROPERTIES adds to it.\n" +
    entries.map(([k, v]) => `${k}: ${v}`).join("\n") +
    "\n"
  );
}

/**
 * The examples jar with a Main-Class, as a distribution's examples/streaming/StateMachineExample.jar has,
 * so a job naming only the jar (the reference operator's basic example) runs StateMachineExample.
 */
async function stateMachineJar(install: FlinkInstall, out: string): Promise<void> {
  const work = await mkdtemp(join(dirname(out), ".jar-"));
  try {
    await copyFile(install.stateMachineJar, out);
    const manifest = (await run("unzip", ["-p", out, "META-INF/MANIFEST.MF"], { quiet: true }))
      .split(/\r?\n/)
      .filter(l => l.trim() && !/^Main-Class:/i.test(l));
    manifest.push(`Main-Class: ${install.release.examples.stateMachineClass}`);
    await mkdir(join(work, "META-INF"));
    const file = join(work, "META-INF", "MANIFEST.MF");
    await writeFile(file, manifest.join("\r\n") + "\r\n\r\n");
    await utimes(file, MTIME, MTIME);
    // -X: no extra attributes (uid, times) beyond the DOS time, which TZ=UTC pins.
    await run("zip", ["-q", "-X", out, "META-INF/MANIFEST.MF"], {
      cwd: work,
      env: { ...process.env, TZ: "UTC" },
      quiet: true,
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function filesUnder(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .flatMap(e =>
      e.isDirectory() ? filesUnder(dir, join(prefix, e.name)) : [join(prefix, e.name)],
    )
    .sort();
}

export interface FlinkLayer extends Layer {
  release: FlinkRelease;
}

/**
 * The Flink layer of a release: /opt/flink laid out as the official image has it (bin, conf, lib, opt,
 * plugins, log, usrlib, examples), owned by flink like there, plus /docker-entrypoint.sh. Cached under a
 * hash of its inputs: the version's table entry, the jars, the scripts and config, and this module.
 */
export async function ensureFlinkLayer(spec: string): Promise<FlinkLayer> {
  const install = await ensureFlinkRuntime(spec);
  const { release } = install;
  const lib = await imageClasspath(install);
  const scripts = filesUnder(join(IMAGE_DIR, "bin"));
  const confFiles = filesUnder(join(IMAGE_DIR, "conf"));
  const config = defaultConfig();
  const inputs = createHash("sha256");
  inputs.update(
    JSON.stringify((versionTable.versions as Record<string, unknown>)[release.version]),
  );
  inputs.update(await readFile(fileURLToPath(import.meta.url)));
  inputs.update(await readFile(join(IMAGE_DIR, "docker-entrypoint.sh")));
  for (const f of scripts) inputs.update(f).update(await readFile(join(IMAGE_DIR, "bin", f)));
  for (const f of confFiles) inputs.update(f).update(await readFile(join(IMAGE_DIR, "conf", f)));
  inputs.update(config);
  for (const jar of [...lib, install.stateMachineJar])
    inputs.update(`${basename(jar)}:${statSync(jar).size}`);
  const key = inputs.digest("hex").slice(0, 16);
  const dir = cacheDir("images", `flink-${release.version}-${key}`);

  await fillOnce(dir, async temp => {
    const started = Date.now();
    say(`assembling the Flink ${release.version} image layer (first use only; ~20 s)`);
    const examples = join(temp, "StateMachineExample.jar");
    await stateMachineJar(install, examples);
    const flink = { uid: FLINK_UID, gid: FLINK_UID };
    const home = FLINK_HOME.slice(1);
    const dirEntry = (path: string): TarEntry => ({ type: "dir", path, mode: 0o755, ...flink });
    const fileEntry = (path: string, file: string, mode = 0o644): TarEntry => ({
      type: "file",
      path,
      mode,
      ...flink,
      source: { file, size: statSync(file).size },
    });
    const text = (path: string, content: string): TarEntry => ({
      type: "file",
      path,
      mode: 0o644,
      ...flink,
      source: { content: Buffer.from(content) },
    });
    const entryPoint = join(IMAGE_DIR, "docker-entrypoint.sh");
    const entries: TarEntry[] = [
      {
        type: "file",
        path: "docker-entrypoint.sh",
        mode: 0o755,
        uid: 0,
        gid: 0,
        source: { file: entryPoint, size: statSync(entryPoint).size },
      },
      { type: "dir", path: "opt", mode: 0o755, uid: 0, gid: 0 },
      dirEntry(home),
      ...[
        "bin",
        "conf",
        "examples",
        "examples/streaming",
        "lib",
        "log",
        "opt",
        "plugins",
        "usrlib",
      ].map(d => dirEntry(`${home}/${d}`)),
      ...scripts.map(f => fileEntry(`${home}/bin/${f}`, join(IMAGE_DIR, "bin", f), 0o755)),
      text(`${home}/conf/config.yaml`, config),
      ...confFiles.map(f => fileEntry(`${home}/conf/${f}`, join(IMAGE_DIR, "conf", f))),
      fileEntry(`${home}/examples/streaming/StateMachineExample.jar`, examples),
      ...lib.map(jar => fileEntry(`${home}/lib/${basename(jar)}`, jar)),
    ];
    const diffId = await writeTar(join(temp, "layer.tar"), entries, MTIME);
    await rm(examples);
    await writeFile(join(temp, "layer.json"), JSON.stringify({ diffId: `sha256:${diffId}` }));
    say(`assembled the Flink ${release.version} layer in ${seconds(Date.now() - started)}`);
  });
  const { diffId } = JSON.parse(await readFile(join(dir, "layer.json"), "utf8")) as {
    diffId: string;
  };
  return { file: join(dir, "layer.tar"), diffId, release };
}
