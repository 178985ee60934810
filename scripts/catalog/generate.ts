import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  ensureCatalogClasspath,
  ensureFlinkRuntime,
  knownFlinkVersions,
  resolveFlinkVersion,
} from "../sandbox/flink-runtime";

const here = dirname(fileURLToPath(import.meta.url));
const OUT_DIR = join(here, "..", "..", "lib", "flink", "catalog");

function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 << 20, timeout: 10 * 60_000 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new Error(`${cmd} ${args.at(-1)} failed (exit ${err.code}): ${stderr.slice(-4000)}`),
        );
      else resolve(`${stdout}${stderr}`);
    });
  });
}

/** The newest release of each minor line in the version table. */
function newestPerMinor(): string[] {
  const byMinor = new Map<string, string>();
  for (const v of knownFlinkVersions()) byMinor.set(resolveFlinkVersion(v).minor, v);
  return [...byMinor.values()];
}

async function generate(version: string, classesDir: string): Promise<void> {
  const install = await ensureFlinkRuntime(version);
  const classpath = await ensureCatalogClasspath(install);
  // Flink's own modules only: third-party and relocated jars declare no ConfigOptions.
  const scan = classpath.filter(
    p => /^flink-/.test(basename(p)) && !/^flink-shaded-/.test(basename(p)),
  );
  const out = join(OUT_DIR, `${install.release.minor}.json`);
  const started = Date.now();
  const log = await exec("java", [
    "-cp",
    [classesDir, ...classpath].join(":"),
    "ConfigCatalog",
    out,
    install.release.version,
    ...scan,
  ]);
  const options = Object.keys(JSON.parse(await readFile(out, "utf8")).options).length;
  process.stderr.write(log);
  process.stderr.write(
    `${out}: ${options} options, ${(await stat(out)).size} bytes, ${Math.round((Date.now() - started) / 1000)} s\n`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { flink: { type: "string", multiple: true } } });
  const versions = values.flink?.length
    ? values.flink.map(v => resolveFlinkVersion(v).version)
    : newestPerMinor();
  await mkdir(OUT_DIR, { recursive: true });
  const classesDir = await mkdtemp(join(tmpdir(), "config-catalog-"));
  try {
    // Reflection only, so no Flink jar is needed to compile it.
    await exec("javac", ["-d", classesDir, join(here, "ConfigCatalog.java")]);
    for (const v of versions) await generate(v, classesDir);
  } finally {
    await rm(classesDir, { recursive: true, force: true });
  }
}

main().catch(err => {
  process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
  process.exit(1);
});
