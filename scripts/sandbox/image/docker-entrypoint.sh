#!/usr/bin/env bash
# Entrypoint of the sandbox's Flink images. Takes the commands and environment variables of the official
# Flink image: jobmanager, standalone-job, taskmanager, help, or any command run as is; FLINK_PROPERTIES,
# JOB_MANAGER_RPC_ADDRESS, TASK_MANAGER_NUMBER_OF_TASK_SLOTS, ENABLE_BUILT_IN_PLUGINS.

FLINK_HOME=${FLINK_HOME:-/opt/flink}
. "$FLINK_HOME/bin/config.sh"

usage() {
  echo "Usage: $(basename "$0") (jobmanager [host] | standalone-job [options] | taskmanager [args] | help)"
  echo "   or: $(basename "$0") <command> [args]   (run as is, e.g. bash -c \"kubernetes-jobmanager.sh kubernetes-session\")"
}

# Links the plugin jars named in ENABLE_BUILT_IN_PLUGINS (separated by ';') from opt/ into plugins/<name>/.
enable_built_in_plugins() {
  local jar name
  [ -n "${ENABLE_BUILT_IN_PLUGINS:-}" ] || return 0
  for jar in ${ENABLE_BUILT_IN_PLUGINS//;/ }; do
    name=${jar%.jar}
    if [ ! -e "$FLINK_OPT_DIR/$jar" ]; then
      echo "Plugin $jar does not exist in $FLINK_OPT_DIR. Exiting." >&2
      exit 1
    fi
    mkdir -p "$FLINK_PLUGINS_DIR/$name"
    ln -fs "$FLINK_OPT_DIR/$jar" "$FLINK_PLUGINS_DIR/$name/"
    echo "Enabled plugin $jar"
  done
}

trim() {
  local s=$1
  s=${s#"${s%%[![:space:]]*}"}
  echo "${s%"${s##*[![:space:]]}"}"
}

# The changes the environment asks for, as -D key=value words for BashJavaUtils. Like the official image,
# its container defaults (JobManager address, fixed blob and query ports) only apply to a configuration
# directory it can write: a read-only mounted configuration (an operator's ConfigMap) keeps its values.
config_changes() {
  local line key value
  CHANGES=()
  if [ "$CONF_WRITABLE" = yes ]; then
    CHANGES+=(-D "jobmanager.rpc.address=${JOB_MANAGER_RPC_ADDRESS:-$(hostname -f)}")
    CHANGES+=(-D blob.server.port=6124 -D query.server.port=6125)
  elif [ -n "${JOB_MANAGER_RPC_ADDRESS:-}" ]; then
    CHANGES+=(-D "jobmanager.rpc.address=$JOB_MANAGER_RPC_ADDRESS")
  fi
  if [ -n "${TASK_MANAGER_NUMBER_OF_TASK_SLOTS:-}" ]; then
    CHANGES+=(-D "taskmanager.numberOfTaskSlots=$TASK_MANAGER_NUMBER_OF_TASK_SLOTS")
  fi
  # FLINK_PROPERTIES: "key: value" lines; values may refer to environment variables ($VAR).
  while IFS= read -r line; do
    line=$(trim "$line")
    [ -n "$line" ] && [ "${line:0:1}" != "#" ] || continue
    key=$(trim "${line%%:*}")
    value=$(trim "${line#*:}")
    CHANGES+=(-D "$key=$(envsubst <<<"$value")")
  done <<<"${FLINK_PROPERTIES:-}"
}

# Applies CHANGES with Flink's own configuration parser; a read-only configuration directory is first
# copied to a writable one, which FLINK_CONF_DIR then names for everything started from here.
apply_config_changes() {
  local file entry copy result
  [ ${#CHANGES[@]} -gt 0 ] || return 0
  if [ "$CONF_WRITABLE" != yes ]; then
    copy=$(mktemp -d "${TMPDIR:-/tmp}/flink-conf.XXXXXX")
    # Files only: a ConfigMap volume's ..data links and timestamped directories stay behind.
    for entry in "$FLINK_CONF_DIR"/*; do
      [ -f "$entry" ] && cp -L "$entry" "$copy/"
    done
    [ "$(id -u)" = 0 ] && chown -R flink:flink "$copy"
    chmod 755 "$copy"
    FLINK_CONF_DIR=$copy
    export FLINK_CONF_DIR
  fi
  file=$FLINK_CONF_DIR/config.yaml
  if [ ! -e "$file" ] && [ -e "$FLINK_CONF_DIR/flink-conf.yaml" ]; then
    file=$FLINK_CONF_DIR/flink-conf.yaml
  fi
  result=$(flink_bash_java_utils UPDATE_AND_GET_FLINK_CONFIGURATION -flatten "${CHANGES[@]}") || exit 1
  echo "$result" >"$file"
}

# Runs the command as user flink when started as root, as the official image does.
run() {
  if [ "$(id -u)" = 0 ]; then
    export HOME=$FLINK_HOME USER=flink LOGNAME=flink
    exec setpriv --reuid=flink --regid=flink --init-groups -- "$@"
  fi
  exec "$@"
}

if [ $# -eq 0 ] || [ "$1" = help ]; then
  usage
  exit 0
fi

if [ -w "$FLINK_CONF_DIR" ]; then CONF_WRITABLE=yes; else CONF_WRITABLE=no; fi
enable_built_in_plugins
config_changes
apply_config_changes

case "$1" in
  jobmanager)
    echo "Starting Job Manager"
    run "$FLINK_BIN_DIR/jobmanager.sh" start-foreground "${@:2}"
    ;;
  standalone-job)
    echo "Starting Job Manager"
    run "$FLINK_BIN_DIR/standalone-job.sh" start-foreground "${@:2}"
    ;;
  taskmanager)
    echo "Starting Task Manager"
    run "$FLINK_BIN_DIR/taskmanager.sh" start-foreground "${@:2}"
    ;;
  *)
    run "$@"
    ;;
esac
