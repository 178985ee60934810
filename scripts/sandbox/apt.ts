import { existsSync } from "node:fs";
import { run, say } from "./proc";

/**
 * Installs the Debian packages whose files are missing (path -> package), as root with apt-get. The package
 * lists are refreshed first: on a fresh machine they may be absent or stale.
 */
export async function ensureDebianPackages(
  files: Record<string, string>,
  why: string,
): Promise<void> {
  const missing = [
    ...new Set(
      Object.entries(files)
        .filter(([f]) => !existsSync(f))
        .map(([, p]) => p),
    ),
  ];
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0)
    throw new Error(
      `${why} needs the Debian packages ${missing.join(", ")}: install them or run as root`,
    );
  say(
    `installing ${missing.join(", ")} from Debian's packages for ${why} (first use only, about a minute)`,
  );
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-qq"], { env, quiet: true });
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], {
    env,
    quiet: true,
  });
}
