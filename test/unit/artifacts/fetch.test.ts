import { generateKeyPairSync } from "node:crypto";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import forge from "node-forge";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ArtifactFetchError,
  fetchArtifact,
  type FetchOptions,
  type Resolver,
} from "../../../lib/artifacts/fetch";

const servers: Server[] = [];
let dir: string;
let base: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "fetch-test-"));
  base = join(dir, "artifacts");
  await mkdir(base);
});
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(s => new Promise(r => (s.closeAllConnections(), s.close(r)))),
  );
  await rm(dir, { recursive: true, force: true });
});

interface Hit {
  url: string;
  headers: IncomingHttpHeaders;
}

/** A loopback HTTP server recording what it is asked; fails the test when it cannot listen. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    hits.push({ url: req.url ?? "", headers: req.headers });
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return { port: (server.address() as AddressInfo).port, hits };
}

const JAR = Buffer.from("PK\u0003\u0004 not really a jar, but bytes all the same");
const jarServer = () => serve((_, res) => res.end(JAR));

/** Answers from a table, one list per call (the last one repeats), and counts the calls. */
function stubResolver(answers: Record<string, string[][]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (host: string) => {
    const n = calls.filter(c => c === host).length;
    calls.push(host);
    const lists = answers[host];
    if (!lists) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
    return lists[Math.min(n, lists.length - 1)].map(address => ({
      address,
      family: address.includes(":") ? 6 : 4,
    }));
  };
  return Object.assign(resolve, { calls });
}

/** Loopback is forbidden like any local address; these tests allow 127.0.0.1 only, for their own servers. */
const options = (extra: Partial<FetchOptions> = {}): FetchOptions => ({
  policy: { allowedSchemes: ["http"], baseDir: base, hosts: { allow: ["127.0.0.1"] } },
  destination: join(dir, "job.jar"),
  resolve: stubResolver({}),
  ...extra,
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the fetch to fail");
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(ArtifactFetchError);
      return (e as Error).message;
    },
  );

/** What the test directory holds besides the artifacts directory: no temporary file may stay behind. */
const leftovers = async () => (await readdir(dir)).filter(f => f !== "artifacts");

describe("fetchArtifact over HTTP", () => {
  it("connects to the address the name resolved to, asking once: a second, different answer (DNS rebinding) is never used", async () => {
    const server = await jarServer();
    const resolve = stubResolver({ "jars.test": [["127.0.0.1"], ["127.0.0.2"]] });
    const url = `http://jars.test:${server.port}/job.jar`;
    const fetched = await fetchArtifact(url, options({ resolve }));
    expect(fetched).toEqual({ path: join(dir, "job.jar"), bytes: JAR.length });
    expect(await readFile(fetched.path)).toEqual(JAR);
    expect(resolve.calls).toEqual(["jars.test"]);
    // Host stays the name: virtual hosts and TLS certificates go by it.
    expect(server.hits.map(h => h.headers.host)).toEqual([`jars.test:${server.port}`]);
    expect(await leftovers()).toEqual(["job.jar"]);
    // The next fetch resolves again, and is refused on the new answer.
    expect(await failure(fetchArtifact(url, options({ resolve })))).toBe(
      `jar http://jars.test:${server.port}/job.jar: host "jars.test" resolves to 127.0.0.2, which is loopback`,
    );
    expect(server.hits).toHaveLength(1);
  });

  it("refuses a name with any forbidden address among its answers, and connects to none", async () => {
    const server = await jarServer();
    const resolve = stubResolver({ "mixed.test": [["127.0.0.1", "::ffff:127.0.0.2"]] });
    expect(
      await failure(
        fetchArtifact(`http://mixed.test:${server.port}/job.jar`, options({ resolve })),
      ),
    ).toBe(
      `jar http://mixed.test:${server.port}/job.jar: host "mixed.test" resolves to ::ffff:127.0.0.2, which is an IPv4-mapped address of 127.0.0.2, which is loopback`,
    );
    expect(server.hits).toEqual([]);
  });

  it("refuses what admission refuses before resolving anything", async () => {
    const resolve = stubResolver({});
    expect(
      await failure(fetchArtifact("http://[::ffff:169.254.169.254]/job.jar", options({ resolve }))),
    ).toBe(
      'jar http://[::ffff:169.254.169.254]/job.jar: host "::ffff:a9fe:a9fe" is an IPv4-mapped address of 169.254.169.254, which is link-local (169.254.0.0/16, where cloud metadata services answer); jars must come from a public host',
    );
    expect(await failure(fetchArtifact("ftp://jars.test/job.jar", options({ resolve })))).toMatch(
      /scheme "ftp" is not allowed/,
    );
    expect(resolve.calls).toEqual([]);
  });

  it.each([
    [
      "a loopback name",
      (port: number) => `http://localhost:${port}/job.jar`,
      'host "localhost" is a loopback name',
    ],
    [
      "a mapped loopback address",
      (port: number) => `http://[::ffff:127.0.0.2]:${port}/job.jar`,
      'host "::ffff:7f00:2" is an IPv4-mapped address of 127.0.0.2, which is loopback',
    ],
    [
      "a name resolving to loopback",
      (port: number) => `http://inside.test:${port}/job.jar`,
      'host "inside.test" resolves to 127.0.0.2, which is loopback',
    ],
    ["a local file", () => "file:///etc/passwd", "redirects to a file URL; allowed: http"],
  ])("refuses a redirect to %s; the target is never called", async (_, target, why) => {
    const inside = await jarServer();
    const outside = await serve((_, res) =>
      res.writeHead(302, { location: target(inside.port) }).end(),
    );
    const resolve = stubResolver({ "inside.test": [["127.0.0.2"]] });
    const message = await failure(
      fetchArtifact(`http://127.0.0.1:${outside.port}/job.jar`, options({ resolve })),
    );
    expect(message).toContain(why);
    expect(outside.hits).toHaveLength(1);
    expect(inside.hits).toEqual([]);
  });

  it("follows at most maxRedirects redirects", async () => {
    const server = await serve((req, res) => {
      const n = Number(req.url!.split("/")[2]);
      if (n < 3) res.writeHead(302, { location: `/r/${n + 1}` }).end();
      else res.end(JAR);
    });
    const url = `http://127.0.0.1:${server.port}/r/0`;
    expect((await fetchArtifact(url, options({ maxRedirects: 3 }))).bytes).toBe(JAR.length);
    server.hits.length = 0;
    expect(await failure(fetchArtifact(url, options({ maxRedirects: 2 })))).toBe(
      `jar http://127.0.0.1:${server.port}/r/0: more than 2 redirects`,
    );
    expect(server.hits.map(h => h.url)).toEqual(["/r/0", "/r/1", "/r/2"]);
  });

  it("sends its headers to the jar's own origin, not to where it redirects", async () => {
    const elsewhere = await jarServer();
    const origin = await serve((req, res) =>
      req.url === "/job.jar"
        ? res.writeHead(302, { location: "/moved.jar" }).end()
        : res.writeHead(302, { location: `http://127.0.0.1:${elsewhere.port}/job.jar` }).end(),
    );
    const headers: Array<[string, string]> = [["X-Token", "s3cr3t"]];
    await fetchArtifact(`http://127.0.0.1:${origin.port}/job.jar`, options({ headers }));
    expect(origin.hits.map(h => h.headers["x-token"])).toEqual(["s3cr3t", "s3cr3t"]);
    expect(elsewhere.hits.map(h => h.headers["x-token"])).toEqual([undefined]);
  });

  it("refuses a jar whose declared size is over the cap, keeping nothing", async () => {
    const server = await serve((_, res) => {
      res.writeHead(200, { "content-length": 2048 });
      res.end(Buffer.alloc(2048));
    });
    expect(
      await failure(
        fetchArtifact(`http://127.0.0.1:${server.port}/job.jar`, options({ maxBytes: 1024 })),
      ),
    ).toBe(
      `jar http://127.0.0.1:${server.port}/job.jar: declares 2048 bytes, more than the 1024 allowed`,
    );
    expect(await leftovers()).toEqual([]);
  });

  it("stops a jar streamed without a length at the cap, keeping nothing", async () => {
    const server = await serve((_, res) => {
      for (let i = 0; i < 8; i++) res.write(Buffer.alloc(512));
      res.end();
    });
    expect(
      await failure(
        fetchArtifact(`http://127.0.0.1:${server.port}/job.jar`, options({ maxBytes: 1024 })),
      ),
    ).toBe(`jar http://127.0.0.1:${server.port}/job.jar: more than the 1024 bytes allowed`);
    expect(await leftovers()).toEqual([]);
  });

  it("gives up at the time cap, keeping nothing", async () => {
    const server = await serve((_, res) => res.write(Buffer.alloc(100)));
    const started = Date.now();
    expect(
      await failure(
        fetchArtifact(`http://127.0.0.1:${server.port}/job.jar`, options({ timeoutMs: 300 })),
      ),
    ).toBe(`jar http://127.0.0.1:${server.port}/job.jar: not fetched within 300 ms`);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await leftovers()).toEqual([]);
  });

  it("fetches from a host the operator names as internal, whatever it resolves to; another name is still judged by its answers", async () => {
    const server = await jarServer();
    const resolve = stubResolver({
      "jars.internal": [["127.0.0.1"]],
      "other.test": [["127.0.0.1"]],
    });
    const opts = options({
      policy: { allowedSchemes: ["http"], baseDir: base, hosts: { allow: ["jars.internal"] } },
      resolve,
    });
    expect((await fetchArtifact(`http://JARS.internal:${server.port}/job.jar`, opts)).bytes).toBe(
      JAR.length,
    );
    expect(await failure(fetchArtifact(`http://other.test:${server.port}/job.jar`, opts))).toBe(
      `jar http://other.test:${server.port}/job.jar: host "other.test" resolves to 127.0.0.1, which is loopback`,
    );
    // The address itself is not allowed by naming a host that resolves to it.
    expect(await failure(fetchArtifact(`http://127.0.0.1:${server.port}/job.jar`, opts))).toMatch(
      /host "127.0.0.1" is loopback/,
    );
    expect(server.hits).toHaveLength(1);
  });

  it("says s3:// jars are not supported yet, even where the scheme is allowed, and resolves nothing", async () => {
    const resolve = stubResolver({});
    const opts = options({ policy: { allowedSchemes: ["https", "s3"], baseDir: base }, resolve });
    expect(await failure(fetchArtifact("s3://bucket/jobs/job.jar", opts))).toBe(
      `jar s3://bucket/jobs/job.jar: s3:// jars are not supported by the operator's fetcher yet; serve the jar over https, or put it under ${base} and use file://`,
    );
    expect(resolve.calls).toEqual([]);
  });

  it("reports an error status, without the URL's query", async () => {
    const server = await serve((_, res) => res.writeHead(404).end());
    expect(
      await failure(
        fetchArtifact(`http://127.0.0.1:${server.port}/job.jar?signature=s3cr3t`, options()),
      ),
    ).toBe(`jar http://127.0.0.1:${server.port}/job.jar: HTTP 404`);
  });
});

describe("fetchArtifact of local files", () => {
  it("returns a jar under the artifacts directory as it is", async () => {
    await mkdir(join(base, "team-a"));
    await writeFile(join(base, "team-a/job.jar"), JAR);
    expect(await fetchArtifact(`file://${base}/team-a/job.jar`, options())).toEqual({
      path: join(base, "team-a/job.jar"),
      bytes: JAR.length,
    });
  });

  it("refuses a path that climbs out, and a link that leads out", async () => {
    await writeFile(join(dir, "outside.jar"), JAR);
    await symlink(join(dir, "outside.jar"), join(base, "link.jar"));
    expect(await failure(fetchArtifact(`file://${base}/../outside.jar`, options()))).toMatch(
      /local jars must be under the artifacts directory/,
    );
    expect(await failure(fetchArtifact(`file://${base}/link.jar`, options()))).toBe(
      `jar file://${base}/link.jar: leads out of the artifacts directory ${base} through a link`,
    );
  });

  it("refuses a missing file and one over the cap", async () => {
    expect(await failure(fetchArtifact(`file://${base}/nope.jar`, options()))).toBe(
      `jar file://${base}/nope.jar: does not exist (ENOENT)`,
    );
    await writeFile(join(base, "big.jar"), Buffer.alloc(2048));
    expect(
      await failure(fetchArtifact(`file://${base}/big.jar`, options({ maxBytes: 1024 }))),
    ).toBe(`jar file://${base}/big.jar: has 2048 bytes, more than the 1024 allowed`);
  });
});

/** A self-signed certificate for one DNS name. */
function selfSigned(name: string) {
  const keys = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey);
  cert.serialNumber = "01";
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: "commonName", value: name }]);
  cert.setIssuer([{ name: "commonName", value: name }]);
  cert.setExtensions([{ name: "subjectAltName", altNames: [{ type: 2, value: name }] }]);
  cert.sign(forge.pki.privateKeyFromPem(keys.privateKey), forge.md.sha256.create());
  return { key: keys.privateKey, cert: forge.pki.certificateToPem(cert) };
}

describe("fetchArtifact over HTTPS", () => {
  it("connects to the pinned address but asks for, and verifies, the certificate of the name", async () => {
    const tls = selfSigned("jars.test");
    const serverNames: Array<string | false> = [];
    const server = createHttpsServer(tls, (_, res) => res.end(JAR));
    // Node sets servername on server-side sockets; its types leave it out.
    server.on("secureConnection", socket =>
      serverNames.push((socket as typeof socket & { servername: string | false }).servername),
    );
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const port = (server.address() as AddressInfo).port;
    const opts = options({
      policy: { allowedSchemes: ["https"], baseDir: base, hosts: { allow: ["127.0.0.1"] } },
      resolve: stubResolver({ "jars.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]] }),
      ca: tls.cert,
    });
    expect((await fetchArtifact(`https://jars.test:${port}/job.jar`, opts)).bytes).toBe(JAR.length);
    expect(serverNames).toEqual(["jars.test"]);
    // The same address under another name does not pass for it.
    expect(await failure(fetchArtifact(`https://other.test:${port}/job.jar`, opts))).toBe(
      `jar https://other.test:${port}/job.jar: ERR_TLS_CERT_ALTNAME_INVALID`,
    );
  });
});
