#!/usr/bin/env bash
# standalone-job.sh start-foreground [--job-classname C] [--job-id ID] [--fromSavepoint P]
#   [--allowNonRestoredState] [--host H] [-D key=value] [-- job args]: an application cluster's JobManager
#   running the job found on its classpath (lib/, usrlib/, pipeline.classpaths).
. "$(dirname "$0")/config.sh"
flink_require_foreground "${1:-}"

options=()
job_args=()
shift
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then
    job_args=("$@")
    break
  fi
  options+=("$1")
  shift
done

flink_read_config
# Only the options: a job argument that looks like -D must not change the cluster's memory.
flink_resource_params GET_JM_RESOURCE_PARAMS "${options[@]}"
read -r -a dynamic <<<"$FLINK_RESOURCE_DYNAMIC_ARGS"
flink_run_console standalonejob org.apache.flink.container.entrypoint.StandaloneApplicationClusterEntryPoint \
  jobmanager --configDir "$FLINK_CONF_DIR" "${dynamic[@]}" "${options[@]}" "${job_args[@]}"
