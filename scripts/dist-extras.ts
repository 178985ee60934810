/*
 * Runs after `pepr build` (npm run build): adds to what it wrote in dist/ the service account Flink's pods run as,
 * and repairs the chart's webhook templates.
 *
 * - dist/pepr-module-<uuid>.yaml gets, for each namespace of package.json `flinkServiceAccount.namespaces`, the
 *   service account `flinkServiceAccount.name` with the Role a native JobManager needs and its RoleBinding
 *   (docs/flink-service-account.yaml; the namespaces must exist).
 * - The Helm chart gets the same as templates/flink-service-account.yaml and the values entry
 *   `flinkServiceAccount: {create, name, namespaces}` (values.yaml and values.schema.json).
 * - Pepr 1.1.4 turns every occurrence of the webhook timeout's digits ("10") and of "Fail" in the webhook
 *   configurations into template values, the CA bundle and the API path included: any other
 *   `admission.webhookTimeout` or `failurePolicy` would break them. Only the two fields stay templated.
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { flinkServiceAccountObjects } from "./sandbox/flink-rbac";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const DIST = join(REPO, "dist");
const MARK = "# The service account of Flink's pods (scripts/dist-extras.ts)";

interface BuildConfig {
  flinkServiceAccount: { name: string; namespaces: string[] };
  pepr: { webhookTimeout?: number; onError?: string };
}

const cfg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as BuildConfig;
const { name, namespaces } = cfg.flinkServiceAccount;

function manifests(): void {
  const file = readdirSync(DIST).find(f => /^pepr-module-.*\.yaml$/.test(f));
  if (!file) throw new Error("no dist/pepr-module-*.yaml: run pepr build first");
  const path = join(DIST, file);
  const built = readFileSync(path, "utf8").split(`\n---\n${MARK}`)[0].replace(/\n*$/, "\n");
  const extra = namespaces.flatMap(ns => flinkServiceAccountObjects(ns, name));
  writeFileSync(path, `${built}---\n${MARK}\n${extra.map(o => stringify(o)).join("---\n")}`);
}

function chartTemplate(): string {
  const objects = flinkServiceAccountObjects("__NAMESPACE__", "__NAME__");
  const body = objects
    .map(o => `---\n${stringify(o)}`)
    .join("")
    .replaceAll("__NAMESPACE__", "{{ $namespace }}")
    .replaceAll("__NAME__", "{{ $.Values.flinkServiceAccount.name }}");
  return [
    "{{- if .Values.flinkServiceAccount.create }}",
    "{{- range $namespace := .Values.flinkServiceAccount.namespaces }}",
    body.trimEnd(),
    "{{- end }}",
    "{{- end }}",
    "",
  ].join("\n");
}

const VALUES = `# The service account Flink's pods run as (spec.serviceAccount) with the Role a native JobManager needs, in
# each of these namespaces, which must exist (docs/rbac.md).
flinkServiceAccount:
  create: true
  name: '${name}'
  namespaces:
${namespaces.map(ns => `    - '${ns}'`).join("\n")}
`;

const SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    create: { type: "boolean" },
    name: { type: "string" },
    namespaces: { type: "array", items: { type: "string" } },
  },
  required: ["create", "name", "namespaces"],
};

/** Leaves the timeout and failure policy templated on their own fields only; elsewhere the built text. */
function repairWebhook(text: string): string {
  const timeout = String(cfg.pepr.webhookTimeout ?? 10);
  const policy = cfg.pepr.onError === "reject" ? "Fail" : "Ignore";
  return text
    .split("\n")
    .map(line =>
      /^\s*(timeoutSeconds|failurePolicy):/.test(line)
        ? line
        : line
            .replaceAll("{{ .Values.admission.webhookTimeout }}", timeout)
            .replaceAll("{{ .Values.admission.failurePolicy }}", policy),
    )
    .join("\n");
}

function chart(): void {
  const dir = readdirSync(DIST).find(f => f.endsWith("-chart"));
  if (!dir) throw new Error("no Helm chart in dist/: run pepr build first");
  const chartDir = join(DIST, dir);
  writeFileSync(join(chartDir, "templates", "flink-service-account.yaml"), chartTemplate());
  const valuesFile = join(chartDir, "values.yaml");
  const values = readFileSync(valuesFile, "utf8").split("# The service account Flink's")[0];
  writeFileSync(valuesFile, `${values.replace(/\n*$/, "\n")}${VALUES}`);
  const schemaFile = join(chartDir, "values.schema.json");
  const schema = JSON.parse(readFileSync(schemaFile, "utf8"));
  schema.definitions.Values.properties.flinkServiceAccount = {
    $ref: "#/definitions/FlinkServiceAccount",
  };
  schema.definitions.FlinkServiceAccount = SCHEMA;
  writeFileSync(schemaFile, `${JSON.stringify(schema, null, 2)}\n`);
  for (const file of ["mutation-webhook.yaml", "validation-webhook.yaml"]) {
    const path = join(chartDir, "templates", file);
    writeFileSync(path, repairWebhook(readFileSync(path, "utf8")));
  }
}

manifests();
chart();
