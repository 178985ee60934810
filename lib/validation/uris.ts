import { isIP } from "node:net";
import { posix } from "node:path";
import { Issue, error, warning } from "./issues";

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

/** Whether an IP literal is one a session job must never make the operator fetch from. */
export function isRestrictedAddress(ip: string): boolean {
  const v = isIP(ip);
  if (v === 4) {
    const [a, b] = ip.split(".").map(Number);
    return (
      a === 0 ||
      a === 127 ||
      a === 10 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      a >= 224
    );
  }
  if (v === 6) {
    const x = ip.toLowerCase();
    if (x.startsWith("::ffff:")) return isRestrictedAddress(x.slice(7));
    return (
      x === "::" ||
      x === "::1" ||
      /^fe[89ab]/.test(x) ||
      /^fe[c-f]/.test(x) ||
      /^f[cd]/.test(x) ||
      x.startsWith("ff")
    );
  }
  return false;
}

export interface ArtifactPolicy {
  allowedSchemes: string[];
  baseDir: string;
}

/**
 * Session job jars: only allowed schemes; local files only under the artifacts directory; http(s) hosts that are
 * not loopback, private, link-local or multicast (host names are resolved and checked again when fetching).
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
    const file = posix.normalize(decodeURIComponent(url.pathname));
    const base = posix.normalize(
      policy.baseDir.endsWith("/") ? policy.baseDir : `${policy.baseDir}/`,
    );
    if (url.host || !file.startsWith(base)) {
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
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (
      host === "" ||
      host === "localhost" ||
      host.endsWith(".localhost") ||
      isRestrictedAddress(host)
    ) {
      return [
        error(
          path,
          `host "${host}" is loopback, private, link-local or multicast; jars must come from a public host`,
        ),
      ];
    }
  }
  return [];
}
