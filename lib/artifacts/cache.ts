import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rename, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { ArtifactFetchError, fetchArtifact, type FetchOptions } from "./fetch";

/** A jar ready to upload: a file of the cache, or a local jar itself. */
export interface CachedJar {
  path: string;
  bytes: number;
  /** sha256 of a downloaded jar; local jars are read where they are and have none. */
  digest?: string;
  /** Whether this call downloaded it (false: served from the cache or a local file). */
  downloaded: boolean;
}

export interface JarCacheOptions {
  /** Parent of the per-process cache directories; default <tmpdir>/flink-pepr-operator-jars. */
  dir?: string;
  /** How long a download serves later requests for the same URI; default 10 minutes. */
  ttlMs?: number;
  now?: () => number;
}

interface Entry {
  jar: CachedJar;
  at: number;
}

const sha256 = async (path: string) => {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Session job jars by URI and content: N jobs asking for one URI at once share one download, later requests
 * within the TTL reuse it, and jars with equal content are one file (named by its sha256). The key includes the
 * headers sent, so a jar fetched with one resource's credentials never serves a resource with others. Files live
 * in a directory of this process, emptied at first use (and those of processes that are gone are removed).
 */
export class JarCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<CachedJar>>();
  private readonly root: string;
  private readonly dir: string;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private prepared?: Promise<void>;

  constructor(opts: JarCacheOptions = {}) {
    this.root = opts.dir ?? join(tmpdir(), "flink-pepr-operator-jars");
    this.dir = join(this.root, String(process.pid));
    this.ttlMs = opts.ttlMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** The jar at `uri`, fetched with `opts` (lib/artifacts/fetch.ts) unless a fresh copy is cached. */
  async get(uri: string, opts: Omit<FetchOptions, "destination">): Promise<CachedJar> {
    const scheme = uri.slice(0, uri.indexOf(":"));
    if (scheme === "file" || scheme === "local") {
      const local = await fetchArtifact(uri, { ...opts, destination: "" });
      return { ...local, downloaded: false };
    }
    const key = createHash("sha256")
      .update(JSON.stringify([uri, opts.headers ?? []]))
      .digest("hex");
    const cached = this.entries.get(key);
    if (cached && this.now() - cached.at < this.ttlMs) return { ...cached.jar, downloaded: false };
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.download(key, uri, opts).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
      return pending;
    }
    return { ...(await pending), downloaded: false };
  }

  private async download(
    key: string,
    uri: string,
    opts: Omit<FetchOptions, "destination">,
  ): Promise<CachedJar> {
    await (this.prepared ??= this.prepare());
    const destination = join(this.dir, `download-${randomBytes(6).toString("hex")}`);
    const fetched = await fetchArtifact(uri, { ...opts, destination });
    let digest: string;
    try {
      digest = await sha256(fetched.path);
      await rename(fetched.path, join(this.dir, `${digest}.jar`));
    } catch (e) {
      await unlink(fetched.path).catch(() => undefined);
      throw new ArtifactFetchError(`jar ${uri}: cannot keep the download: ${String(e)}`);
    }
    const jar = { path: join(this.dir, `${digest}.jar`), bytes: fetched.bytes, digest };
    this.entries.set(key, { jar: { ...jar, downloaded: true }, at: this.now() });
    await this.sweep();
    return { ...jar, downloaded: true };
  }

  /** Forgets expired entries and deletes the files no entry refers to any more. */
  private async sweep() {
    const now = this.now();
    for (const [key, e] of this.entries) if (now - e.at >= this.ttlMs) this.entries.delete(key);
    const kept = new Set([...this.entries.values()].map(e => `${e.jar.digest}.jar`));
    for (const file of await readdir(this.dir))
      if (file.endsWith(".jar") && !kept.has(file))
        await unlink(join(this.dir, file)).catch(() => undefined);
  }

  private async prepare() {
    await mkdir(this.root, { recursive: true });
    for (const name of await readdir(this.root))
      if (/^\d+$/.test(name) && (Number(name) === process.pid || !alive(Number(name))))
        await rm(join(this.root, name), { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }
}
