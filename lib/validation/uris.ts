import { posix } from "node:path";
import { HostPolicy, classifyHost } from "./hosts";
import { HTTP_HEADER_OPTION } from "../api/http-headers";
import type { OperatorSettings } from "../settings";
import { Issue, configPath, error, warning } from "./issues";

const APPLICATION_SCHEMES = ["local", "http", "https", "s3", "s3a", "s3p"];

function parseUri(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

/** Application clusters run a jar from the image (local://) or one the operator fetches before start. */
export function applicationJarIssues(jarURI: string | undefined): Issue[] {
  const path = "spec.job.jarURI";
  if (jarURI === undefined)
    return [
      warning(
        path,
        "is not set: the job's jar must already be on the image's classpath (/opt/flink/usrlib)",
      ),
    ];
  const url = parseUri(jarURI);
  if (!url)
    return [
      error(
        path,
        `must be a URI with a scheme such as local:///opt/flink/usrlib/job.jar, got "${jarURI}"`,
      ),
    ];
  const scheme = url.protocol.slice(0, -1);
  if (!APPLICATION_SCHEMES.includes(scheme)) {
    return [
      error(
        path,
        `scheme "${scheme}" is not supported for application clusters; use local:// for a jar in the image, or http(s):// or s3:// for a jar the operator fetches`,
      ),
    ];
  }
  return [];
}

/**
 * The init container that fetches an application's remote jar sends no headers from flinkConfiguration: whatever
 * the pod spec holds is readable by anyone who may read pods. Headers come from a Secret instead.
 */
export function applicationHeaderIssues(
  jarURI: string | undefined,
  own: Record<string, string>,
): Issue[] {
  const url = jarURI === undefined ? undefined : parseUri(jarURI);
  if (!(HTTP_HEADER_OPTION in own) || (url?.protocol !== "http:" && url?.protocol !== "https:"))
    return [];
  return [
    warning(
      configPath(HTTP_HEADER_OPTION),
      'is not sent by the init container that fetches spec.job.jarURI, since a pod spec is readable by anyone who may read pods; put the headers in a Secret (key "headers", one "Name: value" a line) and name it in kubernetes.operator.artifact-fetcher.http-headers.secret',
    ),
  ];
}

export interface ArtifactPolicy {
  allowedSchemes: string[];
  baseDir: string;
  /** Exceptions to the host rules (user.artifacts.allowed-internal-hosts); none by default. */
  hosts?: HostPolicy;
}

/**
 * The artifact policy from the operator's own configuration (ConfigMap and its sections, never a resource's
 * flinkConfiguration: a resource must not widen the policy for itself).
 */
export function artifactPolicy(operator: OperatorSettings): ArtifactPolicy {
  return {
    allowedSchemes: operator.list("user.artifacts.allowed-schemes"),
    baseDir: operator.string("user.artifacts.base.dir"),
    hosts: { allow: operator.list("user.artifacts.allowed-internal-hosts") },
  };
}

/** A path's percent-escapes decoded, or undefined when one is malformed (URL keeps them as written). */
function decodePath(pathname: string): string | undefined {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
}

/** A URL's host as messages show it: IPv6 without brackets. */
export const displayHost = (url: URL) => url.hostname.replace(/^\[|\]$/g, "");

/**
 * Session job jars: only allowed schemes; local files only under the artifacts directory; http(s) hosts that are
 * not loopback, private, link-local, multicast or otherwise local (lib/validation/hosts.ts). What a host name
 * resolves to is checked when the jar is fetched (lib/artifacts/fetch.ts).
 */
export function sessionJarIssues(jarURI: string | undefined, policy: ArtifactPolicy): Issue[] {
  const path = "spec.job.jarURI";
  if (jarURI === undefined) return [error(path, "is required")];
  const url = parseUri(jarURI);
  if (!url)
    return [
      error(path, `must be a URI with a scheme such as https://host/job.jar, got "${jarURI}"`),
    ];
  const scheme = url.protocol.slice(0, -1);
  if (scheme === "file" || scheme === "local") {
    const decoded = decodePath(url.pathname);
    if (decoded === undefined || decoded.includes("\0"))
      return [error(path, `has a malformed percent-escape in its path, got "${jarURI}"`)];
    if (url.host || !isUnder(decoded, policy.baseDir)) {
      return [
        error(
          path,
          `local jars must be under the artifacts directory ${policy.baseDir}, got "${jarURI}"`,
        ),
      ];
    }
    return [];
  }
  if (!policy.allowedSchemes.includes(scheme)) {
    return [
      error(
        path,
        `scheme "${scheme}" is not allowed; allowed: ${policy.allowedSchemes.join(", ")} and file:// under ${policy.baseDir} (operator option kubernetes.operator.user.artifacts.allowed-schemes)`,
      ),
    ];
  }
  if (scheme === "http" || scheme === "https") {
    const verdict = classifyHost(url.hostname, policy.hosts);
    if (!verdict.allowed)
      return [
        error(
          path,
          `host "${displayHost(url)}" is ${verdict.reason}; jars must come from a public host`,
        ),
      ];
  }
  return [];
}

/** Whether an absolute path, once normalized, lies under a directory. */
export function isUnder(file: string, dir: string): boolean {
  const base = posix.normalize(dir.endsWith("/") ? dir : `${dir}/`);
  return posix.normalize(file).startsWith(base);
}
