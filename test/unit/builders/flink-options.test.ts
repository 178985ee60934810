import { quoteFlinkListItem, splitFlinkValue } from "../../../lib/api/flink-config";
import { describe, expect, it } from "vitest";
import { parseFlinkMap, roleKubernetesOptions } from "../../../lib/builders/flink-options";

describe("Flink's list and map syntax", () => {
  it("splits on the delimiter outside quotes, unquoting and trimming", () => {
    expect(splitFlinkValue("a; b ;c", ";")).toEqual(["a", "b", "c"]);
    expect(splitFlinkValue("'a;b';\"c\"\"d\";'it''s'", ";")).toEqual(["a;b", 'c"d', "it's"]);
    expect(splitFlinkValue("", ";")).toEqual([]);
    expect(() => splitFlinkValue("'open", ";")).toThrow(/unterminated/);
  });

  it("never quotes the value back in its errors: values may hold credentials", () => {
    expect(() => splitFlinkValue("'s3cr3t", ";", "k")).toThrow(/^k: unterminated ' quote$/);
    expect(() => parseFlinkMap("k", "a:b,s3cr3t")).toThrow(/^k: entry 2 is not a key:value pair$/);
  });

  it("quotes list items the way Flink reads them back", () => {
    const items = ["--input", "a;b", "it's", 'say "hi"'];
    expect(splitFlinkValue(items.map(quoteFlinkListItem).join(";"), ";")).toEqual(items);
  });

  it("reads maps and rejects entries without a key and a value", () => {
    expect(parseFlinkMap("k", "team:data, tier:control")).toEqual({
      team: "data",
      tier: "control",
    });
    expect(parseFlinkMap("k", undefined)).toEqual({});
    expect(() => parseFlinkMap("kubernetes.jobmanager.labels", "team")).toThrow(
      /kubernetes.jobmanager.labels/,
    );
  });
});

describe("roleKubernetesOptions", () => {
  it("reads the role's own keys and the shared ones", () => {
    const options = roleKubernetesOptions(
      {
        "kubernetes.service-account": "flink",
        "kubernetes.taskmanager.service-account": "flink-tm",
        "kubernetes.taskmanager.node-selector": "pool:flink",
        "kubernetes.taskmanager.annotations": "prometheus.io/scrape:true",
        "kubernetes.secrets": "s3-creds:/opt/secrets/s3",
        "kubernetes.env.secretKeyRef":
          "env:AWS_ACCESS_KEY_ID,secret:s3-creds,key:id;env:AWS_SECRET_ACCESS_KEY,secret:s3-creds,key:secret",
        "containerized.taskmanager.env.TZ": "UTC",
        "containerized.master.env.JM_ONLY": "1",
        "kubernetes.taskmanager.tolerations":
          "key:a,operator:Exists,effect:NoExecute,tolerationSeconds:30",
      },
      "taskmanager",
    );
    expect(options.serviceAccount).toBe("flink-tm");
    expect(options.nodeSelector).toEqual({ pool: "flink" });
    expect(options.annotations).toEqual({ "prometheus.io/scrape": "true" });
    expect(options.tolerations).toEqual([
      { key: "a", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
    ]);
    expect(options.env).toEqual([
      { name: "TZ", value: "UTC" },
      { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: "s3-creds", key: "id" } } },
      {
        name: "AWS_SECRET_ACCESS_KEY",
        valueFrom: { secretKeyRef: { name: "s3-creds", key: "secret" } },
      },
    ]);
    expect(options.volumes).toEqual([
      { name: "s3-creds-volume", secret: { secretName: "s3-creds" } },
    ]);
    expect(options.volumeMounts).toEqual([
      { name: "s3-creds-volume", mountPath: "/opt/secrets/s3" },
    ]);
  });

  it("falls back to the shared service account and has nothing else by default", () => {
    expect(roleKubernetesOptions({ "kubernetes.service-account": "flink" }, "jobmanager")).toEqual({
      labels: {},
      annotations: {},
      nodeSelector: {},
      tolerations: [],
      imagePullSecrets: [],
      serviceAccount: "flink",
      env: [],
      volumes: [],
      volumeMounts: [],
      entrypointArgs: "",
    });
  });
});
