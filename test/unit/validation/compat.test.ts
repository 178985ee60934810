import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { applyDefaults, applySessionJobDefaults } from "../../../lib/admission";
import { validateFlinkDeployment } from "../../../lib/validation/flinkdeployment";
import { validateFlinkSessionJob } from "../../../lib/validation/flinksessionjob";
import { errorsOf, formatIssue } from "../../../lib/validation/issues";
import { ARTIFACTS } from "./fixtures";

const root = join(__dirname, "../../fixtures/compat");
const examples = readdirSync(root).flatMap(version =>
  readdirSync(join(root, version)).flatMap(file => {
    const docs = parseAllDocuments(readFileSync(join(root, version, file), "utf8")).map(d =>
      d.toJS(),
    );
    const session = docs.find(d => d.kind === "FlinkDeployment");
    return docs
      .filter(d => d.kind === "FlinkDeployment" || d.kind === "FlinkSessionJob")
      .map((doc, i) => ({
        name: `${version}/${file}#${i} ${doc.kind} ${doc.metadata.name}`,
        doc,
        session,
      }));
  }),
);

const errorsFor = (doc: any, session: any) =>
  errorsOf(
    doc.kind === "FlinkDeployment"
      ? validateFlinkDeployment(doc)
      : validateFlinkSessionJob(doc, { session, artifacts: ARTIFACTS }),
  ).map(formatIssue);

/** One way to break each kind, applied to every example. */
function breakIt(doc: any) {
  if (doc.kind === "FlinkSessionJob") {
    doc.spec.job.parallelism = 0;
    return "spec.job.parallelism: must be at least 1, got 0";
  }
  if (doc.metadata.labels?.["flink.apache.org/canary"]) {
    doc.metadata.labels["flink.apache.org/canary"] = "false";
    return "spec: is required";
  }
  doc.spec.jobManager = { ...doc.spec.jobManager, replicas: 0 };
  return "spec.jobManager.replicas: must be at least 1, got 0";
}

describe("reference operator examples", () => {
  it("covers both example folders and both kinds", () => {
    expect(examples.length).toBeGreaterThanOrEqual(40);
    expect(new Set(examples.map(e => e.doc.kind))).toEqual(
      new Set(["FlinkDeployment", "FlinkSessionJob"]),
    );
  });

  it.each(examples)("$name is accepted unchanged", ({ doc, session }) => {
    expect(errorsFor(doc, session)).toEqual([]);
  });

  it.each(examples)("$name is still accepted after defaulting", ({ doc, session }) => {
    const defaulted = structuredClone(doc);
    if (doc.kind === "FlinkDeployment") applyDefaults(defaulted);
    else applySessionJobDefaults(defaulted);
    expect(errorsFor(defaulted, session)).toEqual([]);
  });

  it.each(examples)("$name broken by a rule is denied", ({ doc, session }) => {
    const broken = structuredClone(doc);
    const expected = breakIt(broken);
    expect(errorsFor(broken, session)).toContain(expected);
  });
});
