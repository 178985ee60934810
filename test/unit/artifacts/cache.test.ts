import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JarCache } from "../../../lib/artifacts/cache";
import { ArtifactFetchError, type FetchOptions } from "../../../lib/artifacts/fetch";

const servers: Server[] = [];
let dir: string;
let base: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "jar-cache-test-"));
  base = join(dir, "artifacts");
  await mkdir(base);
});
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(s => new Promise(r => (s.closeAllConnections(), s.close(r)))),
  );
  await rm(dir, { recursive: true, force: true });
});

/** A loopback HTTP server answering each path from `jars`, counting requests per path. */
async function jarServer(jars: Record<string, Buffer>, status = () => 200) {
  const hits: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    hits.push(req.url ?? "");
    const code = status();
    if (code !== 200) return void res.writeHead(code).end();
    // Slow enough that concurrent requests overlap.
    setTimeout(() => res.end(jars[req.url ?? ""]), 50);
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

const A = Buffer.from("PK\u0003\u0004 jar A");
const B = Buffer.from("PK\u0003\u0004 jar B, another");
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Loopback is allowed for these tests' own servers only. */
const fetchOptions = (extra: Partial<FetchOptions> = {}): Omit<FetchOptions, "destination"> => ({
  policy: { allowedSchemes: ["http"], baseDir: base, hosts: { allow: ["127.0.0.1"] } },
  ...extra,
});

describe("the session job jar cache", () => {
  it("downloads a jar once for N jobs asking at once, and serves later asks from the cache", async () => {
    const server = await jarServer({ "/a.jar": A });
    const cache = new JarCache({ dir: join(dir, "cache") });
    const uri = `${server.url}/a.jar`;
    const jars = await Promise.all([1, 2, 3].map(() => cache.get(uri, fetchOptions())));
    expect(server.hits).toEqual(["/a.jar"]);
    expect(new Set(jars.map(j => j.path)).size).toBe(1);
    expect(jars.map(j => j.downloaded).sort()).toEqual([false, false, true]);
    expect(jars[0]).toMatchObject({ bytes: A.length, digest: sha(A) });
    expect(jars[0].path).toBe(join(dir, "cache", String(process.pid), `${sha(A)}.jar`));
    expect(await readFile(jars[0].path)).toEqual(A);
    expect((await cache.get(uri, fetchOptions())).downloaded).toBe(false);
    expect(server.hits).toHaveLength(1);
  });

  it("keeps jars of equal content as one file, and fetches again once the TTL has passed", async () => {
    const server = await jarServer({ "/a.jar": A, "/copy-of-a.jar": A, "/b.jar": B });
    let now = 0;
    const cache = new JarCache({ dir: join(dir, "cache"), ttlMs: 1000, now: () => now });
    const a = await cache.get(`${server.url}/a.jar`, fetchOptions());
    const copy = await cache.get(`${server.url}/copy-of-a.jar`, fetchOptions());
    expect(copy.path).toBe(a.path);
    now = 1000;
    const again = await cache.get(`${server.url}/a.jar`, fetchOptions());
    expect(again.downloaded).toBe(true);
    expect(server.hits).toEqual(["/a.jar", "/copy-of-a.jar", "/a.jar"]);
    // b's download sweeps expired entries; a's file stays for its fresh entry.
    now = 1500;
    await cache.get(`${server.url}/b.jar`, fetchOptions());
    expect((await readdir(join(dir, "cache", String(process.pid)))).sort()).toEqual(
      [`${sha(A)}.jar`, `${sha(B)}.jar`].sort(),
    );
    now = 2600;
    await cache.get(`${server.url}/b.jar`, fetchOptions());
    expect(await readdir(join(dir, "cache", String(process.pid)))).toEqual([`${sha(B)}.jar`]);
  });

  it("never serves a jar fetched with one set of headers to a request with others", async () => {
    const server = await jarServer({ "/a.jar": A });
    const cache = new JarCache({ dir: join(dir, "cache") });
    const uri = `${server.url}/a.jar`;
    await cache.get(uri, fetchOptions({ headers: [["Authorization", "Bearer one"]] }));
    await cache.get(uri, fetchOptions({ headers: [["Authorization", "Bearer two"]] }));
    await cache.get(uri, fetchOptions());
    expect(server.hits).toHaveLength(3);
  });

  it("does not keep a failure: the next ask fetches again", async () => {
    let code = 503;
    const server = await jarServer({ "/a.jar": A }, () => code);
    const cache = new JarCache({ dir: join(dir, "cache") });
    const uri = `${server.url}/a.jar`;
    await expect(cache.get(uri, fetchOptions())).rejects.toBeInstanceOf(ArtifactFetchError);
    code = 200;
    expect((await cache.get(uri, fetchOptions())).downloaded).toBe(true);
    expect(server.hits).toHaveLength(2);
  });

  it("uses a local jar where it is, without a copy", async () => {
    await writeFile(join(base, "job.jar"), A);
    const cache = new JarCache({ dir: join(dir, "cache") });
    expect(await cache.get(`file://${base}/job.jar`, fetchOptions())).toEqual({
      path: join(base, "job.jar"),
      bytes: A.length,
      downloaded: false,
    });
    expect(existsSync(join(dir, "cache"))).toBe(false);
  });

  it("empties its own directory at first use and removes those of processes that are gone", async () => {
    const root = join(dir, "cache");
    const gone = join(root, "999999999");
    const own = join(root, String(process.pid));
    const parent = join(root, String(process.ppid));
    for (const d of [gone, own, parent]) {
      await mkdir(d, { recursive: true });
      await writeFile(join(d, "left.jar.part"), "x");
    }
    const server = await jarServer({ "/a.jar": A });
    await new JarCache({ dir: root }).get(`${server.url}/a.jar`, fetchOptions());
    expect(existsSync(gone)).toBe(false);
    expect(await readdir(own)).toEqual([`${sha(A)}.jar`]);
    // A live process's directory is its own business.
    expect(await readdir(parent)).toEqual(["left.jar.part"]);
  });
});
