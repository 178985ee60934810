/**
 * The service account `flink` that the reference's examples name in spec.serviceAccount, with the JobManager's
 * Role from docs/rbac.md (native mode creates TaskManager pods; Kubernetes HA keeps its ConfigMaps).
 */
export function flinkServiceAccount(namespace: string): object {
  const metadata = { name: "flink", namespace };
  return {
    apiVersion: "v1",
    kind: "List",
    items: [
      { apiVersion: "v1", kind: "ServiceAccount", metadata },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata,
        rules: [
          {
            apiGroups: [""],
            resources: ["pods"],
            verbs: ["get", "list", "watch", "create", "delete"],
          },
          {
            apiGroups: [""],
            resources: ["configmaps"],
            verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
          },
          { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get"] },
          { apiGroups: ["apps"], resources: ["deployments/finalizers"], verbs: ["update"] },
        ],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata,
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "flink" },
        subjects: [{ kind: "ServiceAccount", name: "flink", namespace }],
      },
    ],
  };
}
