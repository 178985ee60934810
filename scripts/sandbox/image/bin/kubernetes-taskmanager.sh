#!/usr/bin/env bash
# kubernetes-taskmanager.sh [-D key=value ...]: a TaskManager pod of Flink's native Kubernetes mode. The
# JobManager passes every derived option as a dynamic property already; they also size the JVM here.
. "$(dirname "$0")/config.sh"

args=("$@")

flink_read_config
flink_resource_params GET_TM_RESOURCE_PARAMS "${args[@]}"
flink_run_console kubernetes-taskmanager org.apache.flink.kubernetes.taskmanager.KubernetesTaskExecutorRunner \
  taskmanager --configDir "$FLINK_CONF_DIR" "${args[@]}"
