import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { log } from "../../lib/log";

/** A resolved Maven artifact (always a jar here). */
export interface Artifact {
  groupId: string;
  artifactId: string;
  version: string;
  classifier?: string;
}

export function parseCoordinates(gav: string, defaultVersion?: string): Artifact {
  const [groupId, artifactId, version, classifier] = gav.split(":");
  const v = version || defaultVersion;
  if (!groupId || !artifactId) throw new Error(`bad Maven coordinates "${gav}"`);
  return { groupId, artifactId, version: v ?? "", classifier: classifier || undefined };
}

export function fileName(a: Artifact): string {
  return `${a.artifactId}-${a.version}${a.classifier ? `-${a.classifier}` : ""}.jar`;
}

export function artifactUrl(repo: string, a: Artifact): string {
  return `${repo}/${a.groupId.replaceAll(".", "/")}/${a.artifactId}/${a.version}/${fileName(a)}`;
}

const DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";

/**
 * The runtime closure of some root artifacts, as Maven mediates it. Maven only reads POMs here
 * (dependency:tree collects without downloading jars); the jars themselves go through downloadVerified.
 * flink-parent is the parent of the throwaway project so versionless roots (log4j) take Flink's own pins.
 */
export async function resolveClosure(roots: string[], flinkVersion: string): Promise<Artifact[]> {
  const work = await mkdtemp(join(tmpdir(), "flink-resolve-"));
  try {
    const deps = roots
      .map(r => parseCoordinates(r))
      .map(a => {
        const version = a.version || (a.groupId === "org.apache.flink" ? flinkVersion : "");
        return `<dependency><groupId>${a.groupId}</groupId><artifactId>${a.artifactId}</artifactId>${
          version ? `<version>${version}</version>` : ""
        }</dependency>`;
      })
      .join("\n");
    const pom = `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<parent><groupId>org.apache.flink</groupId><artifactId>flink-parent</artifactId><version>${flinkVersion}</version><relativePath/></parent>
<groupId>local.sandbox</groupId><artifactId>flink-closure</artifactId><version>1</version><packaging>pom</packaging>
<dependencies>
${deps}
</dependencies></project>
`;
    await writeFile(join(work, "pom.xml"), pom);
    const out = join(work, "tree.txt");
    // -C: fail on a checksum mismatch of anything Maven itself downloads (the POMs).
    const args = [
      "-B",
      "-C",
      "-q",
      "-f",
      join(work, "pom.xml"),
      `${DEPENDENCY_PLUGIN}:tree`,
      `-DoutputFile=${out}`,
      "-Dscope=runtime",
    ];
    await new Promise<void>((resolve, reject) => {
      execFile(
        "mvn",
        args,
        { maxBuffer: 16 << 20, timeout: 15 * 60_000 },
        (err, stdout, stderr) => {
          if (!err) return resolve();
          const hint =
            (err as NodeJS.ErrnoException).code === "ENOENT"
              ? " (is Maven installed and on PATH?)"
              : "";
          reject(
            new Error(
              `mvn dependency:tree failed${hint}: ${err.message}\n${stdout}\n${stderr}`.trim(),
            ),
          );
        },
      );
    });
    return parseTree(await readFile(out, "utf8"));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Lines look like `|  +- group:artifact:jar[:classifier]:version:compile`. */
export function parseTree(text: string): Artifact[] {
  const found = new Map<string, Artifact>();
  const re = /([\w.-]+):([\w.-]+):([\w-]+)(?::([\w.-]+))?:([\w.-]+):(compile|runtime)\b/;
  for (const line of text.split("\n")) {
    const m = re.exec(line);
    if (!m || m[3] !== "jar") continue;
    const a: Artifact = { groupId: m[1], artifactId: m[2], classifier: m[4], version: m[5] };
    found.set(`${a.groupId}:${a.artifactId}:${a.classifier ?? ""}`, a);
  }
  return [...found.values()];
}

async function fetchText(url: string): Promise<string | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return (await res.text()).trim();
}

/**
 * Downloads one jar into dir and checks it against the checksum the repository publishes beside it
 * (.sha512 when present, else .sha1). A mismatch or a missing checksum fails the download.
 */
export async function downloadVerified(repo: string, a: Artifact, dir: string): Promise<string> {
  const url = artifactUrl(repo, a);
  let algorithm = "sha512";
  let expected = await fetchText(`${url}.sha512`);
  if (expected === undefined) {
    algorithm = "sha1";
    expected = await fetchText(`${url}.sha1`);
  }
  if (expected === undefined) {
    const head = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(60_000) });
    throw new Error(
      head.status === 404 ? `${url} is not in the repository` : `no checksum published for ${url}`,
    );
  }
  // Some checksum files carry "<hash>  <file name>".
  const want = expected.split(/\s+/)[0].toLowerCase();
  const target = join(dir, fileName(a));
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10 * 60_000) });
      if (!res.ok || !res.body) throw new Error(`GET ${url}: HTTP ${res.status}`);
      const hash = createHash(algorithm);
      const hasher = new Transform({
        transform(chunk, _enc, cb) {
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      await pipeline(
        Readable.fromWeb(res.body as import("node:stream/web").ReadableStream),
        hasher,
        createWriteStream(target),
      );
      const got = hash.digest("hex");
      if (got !== want)
        throw new Error(`${algorithm} mismatch for ${url}: expected ${want}, got ${got}`);
      return target;
    } catch (err) {
      if (attempt >= 3 || String(err).includes("mismatch")) throw err;
      log.warn("retrying download", { url, attempt, error: String(err) });
    }
  }
}

/** Downloads many jars, a few at a time. */
export async function downloadAll(
  repo: string,
  artifacts: Artifact[],
  dir: string,
  parallel = 4,
): Promise<string[]> {
  const queue = [...artifacts];
  const done: string[] = [];
  const worker = async () => {
    for (let a = queue.shift(); a; a = queue.shift())
      done.push(await downloadVerified(repo, a, dir));
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return done.sort();
}
