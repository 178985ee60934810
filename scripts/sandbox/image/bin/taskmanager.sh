#!/usr/bin/env bash
# taskmanager.sh start-foreground [args]: a standalone TaskManager; args (e.g. -D key=value) go to Flink.
. "$(dirname "$0")/config.sh"
flink_require_foreground "${1:-}"

args=(--configDir "$FLINK_CONF_DIR" "${@:2}")

flink_read_config
flink_resource_params GET_TM_RESOURCE_PARAMS "${args[@]:2}"
read -r -a dynamic <<<"$FLINK_RESOURCE_DYNAMIC_ARGS"
flink_run_console taskexecutor org.apache.flink.runtime.taskexecutor.TaskManagerRunner \
  taskmanager "${args[@]}" "${dynamic[@]}"
