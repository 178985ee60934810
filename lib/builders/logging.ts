import { FlinkDeploymentSpec } from "../api/spec";

/**
 * Log configuration used when spec.logConfiguration is absent. The config ConfigMap is mounted over the
 * image's conf directory and hides the image's own files, so the operator must ship a working one:
 * everything to stdout (kubectl logs) and to ${sys:log.file}, which the Flink UI's log view reads.
 */
const DEFAULT_LOG4J = `# Default of flink-pepr-operator; replace it with spec.logConfiguration["log4j-console.properties"].
monitorInterval = 30

rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = Stdout
rootLogger.appenderRef.file.ref = File

appender.stdout.name = Stdout
appender.stdout.type = Console
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = %d{ISO8601} %-5level [%t] %logger{1.} - %msg%n

appender.file.name = File
appender.file.type = RollingFile
appender.file.fileName = \${sys:log.file}
appender.file.filePattern = \${sys:log.file}.%i
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{ISO8601} %-5level [%t] %logger - %msg%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 100MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 5

# Libraries that are noisy at INFO.
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = WARN
logger.zookeeper.name = org.apache.zookeeper
logger.zookeeper.level = WARN
`;

const DEFAULT_LOGBACK = `<!-- Default of flink-pepr-operator; used only by images that run Flink with logback. -->
<configuration>
  <appender name="stdout" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%d{ISO8601} %-5level [%thread] %logger{36} - %msg%n</pattern>
    </encoder>
  </appender>
  <appender name="file" class="ch.qos.logback.core.FileAppender">
    <file>\${log.file}</file>
    <append>true</append>
    <encoder>
      <pattern>%d{ISO8601} %-5level [%thread] %logger - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="stdout"/>
    <appender-ref ref="file"/>
  </root>
</configuration>
`;

/** The log configuration files of the config ConfigMap: the user's, or both defaults when none is given. */
export function logConfigurationFiles(spec: FlinkDeploymentSpec): Record<string, string> {
  if (spec.logConfiguration && Object.keys(spec.logConfiguration).length > 0)
    return { ...spec.logConfiguration };
  return { "log4j-console.properties": DEFAULT_LOG4J, "logback-console.xml": DEFAULT_LOGBACK };
}
