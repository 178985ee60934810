import { describe, expect, it } from "vitest";
import { validateFlinkDeployment } from "../../../lib/validation/flinkdeployment";
import { validateFlinkSessionJob } from "../../../lib/validation/flinksessionjob";
import { parseHttpHeaders } from "../../../lib/api/http-headers";
import { errorsOf, formatIssue, warningsOf } from "../../../lib/validation/issues";
import { ARTIFACTS, application, session, sessionJob } from "./fixtures";

const KEY = "kubernetes.operator.user.artifacts.http.header";
const PATH = `spec.flinkConfiguration["${KEY}"]`;
const HIDDEN = " (the value is not shown: headers often hold credentials)";

describe("parseHttpHeaders", () => {
  it("reads Flink's map syntax, quotes and all", () => {
    expect(parseHttpHeaders("'Authorization:''Bearer abc:def''', X-Team:data")).toEqual({
      headers: [
        ["Authorization", "Bearer abc:def"],
        ["X-Team", "data"],
      ],
      problems: [],
    });
    expect(parseHttpHeaders(undefined)).toEqual({ headers: [], problems: [] });
  });

  it.each([
    [
      "Authorization Bearer s3cr3t",
      "header 1 is not a Name:value pair (quote a value that holds ':' or ',')",
    ],
    [
      "X-A:1,Authorization:Bearer s3cr3t:x",
      "header 2 is not a Name:value pair (quote a value that holds ':' or ',')",
    ],
    [":s3cr3t", "header 1 has an empty name"],
    ["X Token:s3cr3t", "header 1: a name may only hold letters, digits and !#$%&'*+-.^_`|~"],
    [
      "X-Token:s3cr3t\r\nX-Evil 1",
      "header 1: its value holds a line break or another control character",
    ],
    ["X-Token:s3cr3t\u0000", "header 1: its value holds a line break or another control character"],
    ["X-Token:", "header 1 has an empty value"],
    ["Host:s3cr3t.example.com", "header 1: Host is set by the fetcher itself"],
    ["'X-Token:s3cr3t", "a quote is not closed"],
  ])("%j: %s", (value, problem) => {
    const parsed = parseHttpHeaders(value);
    expect(parsed.problems).toEqual([problem]);
    expect(parsed.problems.join()).not.toContain("s3cr3t");
  });
});

describe("the header option at admission", () => {
  it("denies a malformed value of a session job, with its field path and without the value", () => {
    const job = sessionJob();
    job.spec.flinkConfiguration = { [KEY]: "Authorization Bearer s3cr3t" };
    const errors = errorsOf(
      validateFlinkSessionJob(job, { session: session(), artifacts: ARTIFACTS }),
    ).map(formatIssue);
    expect(errors).toEqual([
      `${PATH}: header 1 is not a Name:value pair (quote a value that holds ':' or ',')${HIDDEN}`,
    ]);
  });

  it("denies a malformed value of a FlinkDeployment, every problem at once", () => {
    const dep = application();
    dep.spec.flinkConfiguration[KEY] = ":s3cr3t,X-Token:s3cr3t\nX 1";
    expect(errorsOf(validateFlinkDeployment(dep)).map(formatIssue)).toEqual([
      `${PATH}: header 1 has an empty name; header 2: its value holds a line break or another control character${HIDDEN}`,
    ]);
  });

  it("warns that an application's fetcher does not send it, and points at the Secret", () => {
    const dep = application();
    dep.spec.job.jarURI = "https://repo.example.com/job.jar";
    dep.spec.flinkConfiguration[KEY] = "Authorization:Bearer";
    const issues = validateFlinkDeployment(dep);
    expect(errorsOf(issues)).toEqual([]);
    expect(warningsOf(issues).map(formatIssue)).toEqual([
      `${PATH}: is not sent by the init container that fetches spec.job.jarURI, since a pod spec is readable by anyone who may read pods; put the headers in a Secret (key "headers", one "Name: value" a line) and name it in kubernetes.operator.artifact-fetcher.http-headers.secret`,
    ]);
  });

  it("checks the name of the headers Secret", () => {
    const dep = application();
    dep.spec.flinkConfiguration["kubernetes.operator.artifact-fetcher.http-headers.secret"] =
      "Jar_Token";
    expect(errorsOf(validateFlinkDeployment(dep)).map(formatIssue)).toEqual([
      `spec.flinkConfiguration["kubernetes.operator.artifact-fetcher.http-headers.secret"]: must be a Kubernetes object name (lowercase letters, digits, '-' and '.'), got "Jar_Token"`,
    ]);
  });
});
