import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { writeTar, type TarEntry } from "./image-tar";

/** A layer tar on disk; diffId is "sha256:<hex>" of its (uncompressed) bytes. */
export interface Layer {
  file: string;
  diffId: string;
}

/** What a container starts with, as the image config's "config" object names it. */
export interface RunConfig {
  Env: string[];
  Entrypoint: string[];
  Cmd?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
}

export interface ImageSpec {
  /** Names as users write them ("flink:1.20", "registry.k8s.io/pause:3.10"). */
  tags: string[];
  /** Bottom first. */
  layers: Layer[];
  run: RunConfig;
  /** Go/OCI architecture name, e.g. amd64. */
  architecture: string;
  /** What each layer is, for `history`. */
  history: string[];
}

/** Fixed, so that equal inputs give an equal config and so an equal image id. */
const CREATED = "2024-01-01T00:00:00Z";
const EPOCH = Date.parse(CREATED) / 1000;

/** A reference as containerd stores it: docker.io/library/flink:1.20 for flink:1.20. */
export function normalizeRef(ref: string): string {
  const first = ref.split("/")[0];
  const hasRegistry =
    ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  if (hasRegistry) return ref;
  return ref.includes("/") ? `docker.io/${ref}` : `docker.io/library/${ref}`;
}

/** The image config (OCI/Docker "container config" JSON); its sha256 is the image id. */
export function imageConfig(spec: ImageSpec): Buffer {
  const config = {
    architecture: spec.architecture,
    os: "linux",
    created: CREATED,
    config: spec.run,
    rootfs: { type: "layers", diff_ids: spec.layers.map(l => l.diffId) },
    history: spec.history.map(comment => ({ created: CREATED, created_by: comment })),
  };
  return Buffer.from(JSON.stringify(config));
}

const hex = (digest: string) => digest.replace(/^sha256:/, "");

/**
 * A docker-archive (what `docker save` writes and `ctr images import` reads): manifest.json, the config
 * as <id>.json and each layer as <diff id>/layer.tar, uncompressed. Returns the image id (config digest).
 */
export async function writeDockerArchive(out: string, spec: ImageSpec): Promise<string> {
  const config = imageConfig(spec);
  const id = createHash("sha256").update(config).digest("hex");
  const manifest = [
    {
      Config: `${id}.json`,
      RepoTags: spec.tags,
      Layers: spec.layers.map(l => `${hex(l.diffId)}/layer.tar`),
    },
  ];
  const root = { uid: 0, gid: 0, mode: 0o644 };
  // manifest.json first, so a reader can stop there (importImages reads the image id from it).
  const entries: TarEntry[] = [
    {
      type: "file",
      path: "manifest.json",
      ...root,
      source: { content: Buffer.from(JSON.stringify(manifest)) },
    },
    { type: "file", path: `${id}.json`, ...root, source: { content: config } },
  ];
  for (const layer of spec.layers) {
    entries.push({ type: "dir", path: hex(layer.diffId), uid: 0, gid: 0, mode: 0o755 });
    const { size } = await stat(layer.file);
    entries.push({
      type: "file",
      path: `${hex(layer.diffId)}/layer.tar`,
      ...root,
      source: { file: layer.file, size },
    });
  }
  await writeTar(out, entries, EPOCH);
  return `sha256:${id}`;
}
