import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderCrds } from "../../scripts/gen-crds";

const dir = join(__dirname, "../../crds");
const rendered = renderCrds();

/** Every node of a structural schema has a type, except where unknown fields are preserved or int-or-string. */
function untyped(node: any, path: string): string[] {
  if (!node || typeof node !== "object") return [];
  const here =
    node.type || node["x-kubernetes-int-or-string"] || node["x-kubernetes-preserve-unknown-fields"]
      ? []
      : [path];
  const props = Object.entries(node.properties ?? {}).flatMap(([k, v]) =>
    untyped(v, `${path}.${k}`),
  );
  const items = node.items ? untyped(node.items, `${path}[]`) : [];
  const values =
    typeof node.additionalProperties === "object"
      ? untyped(node.additionalProperties, `${path}{}`)
      : [];
  return [...here, ...props, ...items, ...values];
}

describe("generated CRDs", () => {
  it("are up to date with the zod schemas (run npm run gen:crds)", () => {
    expect(readdirSync(dir).sort()).toEqual(Object.keys(rendered).sort());
    for (const [file, text] of Object.entries(rendered))
      expect(readFileSync(join(dir, file), "utf8"), file).toBe(text);
  });

  it("stay small enough for client-side kubectl apply", () => {
    for (const text of Object.values(rendered))
      expect(Buffer.byteLength(text)).toBeLessThan(200 * 1024);
  });

  it("point every CEL rule at a field, so kubectl never reports one at <nil>", () => {
    for (const text of Object.values(rendered)) {
      const schema = parse(text).spec.versions[0].schema.openAPIV3Schema;
      const rules = [
        ...(schema["x-kubernetes-validations"] ?? []),
        ...schema.properties.spec["x-kubernetes-validations"],
      ];
      expect(rules.filter((r: any) => !r.fieldPath)).toEqual([]);
    }
  });

  it("are structural, with subresources, printer columns, names and categories", () => {
    const dep = parse(rendered["flinkdeployments.flink.apache.org.yaml"]);
    const job = parse(rendered["flinksessionjobs.flink.apache.org.yaml"]);
    for (const crd of [dep, job]) {
      const v = crd.spec.versions[0];
      expect(untyped(v.schema.openAPIV3Schema, "")).toEqual([]);
      expect(v.subresources.status).toEqual({});
      expect(v.additionalPrinterColumns.map((c: any) => c.name)).toEqual([
        "Job Status",
        "Lifecycle State",
        "Age",
      ]);
      expect(crd.spec.names.categories).toEqual(["flink"]);
    }
    expect(dep.spec.names.shortNames).toEqual(["flinkdep"]);
    expect(dep.spec.versions[0].subresources.scale).toEqual({
      specReplicasPath: ".spec.taskManager.replicas",
      statusReplicasPath: ".status.taskManager.replicas",
      labelSelectorPath: ".status.taskManager.labelSelector",
    });
    const spec = dep.spec.versions[0].schema.openAPIV3Schema.properties.spec;
    expect(spec.properties.job.properties.state.default).toBe("running");
    expect(spec.properties.job.properties.upgradeMode.default).toBe("stateless");
    expect(spec.properties.flinkConfiguration["x-kubernetes-preserve-unknown-fields"]).toBe(true);
    expect(spec["x-kubernetes-validations"].length).toBeGreaterThan(3);
  });
});
