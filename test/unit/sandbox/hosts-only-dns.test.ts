import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostsTable } from "../../../scripts/sandbox/hosts-only-dns";

const REPO = join(__dirname, "../../..");

describe("the sandbox operator's name resolution (/etc/hosts only)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hosts-only-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads addresses and names from a hosts file, comments and blank lines aside", () => {
    const table = hostsTable("# c\n127.0.0.1 localhost vm\n\n::1 localhost # v6\nnot-an-ip x\n");
    expect(table.get("localhost")).toEqual([
      { address: "127.0.0.1", family: 4 },
      { address: "::1", family: 6 },
    ]);
    expect(table.get("vm")).toEqual([{ address: "127.0.0.1", family: 4 }]);
    expect(table.has("x")).toBe(false);
  });

  // In a process of its own: the patch changes Node's dns module for the whole process.
  it("answers from the file, refuses every other name without asking a DNS server, and the jar fetcher goes through it", async () => {
    const hosts = join(dir, "hosts");
    await writeFile(hosts, "127.0.0.1 jars.sandbox.test\n");
    const script = join(dir, "probe.mts");
    await writeFile(
      script,
      `
import { createRequire } from "node:module";
import { installHostsOnlyDns } from ${JSON.stringify(join(REPO, "scripts/sandbox/hosts-only-dns.ts"))};
installHostsOnlyDns(${JSON.stringify(hosts)});
// As the esbuild bundle reaches them: require() of the builtins, property read at call time.
const require = createRequire(import.meta.url);
const out: unknown[] = [];
out.push(await require("node:dns/promises").lookup("jars.sandbox.test", { all: true }));
out.push(await require("node:dns/promises").lookup("repo1.maven.org").catch((e: NodeJS.ErrnoException) => e.code));
out.push(await new Promise(r => require("node:dns").lookup("JARS.sandbox.test", (e: unknown, a: string, f: number) => r([e, a, f]))));
const { fetchArtifact } = await import(${JSON.stringify(join(REPO, "lib/artifacts/fetch.ts"))});
out.push(await fetchArtifact("https://repo1.maven.org/maven2/x.jar", {
  policy: { allowedSchemes: ["https"], baseDir: "/nonexistent" },
  destination: ${JSON.stringify(join(dir, "x.jar"))},
}).catch((e: Error) => e.message));
process.stdout.write(JSON.stringify(out));
`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", script], {
      cwd: REPO,
    });
    expect(JSON.parse(stdout)).toEqual([
      [{ address: "127.0.0.1", family: 4 }],
      "ENOTFOUND",
      [null, "127.0.0.1", 4],
      'jar https://repo1.maven.org/maven2/x.jar: cannot resolve "repo1.maven.org" (ENOTFOUND)',
    ]);
  });
});
