import { PeprModule } from "pepr";
import cfg from "./package.json";
import { FlinkOperator } from "./capabilities/flink";

new PeprModule(cfg, [FlinkOperator]);
