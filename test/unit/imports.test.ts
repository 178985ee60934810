import { ESLint } from "eslint";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(__dirname, "../..");
const SOURCES = ["lib", "capabilities"];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

// Static imports and re-exports, `import type` included; the specifier is the quoted relative path.
const RELATIVE_IMPORT = /^\s*(?:import|export)\b[^"';]*?\bfrom\s*["'](\.{1,2}\/[^"']*)["']/gm;

/** The file a relative specifier names: x.ts, or x/index.ts for a directory. */
function target(from: string, specifier: string, files: Set<string>): string | undefined {
  const base = resolve(dirname(from), specifier);
  return [`${base}.ts`, join(base, "index.ts")].find(f => files.has(f));
}

/** Each file's relative imports, keyed and valued by path from the repo root. */
function importGraph(sources: Record<string, string>): Map<string, string[]> {
  const files = new Set(Object.keys(sources).map(f => resolve(ROOT, f)));
  const graph = new Map<string, string[]>();
  for (const [file, text] of Object.entries(sources)) {
    const from = resolve(ROOT, file);
    const to = [...text.matchAll(RELATIVE_IMPORT)]
      .map(m => target(from, m[1], files))
      .filter((f): f is string => f !== undefined)
      .map(f => relative(ROOT, f));
    graph.set(file, to);
  }
  return graph;
}

/** The first cycle found, as the files around it (first repeated at the end), or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): string[] | undefined => {
    const at = path.indexOf(file);
    if (at >= 0) return [...path.slice(at), file];
    if (done.has(file)) return undefined;
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(file);
    return undefined;
  };
  for (const file of [...graph.keys()].sort()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

function repoSources(): Record<string, string> {
  const files = SOURCES.flatMap(d => tsFiles(join(ROOT, d)));
  return Object.fromEntries(files.map(f => [relative(ROOT, f), readFileSync(f, "utf8")]));
}

describe("import graph", () => {
  it("finds a cycle through an import type and names its files", () => {
    const graph = importGraph({
      "lib/a.ts": 'import { b } from "./b";\n',
      "lib/b.ts": 'import type { C } from "./sub/c";\n',
      "lib/sub/c.ts": 'export { a } from "../a";\n',
      "lib/sub/d.ts": 'import { a } from "../a";\n',
    });
    expect(findCycle(graph)).toEqual(["lib/a.ts", "lib/b.ts", "lib/sub/c.ts", "lib/a.ts"]);
  });

  it("resolves a directory import to its index.ts and finds no cycle in a chain", () => {
    const graph = importGraph({
      "lib/x.ts": 'import {\n  y,\n} from "./dir";\n',
      "lib/dir/index.ts": 'import { z } from "../z";\n',
      "lib/z.ts": "export const z = 1;\n",
    });
    expect(graph.get("lib/x.ts")).toEqual(["lib/dir/index.ts"]);
    expect(findCycle(graph)).toBeUndefined();
  });

  it("lib/ and capabilities/ have no import cycle", () => {
    const graph = importGraph(repoSources());
    expect(graph.get("capabilities/flink.ts")).toContain("lib/admission.ts");
    expect(findCycle(graph)).toBeUndefined();
  });
});

describe("eslint layer rule", () => {
  it("lib/ and capabilities/ lint with no error", { timeout: 180_000 }, async () => {
    const results = await new ESLint({ cwd: ROOT }).lintFiles(SOURCES);
    expect(results.length).toBeGreaterThan(50);
    const errors = results.flatMap(r =>
      r.messages
        .filter(m => m.severity === 2)
        .map(m => `${relative(ROOT, r.filePath)}:${m.line} ${m.ruleId}: ${m.message}`),
    );
    expect(errors).toEqual([]);
  });

  it("lib/api importing lib/reconcile is an error naming the layer rule", async () => {
    // An in-memory file is outside the TypeScript project, so typed parsing and the typed rule are off here.
    const eslint = new ESLint({
      cwd: ROOT,
      overrideConfig: {
        languageOptions: { parserOptions: { projectService: false, project: null } },
        rules: { "@typescript-eslint/no-floating-promises": "off" },
      },
    });
    const lint = (text: string) => eslint.lintText(text, { filePath: join(ROOT, "lib/api/x.ts") });
    const [bad] = await lint(
      'import { canonical } from "../reconcile/changes";\nexport const c = canonical;\n',
    );
    expect(bad.messages.map(m => [m.ruleId, m.severity])).toEqual([["no-restricted-imports", 2]]);
    expect(bad.messages[0].message).toContain("lib/api is the bottom layer");
    const [good] = await lint('import { GROUP } from "./resources";\nexport const g = GROUP;\n');
    expect(good.messages).toEqual([]);
  });
});
