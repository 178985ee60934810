import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { run, say, seconds } from "./proc";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const DIST = join(REPO, "dist");
/** What the module's build reads: when any is newer than dist's manifests, dist is stale. */
const SOURCES = ["pepr.ts", "package.json", "capabilities", "lib", "scripts/dist-extras.ts"].map(
  p => join(REPO, p),
);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Manifest = any;

export interface Dist {
  /** dist/pepr-module-<uuid>.yaml: every manifest of the install, the Flink service accounts included. */
  manifestFile: string;
  manifests: Manifest[];
  /** The Helm chart pepr build wrote (dist/<name>-chart). */
  chart: string;
  /** sha256 of the module, the controller's argument; the Secret holds module-<hash>.js.gz. */
  hash: string;
  moduleGz: Buffer;
  tls: { crt: string; key: string };
  apiPath: string;
}

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map(e => newestMtime(join(path, e))));
}

function manifestFile(): string | undefined {
  const file = existsSync(DIST)
    ? readdirSync(DIST).find(f => /^pepr-module-.*\.yaml$/.test(f))
    : undefined;
  return file && join(DIST, file);
}

/** `npm run build` unless dist is newer than the module's sources, then what it wrote. */
export async function ensureDist(opts: { rebuild?: boolean } = {}): Promise<Dist> {
  const existing = manifestFile();
  if (
    opts.rebuild ||
    !existing ||
    statSync(existing).mtimeMs < Math.max(...SOURCES.map(newestMtime))
  ) {
    const started = Date.now();
    say("npm run build (pepr build: the module, its manifests and Helm chart; ~1 min)");
    await run("npm", ["run", "build"], { cwd: REPO, quiet: true, timeoutMs: 5 * 60_000 });
    say(`built dist/ in ${seconds(Date.now() - started)}`);
  }
  const file = manifestFile();
  if (!file) throw new Error(`npm run build wrote no pepr-module-*.yaml into ${DIST}`);
  return readDist(file);
}

function readDist(file: string): Dist {
  const manifests = parseAllDocuments(readFileSync(file, "utf8"))
    .map(d => d.toJS())
    .filter(Boolean);
  const secret = (suffix: string) => {
    const s = manifests.find(m => m.kind === "Secret" && m.metadata.name.endsWith(suffix));
    if (!s) throw new Error(`${file} has no Secret *${suffix}`);
    return s.data as Record<string, string>;
  };
  const [moduleKey, moduleData] = Object.entries(secret("-module"))[0];
  const hash = /^module-([a-f0-9]{64})\.js\.gz$/.exec(moduleKey)?.[1];
  if (!hash) throw new Error(`unexpected module key ${moduleKey} in ${file}`);
  const tls = secret("-tls");
  const chart = readdirSync(DIST).find(f => f.endsWith("-chart"));
  if (!chart) throw new Error(`pepr build wrote no Helm chart into ${DIST}`);
  const b64 = (s: string) => Buffer.from(s, "base64");
  return {
    manifestFile: file,
    manifests,
    chart: join(DIST, chart),
    hash,
    moduleGz: b64(moduleData),
    tls: { crt: b64(tls["tls.crt"]).toString(), key: b64(tls["tls.key"]).toString() },
    apiPath: b64(secret("-api-path").value).toString(),
  };
}
