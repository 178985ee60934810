import { describe, expect, it } from "vitest";
import { runtimeClosure } from "../../../scripts/sandbox/image-module";

describe("runtimeClosure (what the module image's /app/node_modules holds)", () => {
  it("follows dependencies as Node resolves them, nested copies first, and leaves peer dependencies out", () => {
    const packages = {
      "node_modules/pepr": {
        dependencies: { a: "1", b: "2" },
        peerDependencies: { typescript: "5" },
      },
      "node_modules/a": { dependencies: { c: "^1" } },
      "node_modules/b": { dependencies: { c: "^2" } },
      "node_modules/b/node_modules/c": {},
      "node_modules/c": { dependencies: { d: "1" } },
      "node_modules/d": {},
      "node_modules/typescript": {},
      "node_modules/unrelated": {},
    };
    expect(runtimeClosure(packages, ["pepr"])).toEqual([
      "node_modules/a",
      "node_modules/b",
      "node_modules/b/node_modules/c",
      "node_modules/c",
      "node_modules/d",
      "node_modules/pepr",
    ]);
  });

  it("fails on a dependency the lock file does not hold", () => {
    expect(() =>
      runtimeClosure({ "node_modules/pepr": { dependencies: { gone: "1" } } }, ["pepr"]),
    ).toThrow("node_modules/pepr needs gone");
  });

  it("holds pepr 1.1.4's and the module's externals from this checkout's package-lock.json", async () => {
    const lock = (await import("../../../package-lock.json")).default as {
      packages: Parameters<typeof runtimeClosure>[0];
    };
    const closure = runtimeClosure(lock.packages, [
      "pepr",
      "kubernetes-fluent-client",
      "@kubernetes/client-node",
    ]);
    for (const pkg of [
      "pepr",
      "kubernetes-fluent-client",
      "@kubernetes/client-node",
      "express",
      "pino",
    ])
      expect(closure).toContain(`node_modules/${pkg}`);
    // Peer dependencies of pepr and this project's devDependencies stay out.
    for (const pkg of ["esbuild", "vitest", "prettier"])
      expect(closure).not.toContain(`node_modules/${pkg}`);
  });
});
