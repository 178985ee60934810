import { parseArgs } from "node:util";
import {
  flinkDown,
  flinkUp,
  isRunning,
  knownFlinkVersions,
  readSandboxState,
} from "./sandbox/flink-runtime";

const USAGE = `usage:
  tsx scripts/flink.ts up --flink <version> [--name N] [--taskmanagers N] [--slots N]
  tsx scripts/flink.ts down [--name N]
  tsx scripts/flink.ts status [--name N]
versions: ${knownFlinkVersions().join(", ")} (a prefix such as 1.20 or 2 picks the newest match)`;

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      flink: { type: "string" },
      name: { type: "string", default: "default" },
      taskmanagers: { type: "string", default: "1" },
      slots: { type: "string", default: "2" },
      help: { type: "boolean" },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (command === "up") {
    if (!values.flink) throw new Error(`--flink is required\n${USAGE}`);
    const started = Date.now();
    const state = await flinkUp({
      flink: values.flink,
      name: values.name,
      taskManagers: Number(values.taskmanagers),
      slotsPerTaskManager: Number(values.slots),
    });
    process.stderr.write(
      `Flink ${state.version} up in ${Math.round((Date.now() - started) / 1000)}s; logs in ${state.workDir}; stop with npm run flink:down\n`,
    );
    process.stdout.write(`${state.restUrl}\n`);
  } else if (command === "down") {
    const state = await flinkDown(values.name);
    process.stderr.write(
      state
        ? `stopped Flink ${state.version} (${state.restUrl})\n`
        : `no Flink sandbox named ${values.name}\n`,
    );
  } else if (command === "status") {
    const state = readSandboxState(values.name);
    if (!state) {
      process.stdout.write("not running\n");
      return;
    }
    const alive = state.processes.filter(isRunning).map(p => p.id);
    process.stdout.write(
      `${state.restUrl} Flink ${state.version}, running: ${alive.join(", ") || "nothing"}\n`,
    );
  } else {
    throw new Error(`unknown command ${command}\n${USAGE}`);
  }
}

main().catch(err => {
  process.stderr.write(`${err instanceof Error ? err.message : err}\n`);
  process.exit(1);
});
