import { describe, expect, it } from "vitest";
import { classifyAddress, classifyHost } from "../../../lib/validation/hosts";
import { formatIssue } from "../../../lib/validation/issues";
import { sessionJarIssues } from "../../../lib/validation/uris";
import { ARTIFACTS } from "./fixtures";
import { HOST_TABLE } from "./host-table";

const jarIssues = (uri: string) => sessionJarIssues(uri, ARTIFACTS).map(formatIssue);

describe("jar hosts, as new URL reads them", () => {
  it.each(HOST_TABLE)("https://$written/job.jar", ({ written, shown, reason }) => {
    const uri = `https://${written}/job.jar`;
    expect(new URL(uri).hostname.replace(/^\[|\]$/g, "")).toBe(shown);
    expect(jarIssues(uri)).toEqual(
      reason
        ? [`spec.job.jarURI: host "${shown}" is ${reason}; jars must come from a public host`]
        : [],
    );
  });
});

describe("classifyAddress: addresses as a resolver returns them", () => {
  it("reads IPv4 carried in dotted form inside IPv6", () => {
    expect(classifyAddress("::ffff:127.0.0.1")).toEqual({
      allowed: false,
      reason: "an IPv4-mapped address of 127.0.0.1, which is loopback",
    });
    expect(classifyAddress("64:ff9b::100.100.100.200")).toEqual({
      allowed: false,
      reason:
        "a NAT64 (64:ff9b::/96) address of 100.100.100.200, which is shared address space (100.64.0.0/10, carrier-grade NAT)",
    });
  });

  it("drops a zone id", () => {
    expect(classifyAddress("fe80::1%eth0")).toEqual({
      allowed: false,
      reason: "link-local (fe80::/10)",
    });
  });

  it("refuses what is not an address", () => {
    expect(classifyAddress("example.com")).toEqual({
      allowed: false,
      reason: "not an IP address",
    });
  });

  it("admits the exceptions a policy names, and only those", () => {
    const policy = { allow: ["127.0.0.1", "10.1.0.0/16"] };
    expect(classifyAddress("127.0.0.1", policy)).toEqual({ allowed: true });
    expect(classifyAddress("10.1.200.3", policy)).toEqual({ allowed: true });
    expect(classifyAddress("127.0.0.2", policy)).toEqual({ allowed: false, reason: "loopback" });
    expect(classifyHost("localhost", policy)).toEqual({
      allowed: false,
      reason: "a loopback name",
    });
  });
});

describe("session jar URIs are checked totally", () => {
  it("reports a malformed escape in a local path instead of throwing", () => {
    expect(jarIssues("file:///opt/flink/artifacts/%E0.jar")).toEqual([
      'spec.job.jarURI: has a malformed percent-escape in its path, got "file:///opt/flink/artifacts/%E0.jar"',
    ]);
    expect(jarIssues("file:///opt/flink/artifacts/a%00.jar")).toEqual([
      'spec.job.jarURI: has a malformed percent-escape in its path, got "file:///opt/flink/artifacts/a%00.jar"',
    ]);
  });

  it("keeps encoded dot segments inside the artifacts directory", () => {
    expect(jarIssues("file:///opt/flink/artifacts/..%2F..%2Fetc/passwd")).toEqual([
      'spec.job.jarURI: local jars must be under the artifacts directory /opt/flink/artifacts, got "file:///opt/flink/artifacts/..%2F..%2Fetc/passwd"',
    ]);
  });
});
