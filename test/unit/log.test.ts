import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import winston from "winston";
import { log, resourceLog } from "../../lib/log";
import { parseOperatorConfig } from "../../lib/reconcile/operator-config";

/** What the operator's own logger writes, line by line, parsed. */
let lines: Array<Record<string, unknown>>;
let capture: winston.transport;
const stderr = log.transports[0];

beforeEach(() => {
  lines = [];
  capture = new winston.transports.Stream({
    stream: new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  });
  log.add(capture);
  stderr.silent = true;
});
afterEach(() => {
  log.remove(capture);
  stderr.silent = false;
});

describe("the operator log redacts configuration values", () => {
  it("in fields named like secrets, at any depth", () => {
    const meta = {
      headers: { Authorization: "Bearer s3cr3t" },
      nested: { apiKey: "s3cr3t", password: "s3cr3t", retries: 3 },
      token: "s3cr3t",
    };
    log.warn("fetch failed", meta);
    expect(lines[0]).toMatchObject({
      message: "fetch failed",
      headers: "[redacted]",
      nested: { apiKey: "[redacted]", password: "[redacted]", retries: 3 },
      token: "[redacted]",
    });
    // The caller's object is left as it was.
    expect(meta.token).toBe("s3cr3t");
  });

  it("in a flinkConfiguration: keys stay, values go", () => {
    resourceLog("FlinkDeployment", "ns", "x").info("spec", {
      flinkConfiguration: { "kubernetes.operator.user.artifacts.http.header": "X-Token:s3cr3t" },
    });
    expect(lines[0]).toMatchObject({
      kind: "FlinkDeployment",
      namespace: "ns",
      name: "x",
      flinkConfiguration: { "kubernetes.operator.user.artifacts.http.header": "[redacted]" },
    });
  });

  it("in messages: quoted fragments after a configuration key, line by line", () => {
    log.info(
      'spec generation 2 is invalid: spec.flinkConfiguration["kubernetes.operator.reconcile.interval"]: must be a duration such as "30 s" or "5 min", got "s3cr3t"; spec.flinkConfiguration["a.b"]: got "s3cr3t"\nspec.job.upgradeMode: must be one of stateless, savepoint, last-state, got "laststate"',
    );
    expect(lines[0].message).toBe(
      'spec generation 2 is invalid: spec.flinkConfiguration["kubernetes.operator.reconcile.interval"]: must be a duration such as "[redacted]" or "[redacted]", got "[redacted]"; spec.flinkConfiguration["a.b"]: got "[redacted]"\nspec.job.upgradeMode: must be one of stateless, savepoint, last-state, got "laststate"',
    );
  });

  it("in string and error fields the same way", () => {
    log.error("reconcile failed", {
      error: new Error('spec.flinkConfiguration["k.v"]: got "s3cr3t"'),
      detail: 'spec.flinkConfiguration["k.v"]: got "s3cr3t"',
    });
    expect(JSON.stringify(lines[0])).not.toContain("s3cr3t");
    expect(lines[0].error).toBe('spec.flinkConfiguration["k.v"]: got "[redacted]"');
  });

  it("in what the operator ConfigMap's reader warns about", () => {
    parseOperatorConfig({ "config.yaml": "a.b: s3cr3t\na:\n  b: other" });
    expect(lines.map(l => l.message)).toEqual([
      'operator ConfigMap config.yaml["a.b"]: is given twice with different values ("[redacted]" and "[redacted]")',
    ]);
  });
});
