import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const MANIFEST = fileURLToPath(new URL("../../docs/flink-service-account.yaml", import.meta.url));

/**
 * docs/flink-service-account.yaml (the service account with the JobManager's Role, each named `name`) for one
 * namespace, as separate objects: the RoleBinding's subject needs the namespace too.
 */
export function flinkServiceAccountObjects(namespace: string, name = "flink"): object[] {
  return parseAllDocuments(readFileSync(MANIFEST, "utf8")).map(d => {
    const obj = d.toJS();
    obj.metadata.name = name;
    obj.metadata.namespace = namespace;
    if (obj.roleRef) obj.roleRef.name = name;
    for (const s of obj.subjects ?? []) {
      s.name = name;
      s.namespace = namespace;
    }
    return obj;
  });
}

/** The same as a List, for one `kubectl apply`. */
export function flinkServiceAccount(namespace: string, name = "flink"): object {
  return { apiVersion: "v1", kind: "List", items: flinkServiceAccountObjects(namespace, name) };
}
