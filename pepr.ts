import { PeprModule } from "pepr";
import cfg from "./package.json";
import { FlinkOperator, denials } from "./capabilities/flink";

new PeprModule(cfg, [FlinkOperator], { afterHook: denials.afterHook });
