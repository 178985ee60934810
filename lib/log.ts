import winston from "winston";

const REDACTED = "[redacted]";

/** Names of fields that hold secrets, whatever else they hold. */
const SECRET_NAME =
  /pass(word|wd)?|secret|token|credential|authori[sz]ation|cookie|api[-_.]?key|private[-_.]?key|header/i;

/** A configuration key as issue paths write it: flinkConfiguration["state.backend.type"]. */
const CONFIG_KEY = /\["[^"\n]*"\]/;
/** A double-quoted fragment, or a configuration key (kept: a key says where, not what). */
const QUOTED = /\["[^"\n]*"\]|"(?:[^"\\\n]|\\.)*"/g;

/**
 * In each line that names a configuration key, every quoted fragment after the key is redacted: that is how
 * messages quote values ('got "often"'), and a configuration value may be a credential.
 */
export function redactText(text: string): string {
  return text
    .split("\n")
    .map(line => {
      const key = CONFIG_KEY.exec(line);
      if (!key) return line;
      const at = key.index + key[0].length;
      const rest = line.slice(at).replace(QUOTED, q => (q.startsWith("[") ? q : `"${REDACTED}"`));
      return line.slice(0, at) + rest;
    })
    .join("\n");
}

/**
 * What a log line may carry of a value: fields named like secrets are redacted whole; a flinkConfiguration keeps
 * its keys, not its values; strings go through redactText. Builds new values: callers' objects stay as they are.
 */
export function redactValue(value: unknown, key = ""): unknown {
  if (value === undefined || value === null) return value;
  if (SECRET_NAME.test(key)) return REDACTED;
  if (key === "flinkConfiguration" && typeof value === "object" && !Array.isArray(value))
    return Object.fromEntries(Object.keys(value).map(k => [k, REDACTED]));
  if (typeof value === "string") return redactText(value);
  if (value instanceof Error) return redactText(value.message);
  if (Array.isArray(value)) return value.map(v => redactValue(v));
  if (typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, k)]));
  return value;
}

const redact = winston.format(info => {
  for (const key of Object.keys(info))
    if (key !== "level") (info as Record<string, unknown>)[key] = redactValue(info[key], key);
  return info;
});

/** Operator logger: JSON lines on stderr so stdout stays free for command output; see redactValue. */
export const log = winston.createLogger({
  level: process.env.LOG_LEVEL ?? "info",
  format: winston.format.combine(redact(), winston.format.timestamp(), winston.format.json()),
  transports: [
    new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) }),
  ],
});

/** A child logger that stamps every line with the resource it concerns. */
export function resourceLog(kind: string, namespace: string | undefined, name: string | undefined) {
  return log.child({ kind, namespace, name });
}
