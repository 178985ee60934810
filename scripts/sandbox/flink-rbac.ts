import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const MANIFEST = fileURLToPath(new URL("../../docs/flink-service-account.yaml", import.meta.url));

/**
 * docs/flink-service-account.yaml (the `flink` account with the JobManager's Role) for one namespace, as a List:
 * the RoleBinding's subject needs the namespace too.
 */
export function flinkServiceAccount(namespace: string): object {
  const items = parseAllDocuments(readFileSync(MANIFEST, "utf8")).map(d => {
    const obj = d.toJS();
    obj.metadata.namespace = namespace;
    for (const s of obj.subjects ?? []) s.namespace = namespace;
    return obj;
  });
  return { apiVersion: "v1", kind: "List", items };
}
