import typescriptEslint from "@typescript-eslint/eslint-plugin";
import tsParser from "@typescript-eslint/parser";
import path from "node:path";
import { fileURLToPath } from "node:url";
import js from "@eslint/js";
import { FlatCompat } from "@eslint/eslintrc";
import globals from "globals";

const __filename = fileURLToPath(import.meta.url);
const __dirname = path.dirname(__filename);
const compat = new FlatCompat({
  baseDirectory: __dirname,
  recommendedConfig: js.configs.recommended,
  allConfig: js.configs.all,
});

// Imports flow one way (docs/ARCHITECTURE.md, "Layers"): a module may import its own layer and those below it.
// Higher layers, lowest first; a layer's files may import none of the names above it.
const HIGHER = {
  api: ["flink", "settings", "builders", "validation", "reconcile", "artifacts", "admission"],
  middle: ["builders", "validation", "reconcile", "artifacts", "admission"],
  builders: ["validation", "reconcile", "artifacts", "admission"],
  validation: ["reconcile", "artifacts", "admission"],
  controllers: ["admission"],
};

/** A no-restricted-imports block for `files`, whose imports reach lib/ through `up` ("../" or "./"). */
function layer(files, up, higher, message) {
  const leaves = up === "./" ? "\\./" : "(\\.\\./)+";
  return {
    files,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            ...(higher.length ? [{ regex: `^${leaves}(${higher.join("|")})(/|$)`, message }] : []),
            {
              regex: "^(\\.\\./)+capabilities(/|$)",
              message: "capabilities/ is the top layer: lib/ never imports it.",
            },
          ],
        },
      ],
    },
  };
}

export default [
  {
    ignores: ["**/node_modules", "**/dist", "scripts/**", "test/**", "vitest.config.ts"],
  },
  ...compat.extends("eslint:recommended", "plugin:@typescript-eslint/recommended"),
  {
    plugins: {
      "@typescript-eslint": typescriptEslint,
    },

    languageOptions: {
      parser: tsParser,
      parserOptions: {
        projectService: {
          allowDefaultProject: ["eslint.config.mjs"],
        },
        tsconfigRootDir: __dirname,
        sourceType: "module",
      },
      globals: {
        ...globals.node,
      },
    },

    rules: {
      "@typescript-eslint/no-floating-promises": "error",
    },
  },

  layer(
    ["lib/api/**/*.ts"],
    "../",
    HIGHER.api,
    "lib/api is the bottom layer: it imports nothing from lib/ but itself and the leaf utilities; move what it needs into lib/api.",
  ),
  layer(
    ["lib/log.ts", "lib/cache.ts", "lib/suggest.ts"],
    "./",
    ["api", ...HIGHER.api],
    "lib/log, lib/cache and lib/suggest are leaf utilities beside the bottom layer: they import nothing from lib/.",
  ),
  layer(
    ["lib/flink/**/*.ts"],
    "../",
    HIGHER.middle,
    "lib/flink sits above lib/api only: it may not import settings, builders, validation, reconcile, artifacts or admission.",
  ),
  layer(
    ["lib/settings.ts"],
    "./",
    HIGHER.middle,
    "lib/settings sits above lib/api only: it may not import builders, validation, reconcile, artifacts or admission.",
  ),
  layer(
    ["lib/builders/**/*.ts"],
    "../",
    HIGHER.builders,
    "lib/builders sits below lib/validation: it may not import validation, reconcile, artifacts or admission.",
  ),
  layer(
    ["lib/validation/**/*.ts"],
    "../",
    HIGHER.validation,
    "lib/validation sits below the controllers: it may not import reconcile, artifacts or admission.",
  ),
  layer(
    ["lib/reconcile/**/*.ts", "lib/artifacts/**/*.ts"],
    "../",
    HIGHER.controllers,
    "lib/reconcile and lib/artifacts sit below lib/admission: they may not import it.",
  ),
  layer(["lib/admission.ts"], "./", [], ""),
];
