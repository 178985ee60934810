import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { admitFlinkDeployment, admitFlinkSessionJob } from "../../lib/admission";
import { FlinkDeploymentSchema } from "../../lib/api/resources";
import {
  DEPLOYMENT_EXAMPLES,
  DNS_LABEL_1035,
  DNS_SUBDOMAIN,
  FUZZ_SEED,
  admittedManifests,
  defaulted,
  deploymentArb,
  sessionJobArb,
  sessionJobDefaulted,
} from "./fuzz-arbitraries";

// 10,000 generated objects in all: 6,000 FlinkDeployments, 4,000 FlinkSessionJobs.
const DEPLOYMENT_RUNS = 6000;
const SESSION_JOB_RUNS = 4000;

/** A denial is "<Kind> has N problem(s):" then one "- <path>: <message>" line per problem. */
function deniedPaths(message: string): string[] {
  const [head, ...lines] = message.split("\n- ");
  expect(head).toMatch(/^Flink(Deployment|SessionJob) has \d+ problems?:$/);
  return lines.map(line => {
    const path = line.slice(0, line.indexOf(": "));
    expect(line.indexOf(": "), line).toBeGreaterThan(0);
    expect(path, line).toMatch(/^(apiVersion|kind|metadata|spec|status)\b/);
    return path;
  });
}

describe("fuzz: admission and builders on generated objects", () => {
  beforeAll(() => console.log(`fast-check seed ${FUZZ_SEED}`));

  it(`FlinkDeployment (${DEPLOYMENT_RUNS} objects): admission never throws, denials name fields, admitted specs build valid manifests`, () => {
    let admitted = 0;
    fc.assert(
      fc.property(deploymentArb, raw => {
        const v = admitFlinkDeployment(defaulted(raw), { operatorConfig: {}, old: null });
        if (!v.allowed) {
          expect(deniedPaths(v.message).length).toBeGreaterThan(0);
          return;
        }
        const manifests = admittedManifests(raw);
        if (!manifests) return;
        admitted++;
        for (const m of manifests) {
          expect(m.apiVersion).toBeTruthy();
          expect(m.kind).toBeTruthy();
          const rule = m.kind === "Service" ? DNS_LABEL_1035 : DNS_SUBDOMAIN;
          expect(m.metadata?.name, `${m.kind} name`).toMatch(rule);
        }
      }),
      { seed: FUZZ_SEED, numRuns: DEPLOYMENT_RUNS },
    );
    console.log(`FlinkDeployment: ${admitted} of ${DEPLOYMENT_RUNS} admitted and built`);
    expect(admitted).toBeGreaterThan(DEPLOYMENT_RUNS / 20);
  }, 120_000);

  it(`FlinkSessionJob (${SESSION_JOB_RUNS} objects, with and without a session): admission never throws, denials name fields`, () => {
    const session = FlinkDeploymentSchema.parse(
      DEPLOYMENT_EXAMPLES.find(d => d.metadata && !(d.spec as { job?: unknown }).job),
    );
    let admitted = 0;
    fc.assert(
      fc.property(sessionJobArb, fc.boolean(), (raw, withSession) => {
        const v = admitFlinkSessionJob(
          sessionJobDefaulted(raw),
          withSession ? session : undefined,
          { operatorConfig: {}, old: null },
        );
        if (v.allowed) admitted++;
        else expect(deniedPaths(v.message).length).toBeGreaterThan(0);
      }),
      { seed: FUZZ_SEED, numRuns: SESSION_JOB_RUNS },
    );
    console.log(`FlinkSessionJob: ${admitted} of ${SESSION_JOB_RUNS} admitted`);
    expect(admitted).toBeGreaterThan(0);
  }, 120_000);
});
