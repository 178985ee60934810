import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { cacheDir } from "../../lib/cache";
import { knownFlinkVersions, resolveFlinkVersion } from "./flink-runtime";
import {
  imageConfig,
  normalizeRef,
  writeDockerArchive,
  type ImageSpec,
  type RunConfig,
} from "./image-archive";
import { ensureBaseLayer, type BaseLayer } from "./image-base";
import { FLINK_HOME, ensureFlinkLayer } from "./image-flink";
import { ensurePauseLayer } from "./image-pause";
import { run, say, seconds, withFileLock } from "./proc";

/** A docker-archive on disk and the references it holds, as containerd lists them (docker.io/library/...). */
export interface ImageArchive {
  file: string;
  refs: string[];
}

/** The CRI sandbox image the kubelet 1.34 asks for by default. */
export const PAUSE_IMAGE = "registry.k8s.io/pause:3.10";

export interface FlinkImage {
  /** "1.20" */
  minor: string;
  /** "1.20.5", the release in the image. */
  version: string;
  /** Names as users write them in spec.image: flink:1.20, apache/flink:1.20.5-java17, ... */
  tags: string[];
}

/**
 * The Flink images: the newest release of each line in flink-versions.json, under the official image's tag
 * forms for Java 17 and Scala 2.12 (Debian bookworm ships no other JDK, so -java11/-java21 do not exist).
 */
export const SUPPORTED_FLINK_IMAGES: FlinkImage[] = (() => {
  const newest = new Map<string, string>();
  for (const v of knownFlinkVersions()) newest.set(resolveFlinkVersion(v).minor, v);
  return [...newest].map(([minor, version]) => {
    const forms = [minor, version].flatMap(v => [
      v,
      `${v}-java17`,
      `${v}-scala_2.12`,
      `${v}-scala_2.12-java17`,
    ]);
    return {
      minor,
      version,
      tags: ["flink", "apache/flink"].flatMap(repo => forms.map(f => `${repo}:${f}`)),
    };
  });
})();

export interface EnsureImagesOptions {
  /** Flink lines to build ("1.20", "2.3"); all of SUPPORTED_FLINK_IMAGES when absent. */
  flink?: string[];
}

const archivesDir = () => cacheDir("images", "archives");

/** Serialises image builds between processes (cluster set-up and a test run may start together). */
export function withImagesLock<T>(fn: () => Promise<T>): Promise<T> {
  return withFileLock(cacheDir("images.lock"), "image build", fn);
}

/** Writes the archive unless one for exactly this config and these tags exists; drops stale ones of the same name. */
export async function ensureArchive(name: string, spec: ImageSpec): Promise<ImageArchive> {
  const key = createHash("sha256")
    .update(imageConfig(spec))
    .update(JSON.stringify(spec.tags))
    .digest("hex")
    .slice(0, 16);
  const dir = archivesDir();
  const file = join(dir, `${name}-${key}.tar`);
  if (!existsSync(file)) {
    await mkdir(dir, { recursive: true });
    await writeDockerArchive(file, spec);
  }
  for (const stale of readdirSync(dir).filter(
    f => f.startsWith(`${name}-`) && f !== `${name}-${key}.tar`,
  ))
    await rm(join(dir, stale), { force: true });
  return { file, refs: spec.tags.map(normalizeRef) };
}

/**
 * Removes cached layers of earlier inputs (a few hundred MB each): other base-* and pause-* directories,
 * and flink-<version>-* ones of the versions just built. Runs under the images lock.
 */
async function pruneLayers(current: string[], versions: string[]): Promise<void> {
  const root = cacheDir("images");
  const keep = new Set(current.map(file => basename(dirname(file))));
  const prefixes = ["base-", "pause-", ...versions.map(v => `flink-${v}-`)];
  for (const entry of readdirSync(root)) {
    if (!keep.has(entry) && prefixes.some(p => entry.startsWith(p)))
      await rm(join(root, entry), { recursive: true, force: true });
  }
}

function flinkRunConfig(base: BaseLayer, version: string): RunConfig {
  return {
    Env: [
      `PATH=${FLINK_HOME}/bin:${base.javaHome}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      `JAVA_HOME=${base.javaHome}`,
      `FLINK_HOME=${FLINK_HOME}`,
      // Java takes its default charset from the locale; C.UTF-8 is built into glibc.
      "LANG=C.UTF-8",
    ],
    Entrypoint: ["/docker-entrypoint.sh"],
    Cmd: ["help"],
    WorkingDir: FLINK_HOME,
    ExposedPorts: { "6123/tcp": {}, "8081/tcp": {} },
    Labels: {
      "org.opencontainers.image.title": "Apache Flink (flink-pepr-operator sandbox build)",
      "org.opencontainers.image.version": version,
    },
  };
}

/**
 * Builds whatever is missing of the sandbox's images (base layer, Flink layers, pause) and returns their
 * docker-archives: one per Flink line (flink:<minor> and the other tags of SUPPORTED_FLINK_IMAGES) and one
 * for PAUSE_IMAGE. Everything is cached in cacheDir("images"); a warm call only hashes inputs.
 */
export async function ensureImages(opts: EnsureImagesOptions = {}): Promise<ImageArchive[]> {
  const wanted =
    opts.flink?.map(spec => {
      const version = resolveFlinkVersion(spec).version;
      const image = SUPPORTED_FLINK_IMAGES.find(i => i.version === version);
      if (!image)
        throw new Error(
          `no image is built for Flink ${spec} (only the newest release of each line)`,
        );
      return image;
    }) ?? SUPPORTED_FLINK_IMAGES;
  return withImagesLock(async () => {
    const started = Date.now();
    const base = await ensureBaseLayer();
    const archives: ImageArchive[] = [];
    const layers = [base.file];
    for (const image of wanted) {
      const layer = await ensureFlinkLayer(image.version);
      layers.push(layer.file);
      archives.push(
        await ensureArchive(`flink-${image.version}`, {
          tags: image.tags,
          layers: [base, layer],
          run: flinkRunConfig(base, image.version),
          architecture: base.architecture,
          history: [
            "Debian bookworm with OpenJDK 17 (mmdebstrap)",
            `Apache Flink ${image.version} from Maven Central with the sandbox's scripts`,
          ],
        }),
      );
    }
    const pause = await ensurePauseLayer();
    layers.push(pause.file);
    archives.push(
      await ensureArchive("pause", {
        tags: [PAUSE_IMAGE],
        layers: [pause],
        run: { Env: ["PATH=/"], Entrypoint: ["/pause"], User: "65535:65535" },
        architecture: base.architecture,
        history: ["the sandbox's pause program (Go, static)"],
      }),
    );
    await pruneLayers(
      layers,
      wanted.map(i => i.version),
    );
    if (Date.now() - started > 10_000) say(`images ready in ${seconds(Date.now() - started)}`);
    return archives;
  });
}

/** What containerd holds: ref -> target (manifest) digest. */
async function listImages(ctr: string, address: string): Promise<Map<string, string>> {
  const out = await run(ctr, ["--address", address, "-n", "k8s.io", "images", "ls"], {
    quiet: true,
  });
  const images = new Map<string, string>();
  for (const line of out.split("\n").slice(1)) {
    const [ref, , digest] = line.trim().split(/\s+/);
    if (ref && digest) images.set(ref, digest);
  }
  return images;
}

/** The config digest (image id) of a manifest in containerd's content store. */
async function configDigest(ctr: string, address: string, manifest: string): Promise<string> {
  const out = await run(ctr, ["--address", address, "-n", "k8s.io", "content", "get", manifest], {
    quiet: true,
  });
  return (JSON.parse(out) as { config: { digest: string } }).config.digest;
}

/** The image id an archive holds: the config its manifest.json names. */
async function archiveImageId(archive: ImageArchive): Promise<string> {
  const out = await run("tar", ["--occurrence=1", "-xOf", archive.file, "manifest.json"], {
    quiet: true,
  });
  const [{ Config }] = JSON.parse(out) as { Config: string }[];
  return `sha256:${Config.replace(/\.json$/, "")}`;
}

/**
 * Imports archives into containerd's CRI namespace (k8s.io) and unpacks them (for opts.snapshotter, else
 * containerd's default, which is also the CRI's unless configured otherwise), skipping an archive whose refs
 * all name the image it holds already, so a warm start costs a listing and one small read per archive.
 */
export async function importImages(
  ctr: string,
  address: string,
  archives: ImageArchive[],
  opts: { snapshotter?: string } = {},
): Promise<void> {
  const present = await listImages(ctr, address);
  for (const archive of archives) {
    const targets = new Set(archive.refs.map(r => present.get(r)));
    if (targets.size === 1 && !targets.has(undefined)) {
      const [target] = targets as Set<string>;
      // A manifest that cannot be read (content removed) is imported again.
      const held = await configDigest(ctr, address, target).catch(() => undefined);
      if (held === (await archiveImageId(archive))) continue;
    }
    const started = Date.now();
    say(`importing ${archive.refs[0]} into containerd (~10-30 s)`);
    const snapshotter = opts.snapshotter ? [`--snapshotter=${opts.snapshotter}`] : [];
    await run(
      ctr,
      ["--address", address, "-n", "k8s.io", "images", "import", ...snapshotter, archive.file],
      { quiet: true, timeoutMs: 10 * 60_000 },
    );
    say(`imported ${archive.refs[0]} in ${seconds(Date.now() - started)}`);
  }
}
