import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { parse, stringify } from "yaml";
import { z } from "zod";
import { FlinkDeploymentObject, FlinkDeploymentSchema } from "../../../lib/api/resources";
import { BuildOptions } from "../../../lib/builders/options";

const FIXTURES = join(__dirname, "../../fixtures");
const GOLDEN = join(FIXTURES, "builders/golden");

export const JOB_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
export const OPTIONS: BuildOptions = { generation: 3, jobId: JOB_ID, deployId: "1767225600000" };

type RawDeployment = z.input<typeof FlinkDeploymentSchema> & {
  spec: NonNullable<z.input<typeof FlinkDeploymentSchema>["spec"]>;
};

/**
 * A FlinkDeployment from a fixture file, as the API server would hand it over: in namespace "flink", with
 * a uid, parsed by the API schema (which applies its defaults). Reference examples come from
 * test/fixtures/compat/1.15.0, the builders' own from test/fixtures/builders.
 */
export function fixture(
  file: string,
  edit: (raw: RawDeployment) => void = () => {},
): FlinkDeploymentObject {
  const path = existsSync(join(FIXTURES, "builders", file))
    ? join(FIXTURES, "builders", file)
    : join(FIXTURES, "compat/1.15.0", file);
  const raw: RawDeployment = parse(readFileSync(path, "utf8"));
  raw.metadata = {
    ...raw.metadata,
    namespace: "flink",
    uid: "0c6f1c1e-5b1e-4f5a-9d8e-2a3b4c5d6e7f",
    generation: 3,
  };
  edit(raw);
  return FlinkDeploymentSchema.parse(raw);
}

/**
 * Compares objects with test/fixtures/builders/golden/<name>.yaml (one YAML document each). Run with
 * UPDATE_GOLDEN=1 to write the files instead, then review the diff.
 */
export function expectGolden(name: string, objects: unknown[]): void {
  const text = objects.map(o => stringify(o, { lineWidth: 0 })).join("---\n");
  const file = join(GOLDEN, `${name}.yaml`);
  if (process.env.UPDATE_GOLDEN === "1") {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, text);
    return;
  }
  if (!existsSync(file))
    throw new Error(`${file} does not exist: run the test with UPDATE_GOLDEN=1 to create it`);
  expect(text).toBe(readFileSync(file, "utf8"));
}
