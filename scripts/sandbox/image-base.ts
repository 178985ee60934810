import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir } from "../../lib/cache";
import { fillOnce } from "./flink-runtime";
import type { Layer } from "./image-archive";
import { sha256File } from "./image-tar";
import { ensureDebianPackages } from "./apt";
import { run, say, seconds } from "./proc";

export const BASE_SUITE = "bookworm";

/**
 * What Flink's scripts and the operator's pods use besides Essential packages: Java, ps, awk, hostname,
 * curl for the jar-fetching init container, envsubst for FLINK_PROPERTIES, setpriv (util-linux) to drop
 * root. usr-is-merged spares usrmerge, which would pull in perl.
 */
export const BASE_PACKAGES = [
  "openjdk-17-jre-headless",
  "bash",
  "coreutils",
  "procps",
  "grep",
  "sed",
  "mawk",
  "findutils",
  "hostname",
  "curl",
  "ca-certificates",
  "netbase",
  "util-linux",
  "gettext-base",
  "usr-is-merged",
];

/** Documentation, man pages and translations stay out of the image. */
const DPKG_OPTIONS = [
  "path-exclude=/usr/share/man/*",
  "path-exclude=/usr/share/info/*",
  "path-exclude=/usr/share/lintian/*",
  "path-exclude=/usr/share/locale/*",
  "path-include=/usr/share/locale/locale.alias",
  "path-exclude=/usr/share/doc/*",
  "path-include=/usr/share/doc/*/copyright",
];

/** File times in the layer; mmdebstrap clamps to it, so the tar does not change with the build date. */
const SOURCE_DATE_EPOCH = "1704067200";

const HOOK = join(dirname(fileURLToPath(import.meta.url)), "image", "base-customize.sh");

export interface BaseLayer extends Layer {
  architecture: string;
  javaHome: string;
}

const isDebianSuite = (suite: string) => new RegExp(`^${BASE_SUITE}(-[a-z]+)?$`).test(suite);

/**
 * The host's apt sources for the Debian release the image is built from (deb822 stanzas and one-line
 * entries whose suites are all bookworm[-*]), so mmdebstrap fetches only from the configured Debian mirror
 * and never from third-party repositories the host may also have.
 */
export function debianSources(files: { name: string; text: string }[]): string {
  const kept: string[] = [];
  for (const { name, text } of files) {
    if (name.endsWith(".sources")) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const suites = /^Suites:\s*(.+)$/im.exec(stanza)?.[1].trim().split(/\s+/) ?? [];
        const enabled = !/^Enabled:\s*no\s*$/im.test(stanza);
        const types = /^Types:\s*(.+)$/im.exec(stanza)?.[1] ?? "";
        if (enabled && /\bdeb\b/.test(types) && suites.length && suites.every(isDebianSuite))
          kept.push(oneLine(stanza, suites));
      }
    } else {
      for (const line of text.split("\n")) {
        const m = /^deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(line.trim());
        if (m && isDebianSuite(m[3])) kept.push(line.trim());
      }
    }
  }
  return kept.join("\n") + (kept.length ? "\n" : "");
}

/** deb822 stanza -> one-line entries (one per suite), which mmdebstrap takes as MIRROR arguments. */
function oneLine(stanza: string, suites: string[]): string {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, "im").exec(stanza)?.[1].trim();
  const uris = (field("URIs") ?? "").split(/\s+/);
  const components = field("Components") ?? "main";
  // A keyring path; an inline key block cannot go on one line and apt then falls back to its trusted keys.
  const signedBy = field("Signed-By");
  const options = signedBy?.startsWith("/") ? `[signed-by=${signedBy}] ` : "";
  return uris
    .flatMap(uri => suites.map(suite => `deb ${options}${uri} ${suite} ${components}`))
    .join("\n");
}

function hostSources(): string {
  const files: { name: string; text: string }[] = [];
  if (existsSync("/etc/apt/sources.list"))
    files.push({ name: "sources.list", text: readFileSync("/etc/apt/sources.list", "utf8") });
  const dir = "/etc/apt/sources.list.d";
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith(".list") || name.endsWith(".sources"))
        files.push({ name, text: readFileSync(join(dir, name), "utf8") });
    }
  }
  const sources = debianSources(files);
  if (!sources) {
    throw new Error(
      `no Debian ${BASE_SUITE} entry in the host's apt sources (/etc/apt/sources.list[.d]): the image base layer is built from them`,
    );
  }
  return sources;
}

function ensureMmdebstrap(): Promise<void> {
  return ensureDebianPackages({ "/usr/bin/mmdebstrap": "mmdebstrap" }, "the image base layer");
}

/**
 * Debian bookworm with OpenJDK 17 as one layer tar, cached under a hash of everything that goes into it
 * (suite, packages, options, the customize hook, the apt sources), so it is built once per change.
 */
export async function ensureBaseLayer(): Promise<BaseLayer> {
  const sources = hostSources();
  const hook = await readFile(HOOK, "utf8");
  const key = createHash("sha256")
    .update(
      JSON.stringify([BASE_SUITE, BASE_PACKAGES, DPKG_OPTIONS, SOURCE_DATE_EPOCH, hook, sources]),
    )
    .digest("hex")
    .slice(0, 16);
  const dir = cacheDir("images", `base-${key}`);
  await fillOnce(dir, async temp => {
    await ensureMmdebstrap();
    const architecture = (await run("dpkg", ["--print-architecture"], { quiet: true })).trim();
    const sourcesFile = join(temp, "sources.list");
    await writeFile(sourcesFile, sources);
    const started = Date.now();
    say(
      `building the image base layer: Debian ${BASE_SUITE} + OpenJDK 17 with mmdebstrap (first use only; ~1-2 min)`,
    );
    const beat = setInterval(
      () => say(`  still building the base layer (${seconds(Date.now() - started)})`),
      30_000,
    );
    const logFile = join(temp, "mmdebstrap.log");
    try {
      await run(
        "mmdebstrap",
        [
          `--logfile=${logFile}`,
          "--variant=essential",
          "--format=tar",
          // Container runtimes provide /dev; device nodes in a layer are only trouble.
          "--skip=output/dev",
          `--include=${BASE_PACKAGES.join(",")}`,
          ...DPKG_OPTIONS.map(o => `--dpkgopt=${o}`),
          // OpenJDK's postinst registers its man page with update-alternatives, which needs the directory.
          '--essential-hook=mkdir -p "$1/usr/share/man/man1"',
          `--customize-hook=sh ${HOOK} "$1"`,
          BASE_SUITE,
          join(temp, "layer.tar"),
          sourcesFile,
        ],
        { env: { ...process.env, SOURCE_DATE_EPOCH }, quiet: true },
      );
    } catch (err) {
      const log = await readFile(logFile, "utf8").catch(() => "");
      throw new Error(`mmdebstrap failed: ${err}\n${log.split("\n").slice(-40).join("\n")}`);
    } finally {
      clearInterval(beat);
    }
    await rm(sourcesFile);
    await rm(logFile);
    const diffId = `sha256:${await sha256File(join(temp, "layer.tar"))}`;
    const meta = { diffId, architecture, buildMs: Date.now() - started };
    await writeFile(join(temp, "layer.json"), JSON.stringify(meta, null, 2));
    say(`built the image base layer in ${seconds(meta.buildMs)}`);
  });
  const meta = JSON.parse(await readFile(join(dir, "layer.json"), "utf8")) as {
    diffId: string;
    architecture: string;
  };
  return {
    file: join(dir, "layer.tar"),
    diffId: meta.diffId,
    architecture: meta.architecture,
    javaHome: `/usr/lib/jvm/java-17-openjdk-${meta.architecture}`,
  };
}
