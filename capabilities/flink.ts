import { Capability } from "pepr";

export const FlinkOperator = new Capability({
  name: "flink-operator",
  description: "Flink FlinkDeployment and FlinkSessionJob admission and reconciliation",
});
