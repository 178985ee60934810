import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { flattenFlinkConfiguration } from "../../../lib/api/flink-config";
import { FlinkDeploymentSchema } from "../../../lib/api/resources";
import { effectiveFlinkConfiguration } from "../../../lib/builders/flink-conf";
import { OPTIONS } from "./helpers";

const SECTION = "kubernetes.operator.default-configuration.";

/**
 * An operator ConfigMap as users write it for the reference operator: the Helm chart's plain defaults, a
 * namespace section and version sections.
 */
const OPERATOR_CONFIG = {
  "taskmanager.numberOfTaskSlots": "1",
  "parallelism.default": "1",
  "metrics.reporters": "plain",
  [`${SECTION}namespace.team-a.metrics.reporters`]: "team-a",
  [`${SECTION}namespace.team-a.kubernetes.cluster-id`]: "not-yours",
  [`${SECTION}flink-version.v2_0+.execution.checkpointing.interval`]: "30 s",
  [`${SECTION}flink-version.v1_20.execution.checkpointing.interval`]: "1 min",
};

const root = join(__dirname, "../../fixtures/compat");
const examples = readdirSync(root).flatMap(folder =>
  readdirSync(join(root, folder)).flatMap(file =>
    parseAllDocuments(readFileSync(join(root, folder, file), "utf8"))
      .map(d => d.toJS())
      .filter(d => d?.kind === "FlinkDeployment" && !d.metadata.labels?.["flink.apache.org/canary"])
      .map(doc => ({ name: `${folder}/${file} ${doc.metadata.name}`, doc })),
  ),
);

function build(doc: any, namespace: string, operatorConfig: Record<string, string>) {
  const deployment = FlinkDeploymentSchema.parse({
    ...doc,
    metadata: { ...doc.metadata, namespace, uid: "u" },
  });
  return effectiveFlinkConfiguration(deployment, {
    ...OPTIONS,
    defaultConfiguration: operatorConfig,
  });
}

describe("the operator's default configuration on the reference examples", () => {
  it("covers every FlinkDeployment example of both folders", () => {
    expect(examples.length).toBeGreaterThanOrEqual(25);
  });

  it.each(examples)("$name: layered as the reference layers it", ({ doc }) => {
    const own = flattenFlinkConfiguration(doc.spec.flinkConfiguration ?? {}).config;
    const inTeamA = build(doc, "team-a", OPERATOR_CONFIG);
    const elsewhere = build(doc, "team-b", OPERATOR_CONFIG);

    // The namespace section reaches team-a only; the resource's own keys win over every layer.
    expect(inTeamA["metrics.reporters"]).toBe(own["metrics.reporters"] ?? "team-a");
    expect(elsewhere["metrics.reporters"]).toBe(own["metrics.reporters"] ?? "plain");
    expect(inTeamA["taskmanager.numberOfTaskSlots"]).toBe(
      own["taskmanager.numberOfTaskSlots"] ?? "1",
    );
    // The version sections: "v2_0+" for 2.x, the exact "v1_20" for 1.20; a job's own interval wins.
    const interval = doc.spec.flinkVersion === "v1_20" ? "1 min" : "30 s";
    expect(elsewhere["execution.checkpointing.interval"]).toBe(
      own["execution.checkpointing.interval"] ?? interval,
    );
    // Keys the operator owns stay the operator's, whatever a section says.
    expect(inTeamA["kubernetes.cluster-id"]).toBe(doc.metadata.name);
    // Flink's Java 17 options ship with every 1.19+ cluster; no operator key reaches Flink.
    expect(elsewhere["env.java.default-opts.all"]).toMatch(
      /--add-opens=java\.base\/java\.util=ALL-UNNAMED/,
    );
    expect(Object.keys(inTeamA).filter(k => k.startsWith("kubernetes.operator."))).toEqual([]);
  });

  it.each(examples)("$name: the same Java 17 options without any operator ConfigMap", ({ doc }) => {
    expect(build(doc, "default", {})["env.java.default-opts.all"]).toBe(
      build(doc, "team-a", OPERATOR_CONFIG)["env.java.default-opts.all"],
    );
  });
});
