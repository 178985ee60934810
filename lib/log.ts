import winston from "winston";

/** Operator logger: JSON lines on stderr so stdout stays free for command output. */
export const log = winston.createLogger({
  level: process.env.LOG_LEVEL ?? "info",
  format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
  transports: [
    new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) }),
  ],
});

/** A child logger that stamps every line with the resource it concerns. */
export function resourceLog(kind: string, namespace: string | undefined, name: string | undefined) {
  return log.child({ kind, namespace, name });
}
