#!/usr/bin/env bash
# jobmanager.sh start-foreground [host] [webui-port]: a standalone session cluster's JobManager.
. "$(dirname "$0")/config.sh"
flink_require_foreground "${1:-}"

args=(--configDir "$FLINK_CONF_DIR")
if [ -n "${2:-}" ]; then args+=(--host "$2"); fi
if [ -n "${3:-}" ]; then args+=(--webui-port "$3"); fi

flink_read_config
flink_resource_params GET_JM_RESOURCE_PARAMS "${args[@]:2}"
read -r -a dynamic <<<"$FLINK_RESOURCE_DYNAMIC_ARGS"
flink_run_console standalonesession org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint \
  jobmanager "${args[@]}" "${dynamic[@]}"
