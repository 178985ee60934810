#!/usr/bin/env bash
# kubernetes-jobmanager.sh kubernetes-session|kubernetes-application [args]: the JobManager of Flink's
# native Kubernetes mode, as Flink's client starts it (bash -c "kubernetes-jobmanager.sh ..."). The
# entrypoint reads its configuration from $FLINK_CONF_DIR.
. "$(dirname "$0")/config.sh"

case "${1:-}" in
  kubernetes-session) main_class=org.apache.flink.kubernetes.entrypoint.KubernetesSessionClusterEntrypoint ;;
  kubernetes-application) main_class=org.apache.flink.kubernetes.entrypoint.KubernetesApplicationClusterEntrypoint ;;
  *)
    echo "Usage: kubernetes-jobmanager.sh kubernetes-session|kubernetes-application [args]" >&2
    exit 1
    ;;
esac
service=$1
args=("${@:2}")

flink_read_config
flink_resource_params GET_JM_RESOURCE_PARAMS "${args[@]}"
read -r -a dynamic <<<"$FLINK_RESOURCE_DYNAMIC_ARGS"
flink_run_console "$service" "$main_class" jobmanager "${dynamic[@]}" "${args[@]}"
