import { describe, expect, it } from "vitest";
import { stripExceptionClass, summarizeFlinkErrors } from "../../lib/flink/errors";
import { flinkFeatures, parseFlinkVersion } from "../../lib/flink/version";

// Error bodies as Flink 1.20.5 and 2.3.0 sent them (stack traces shortened).
describe("summarizeFlinkErrors", () => {
  it("keeps the handler's message without the exception class", () => {
    const body = [
      "org.apache.flink.runtime.rest.handler.RestHandlerException: Only Jar files are allowed.\n\tat org.apache.flink.runtime.webmonitor.handlers.JarUploadHandler.lambda$handleRequest$0(JarUploadHandler.java:87)\n",
    ];
    expect(summarizeFlinkErrors(body)).toEqual(["Only Jar files are allowed."]);
  });

  it("unwraps internal errors to the exception inside", () => {
    const body = [
      "Internal server error.",
      "<Exception on server side:\njava.lang.UnsupportedOperationException: The DefaultScheduler does not support changing the parallelism without a job restart.\n\tat org.apache.flink.runtime.scheduler.SchedulerNG.requestJobResourceRequirements(SchedulerNG.java:216)\n\nEnd of exception on server side>",
    ];
    expect(summarizeFlinkErrors(body)).toEqual([
      "The DefaultScheduler does not support changing the parallelism without a job restart.",
    ]);
  });

  it("prefers the deepest cause", () => {
    const body = [
      "Internal server error.",
      "<Exception on server side:\norg.apache.flink.runtime.rest.handler.RestHandlerException: Could not execute application.\n\tat x.y(Z.java:1)\nCaused by: org.apache.flink.runtime.rest.handler.RestHandlerException: Jar file /tmp/nope.jar does not exist\n\t... 5 more\n\nEnd of exception on server side>",
    ];
    expect(summarizeFlinkErrors(body)).toEqual(["Jar file /tmp/nope.jar does not exist"]);
  });

  it("keeps plain messages as they are", () => {
    expect(summarizeFlinkErrors(["Not found: /nope"])).toEqual(["Not found: /nope"]);
    expect(
      stripExceptionClass("org.apache.flink.runtime.rest.NotFoundException: Job 42 not found"),
    ).toBe("Job 42 not found");
  });
});

describe("flinkFeatures", () => {
  it("knows the run body and response differences between 1.x and 2.x", () => {
    expect(flinkFeatures(parseFlinkVersion("1.19.3")).runRestoreField).toBe("restoreMode");
    expect(flinkFeatures(parseFlinkVersion("1.20.5")).runRestoreField).toBe("claimMode");
    expect(flinkFeatures(parseFlinkVersion("1.20.5"))).toMatchObject({
      legacyClaimMode: true,
      programArgsString: true,
    });
    expect(flinkFeatures(parseFlinkVersion("2.3.0"))).toMatchObject({
      runRestoreField: "claimMode",
      legacyClaimMode: false,
      programArgsString: false,
      legacyExceptionFields: false,
    });
    expect(parseFlinkVersion("v1_20")).toMatchObject({ major: 1, minor: 20, patch: 0 });
  });
});
