#!/usr/bin/env bash
# Sourced by the start scripts of the sandbox's Flink images. Defines paths and functions only; the
# configuration is read when a script calls flink_read_config.

FLINK_HOME=${FLINK_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)}
FLINK_BIN_DIR=$FLINK_HOME/bin
FLINK_LIB_DIR=${FLINK_LIB_DIR:-$FLINK_HOME/lib}
FLINK_OPT_DIR=${FLINK_OPT_DIR:-$FLINK_HOME/opt}
FLINK_PLUGINS_DIR=${FLINK_PLUGINS_DIR:-$FLINK_HOME/plugins}
FLINK_CONF_DIR=${FLINK_CONF_DIR:-$FLINK_HOME/conf}
# Flink's entrypoints find the configuration, plugins and user jars through these.
export FLINK_HOME FLINK_BIN_DIR FLINK_LIB_DIR FLINK_OPT_DIR FLINK_PLUGINS_DIR FLINK_CONF_DIR

if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
  JAVA_RUN=$JAVA_HOME/bin/java
else
  JAVA_RUN=java
fi

flink_classpath() {
  local jar classpath=""
  for jar in "$FLINK_LIB_DIR"/*.jar; do
    classpath=${classpath:+$classpath:}$jar
  done
  echo "$classpath"
}

# Runs one of Flink's BashJavaUtils commands against $FLINK_CONF_DIR and prints its result lines.
flink_bash_java_utils() {
  local command=$1 output
  shift
  if ! output=$("$JAVA_RUN" -classpath "$(flink_classpath)" \
    org.apache.flink.runtime.util.bash.BashJavaUtils "$command" --configDir "$FLINK_CONF_DIR" "$@" 2>&1); then
    echo "[ERROR] Flink's BashJavaUtils $command failed:" >&2
    echo "$output" >&2
    return 1
  fi
  sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p' <<<"$output"
}

# The configuration as Flink reads it, one flat "key: value" per line (nested YAML flattened by Flink).
flink_read_config() {
  FLINK_CONFIG=$(flink_bash_java_utils UPDATE_AND_GET_FLINK_CONFIGURATION -flatten) || exit 1
}

# flink_config_value KEY DEFAULT: the value of KEY (YAML quotes removed), or DEFAULT when unset.
flink_config_value() {
  local value
  value=$(awk -v key="$1: " 'index($0, key) == 1 { v = substr($0, length(key) + 1) } END { print v }' \
    <<<"$FLINK_CONFIG")
  if [[ $value == \'*\' ]]; then
    value=${value:1:${#value}-2}
    value=${value//\'\'/\'}
  elif [[ $value == \"*\" ]]; then
    value=${value:1:${#value}-2}
  fi
  echo "${value:-$2}"
}

# JVM options for a role (jobmanager, taskmanager, client): the default and user options of Flink's
# env.java.* keys, unless FLINK_ENV_JAVA_OPTS[_JM|_TM|_CLI] in the environment replace them.
flink_java_opts() {
  local all role_opts
  if [ -n "${FLINK_ENV_JAVA_OPTS:-}" ]; then
    all=$FLINK_ENV_JAVA_OPTS
  else
    all="$(flink_config_value env.java.default-opts.all '') $(flink_config_value env.java.opts.all "$(flink_config_value env.java.opts '')")"
  fi
  case $1 in
    jobmanager) role_opts=${FLINK_ENV_JAVA_OPTS_JM:-"$(flink_config_value env.java.default-opts.jobmanager '') $(flink_config_value env.java.opts.jobmanager '')"} ;;
    taskmanager) role_opts=${FLINK_ENV_JAVA_OPTS_TM:-"$(flink_config_value env.java.default-opts.taskmanager '') $(flink_config_value env.java.opts.taskmanager '')"} ;;
    client) role_opts=${FLINK_ENV_JAVA_OPTS_CLI:-$(flink_config_value env.java.opts.client '')} ;;
    *) role_opts="" ;;
  esac
  echo "-XX:+IgnoreUnrecognizedVMOptions $all $role_opts"
}

# flink_resource_params GET_JM_RESOURCE_PARAMS|GET_TM_RESOURCE_PARAMS [args]: Flink's memory model
# turned into JVM flags (FLINK_RESOURCE_JVM_ARGS) and the derived options (FLINK_RESOURCE_DYNAMIC_ARGS,
# "-D key=value" words), from the configuration and the dynamic properties among the args.
flink_resource_params() {
  local result
  result=$(flink_bash_java_utils "$@") || exit 1
  if [ "$(wc -l <<<"$result")" -lt 2 ]; then
    echo "[ERROR] $1 gave no JVM parameters and dynamic properties: $result" >&2
    exit 1
  fi
  FLINK_RESOURCE_JVM_ARGS=$(tail -n 2 <<<"$result" | head -n 1)
  FLINK_RESOURCE_DYNAMIC_ARGS=$(tail -n 1 <<<"$result")
}

# flink_run_console SERVICE MAIN_CLASS ROLE [args]: runs a Flink process in the foreground (exec), logging
# to stdout and to $FLINK_LOG_DIR/flink-<user>-<service>-<host>.log (the file Flink's web UI shows).
flink_run_console() {
  local service=$1 main_class=$2 role=$3
  shift 3
  local log_dir=${FLINK_LOG_DIR:-$(flink_config_value env.log.dir "$FLINK_HOME/log")}
  mkdir -p "$log_dir"
  local host=${HOSTNAME:-$(hostname)}
  local log="$log_dir/flink-$(id -un 2>/dev/null || id -u)-$service-$host.log"
  local log4j="$FLINK_CONF_DIR/log4j-console.properties"
  local jvm_args java_opts
  read -r -a jvm_args <<<"${JVM_ARGS:-} ${FLINK_RESOURCE_JVM_ARGS:-}"
  read -r -a java_opts <<<"$(flink_java_opts "$role")"
  export ROOT_LOG_LEVEL=${ROOT_LOG_LEVEL:-$(flink_config_value env.log.level INFO)}
  export MAX_LOG_FILE_NUMBER=${MAX_LOG_FILE_NUMBER:-$(flink_config_value env.log.max 10)}
  echo "Starting $service as a console application on host $host."
  exec "$JAVA_RUN" "${jvm_args[@]}" "${java_opts[@]}" \
    "-Dlog.file=$log" \
    "-Dlog4j.configuration=file:$log4j" \
    "-Dlog4j.configurationFile=file:$log4j" \
    "-Dlogback.configurationFile=file:$FLINK_CONF_DIR/logback-console.xml" \
    -classpath "$(flink_classpath)" "$main_class" "$@"
}

flink_require_foreground() {
  if [ "$1" != "start-foreground" ]; then
    echo "$(basename "$0"): only start-foreground is supported in this image (got '$1')" >&2
    exit 1
  fi
}
