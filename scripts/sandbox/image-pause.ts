import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir } from "../../lib/cache";
import { fillOnce } from "./flink-runtime";
import type { Layer } from "./image-archive";
import { writeTar } from "./image-tar";
import { run, say } from "./proc";

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), "image", "pause.go");

function findGo(): string {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/local/go/bin"];
  const go = [process.env.GO, ...dirs.map(d => join(d, "go"))].find(p => !!p && existsSync(p));
  if (!go)
    throw new Error(
      "Go is not installed (no `go` on PATH, in $GO or /usr/local/go/bin): the pause image is built from source",
    );
  return go;
}

/**
 * The pod sandbox's pause program, a static Go binary built from image/pause.go with the standard
 * library only (no module downloads), as a one-file layer. Cached under a hash of the source and Go version.
 */
export async function ensurePauseLayer(): Promise<Layer> {
  const go = findGo();
  // Static, reproducible, and never fetching a toolchain or a module.
  const env = {
    ...process.env,
    CGO_ENABLED: "0",
    GOTOOLCHAIN: "local",
    GOFLAGS: "-buildvcs=false",
    GOWORK: "off",
    GOPROXY: "off",
  };
  const source = await readFile(SOURCE);
  const goVersion = (await run(go, ["env", "GOVERSION"], { env, quiet: true })).trim();
  const key = createHash("sha256").update(source).update(goVersion).digest("hex").slice(0, 16);
  const dir = cacheDir("images", `pause-${key}`);
  await fillOnce(dir, async temp => {
    say("building the pause image (first use only; ~10 s)");
    const module = cacheDir("build", "pause");
    await mkdir(module, { recursive: true });
    await writeFile(join(module, "go.mod"), "module flink-pepr.local/pause\n\ngo 1.22\n");
    await writeFile(join(module, "main.go"), source);
    const binary = join(temp, "pause");
    await run(go, ["build", "-trimpath", "-ldflags", "-s -w", "-o", binary, "."], {
      cwd: module,
      env,
      quiet: true,
    });
    const { size } = await stat(binary);
    const diffId = await writeTar(
      join(temp, "layer.tar"),
      [
        {
          type: "file",
          path: "pause",
          mode: 0o755,
          uid: 0,
          gid: 0,
          source: { file: binary, size },
        },
      ],
      0,
    );
    await writeFile(join(temp, "layer.json"), JSON.stringify({ diffId: `sha256:${diffId}` }));
  });
  const { diffId } = JSON.parse(await readFile(join(dir, "layer.json"), "utf8")) as {
    diffId: string;
  };
  return { file: join(dir, "layer.tar"), diffId };
}
