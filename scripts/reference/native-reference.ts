import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir } from "../../lib/cache";
import { ensureCatalogClasspath, ensureFlinkRuntime, fillOnce } from "../sandbox/flink-runtime";

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), "NativeReference.java");

/** Keys this wrapper adds to hand the client its inputs as files; they are not part of the cluster. */
export const WRAPPER_KEYS = [
  "$internal.deployment.config-dir",
  "kubernetes.pod-template-file.jobmanager",
  "kubernetes.pod-template-file.taskmanager",
];

/** One cluster for Flink's native client to build, and conf directories for Flink's loader to read. */
export interface ReferenceRequest {
  /** The configuration the client deploys with; leave it out to only parse. */
  configuration?: Record<string, string>;
  /** Files of the client's conf directory; Flink ships log4j-console.properties and logback-console.xml. */
  confFiles?: Record<string, string>;
  /** Pods the client reads from kubernetes.pod-template-file.jobmanager / .taskmanager. */
  podTemplates?: { jobmanager?: object; taskmanager?: object };
  /** Conf directories (file name to text) to read with Flink's own configuration loader. */
  parse?: Array<Record<string, string>>;
}

/** A configuration as Flink reads it: each value as Flink prints it and as Flink converts it to a list. */
export type FlinkReading = Record<string, { value: string; list: string[] | null }>;

export interface ReferenceAnswer {
  /** The JobManager Deployment Flink's KubernetesJobManagerFactory built. */
  deployment?: V1Deployment;
  /** What it creates alongside: Services and ConfigMaps. */
  resources?: KubernetesObject[];
  /** The configuration after the cluster descriptor set its own keys. */
  configuration?: Record<string, string>;
  /** The config file Flink put in its flink-config ConfigMap, as Flink's own loader reads it back. */
  configMapConfiguration?: FlinkReading;
  /** Each of request.parse as Flink reads it, values as Flink prints them. */
  parsed: FlinkReading[];
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 << 20, timeout: 5 * 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed (exit ${err.code}): ${stderr.slice(-4000)}`));
      else resolve(stdout);
    });
  });
}

/** Compiled once per Flink release and source text, into the cache. */
async function compiled(version: string, classpath: string[]): Promise<string> {
  const hash = createHash("sha256").update(readFileSync(SOURCE)).digest("hex").slice(0, 12);
  const parent = cacheDir("reference", version);
  const dir = join(parent, hash);
  if (!existsSync(dir)) {
    await fillOnce(dir, temp =>
      run("javac", ["-nowarn", "-d", temp, "-cp", classpath.join(":"), SOURCE]).then(() => {}),
    );
    // Builds of earlier source texts are never used again.
    for (const old of readdirSync(parent).filter(e => e !== hash && !e.startsWith(".partial-")))
      await rm(join(parent, old), { recursive: true, force: true });
  }
  return dir;
}

/**
 * Runs Flink's own native Kubernetes client code (from the release's real jars, fetched from Maven Central
 * on first use) on each request, in one JVM. Only builds specifications in memory; nothing connects to a
 * cluster.
 */
export async function nativeReference(
  flink: string,
  requests: ReferenceRequest[],
): Promise<ReferenceAnswer[]> {
  const install = await ensureFlinkRuntime(flink);
  const classpath = await ensureCatalogClasspath(install);
  const classes = await compiled(install.release.version, classpath);
  const work = await mkdtemp(join(tmpdir(), "native-reference-"));
  try {
    const writeDir = async (dir: string, files: Record<string, string>) => {
      await mkdir(dir, { recursive: true });
      for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
      return dir;
    };
    const wire = await Promise.all(
      requests.map(async (request, i) => {
        const base = join(work, String(i));
        const parseConfigDirs = await Promise.all(
          (request.parse ?? []).map((files, j) => writeDir(join(base, `parse-${j}`), files)),
        );
        if (!request.configuration) return { parseConfigDirs };
        const configuration = { ...request.configuration };
        // The client's conf directory: where it finds the log configuration it ships.
        configuration[WRAPPER_KEYS[0]] = await writeDir(
          join(base, "conf"),
          request.confFiles ?? {},
        );
        for (const [role, pod] of Object.entries(request.podTemplates ?? {})) {
          if (!pod) continue;
          const file = join(base, `${role}-pod-template.json`);
          await writeFile(file, JSON.stringify(pod));
          configuration[`kubernetes.pod-template-file.${role}`] = file;
        }
        return { configuration, parseConfigDirs };
      }),
    );
    const input = join(work, "requests.json");
    await writeFile(input, JSON.stringify(wire));
    const out = await run("java", [
      "-Xmx256m",
      "-cp",
      [classes, ...classpath].join(":"),
      "NativeReference",
      input,
    ]);
    const answers = JSON.parse(out) as Array<
      Omit<ReferenceAnswer, "parsed"> & { parsed: Record<string, FlinkReading> }
    >;
    // The Java side keys parsed configurations by directory; hand them back in request order.
    return answers.map((a, i) => ({
      ...a,
      parsed: wire[i].parseConfigDirs.map(dir => a.parsed[dir]),
    }));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
