import { describe, expect, it } from "vitest";
import { parseOperatorConfig } from "../../../lib/reconcile/operator-config";
import { operatorSettings } from "../../../lib/settings";

describe("operator configuration", () => {
  it("reads config.yaml and flink-conf.yaml from the operator ConfigMap, nested or flat", () => {
    const config = parseOperatorConfig({
      "flink-conf.yaml":
        "kubernetes.operator.reconcile.interval: 15 s\ntaskmanager.numberOfTaskSlots: 2\n",
      "config.yaml": "kubernetes:\n  operator:\n    reconcile:\n      interval: 30 s\n",
      "log4j-operator.properties": "ignored",
    });
    expect(config).toEqual({
      "kubernetes.operator.reconcile.interval": "30 s",
      "taskmanager.numberOfTaskSlots": "2",
    });
  });

  it("layers defaults, the operator ConfigMap and the resource's own keys", () => {
    const settings = operatorSettings(
      { "kubernetes.operator.reconcile.interval": "30 s" },
      { "kubernetes.operator.reconcile.interval": "5 s", "pipeline.name": "x" },
    );
    expect(settings.durationMs("reconcile.interval")).toBe(5000);
    expect(settings.durationMs("observer.progress-check.interval")).toBe(10_000);
    expect(settings.bool("jm-deployment-recovery.enabled")).toBe(true);
    expect(settings.list("user.artifacts.allowed-schemes")).toEqual(["https"]);
    expect(settings.raw["pipeline.name"]).toBeUndefined();
  });
});
