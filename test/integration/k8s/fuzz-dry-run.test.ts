import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FUZZ_SEED, admittedManifests, deploymentArb } from "../../unit/fuzz-arbitraries";
import { runKubectl } from "./kubectl";
import { createNamespace, deleteNamespace } from "./reconcile-helpers";

const ns = `fuzz-dry-run-${Date.now()}`;
const SAMPLE = 50;

beforeAll(() => createNamespace(ns));
afterAll(() => deleteNamespace(ns));

/** The first SAMPLE admitted FlinkDeployments the unit fuzz test's arbitrary generates with the fixed seed. */
function admittedSample() {
  const out: { name: string; manifests: object[] }[] = [];
  for (const raw of fc.sample(deploymentArb, { seed: FUZZ_SEED, numRuns: 20 * SAMPLE })) {
    const manifests = admittedManifests(raw);
    if (!manifests) continue;
    const name = (raw.metadata as { name: string }).name;
    out.push({
      name,
      manifests: manifests.map(m => ({ ...m, metadata: { ...m.metadata, namespace: ns } })),
    });
    if (out.length === SAMPLE) break;
  }
  return out;
}

describe("fuzz: the manifests of admitted specs pass the apiserver", () => {
  it(`${SAMPLE} admitted generated FlinkDeployments: every manifest is accepted by a server-side dry run`, async () => {
    console.log(`fast-check seed ${FUZZ_SEED}`);
    const sample = admittedSample();
    expect(sample).toHaveLength(SAMPLE);
    const refused: string[] = [];
    let submitted = 0;
    for (const { name, manifests } of sample) {
      const r = await runKubectl(
        ["apply", "--server-side", "--dry-run=server", "--field-manager=fuzz", "-f", "-"],
        JSON.stringify({ apiVersion: "v1", kind: "List", items: manifests }),
      );
      submitted += manifests.length;
      if (r.code !== 0) refused.push(`${name}: ${r.stderr.trim()}`);
    }
    console.log(`${submitted} manifests of ${SAMPLE} FlinkDeployments submitted`);
    expect(refused).toEqual([]);
  }, 300_000);
});
