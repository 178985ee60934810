import type { V1Container, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { operatorSettings } from "../settings";

/** Where Flink looks for user jars; a fetched jar is placed here (mounted file by file, see below). */
const USRLIB_DIR = "/opt/flink/usrlib";
const ARTIFACT_FETCHER = "artifact-fetcher";
const VOLUME = "flink-artifacts";
const FETCH_DIR = "/flink-artifacts";
const HEADERS_VOLUME = "artifact-fetcher-headers";
const HEADERS_DIR = "/etc/artifact-fetcher";
/** The key of the headers Secret that holds the headers, one "Name: value" a line (curl's --header @file). */
const HEADERS_SECRET_KEY = "headers";

/** Default of kubernetes.operator.artifact-fetcher.s3.image; http(s) jars use artifact-fetcher.image (curl). */
const DEFAULT_S3_FETCHER_IMAGE = "amazon/aws-cli:2.22.0";

const HTTP_SCHEMES = ["http:", "https:"];
/** Flink names its S3 filesystems s3a and s3p; the AWS CLI knows them all as s3. */
const S3_SCHEMES = ["s3:", "s3a:", "s3p:"];

/** How a pod gets a remote job jar: an init container writes it to a shared emptyDir before Flink starts. */
export interface FetchedJar {
  /** The jar as the main container sees it, for pipeline.jars and the classpath. */
  localUri: string;
  initContainer: V1Container;
  /** The fetched jar's emptyDir, then the headers Secret when there is one. */
  volumes: V1Volume[];
  mainMount: V1VolumeMount;
}

/**
 * The fetch plan of a remote application jar, or undefined for a jar already in the image (local://,
 * file://) or a scheme the operator does not fetch. `config` supplies the kubernetes.operator.* options.
 */
export function fetchedJar(
  jarURI: string | undefined,
  config: Record<string, string>,
): FetchedJar | undefined {
  const url = parseUrl(jarURI);
  if (!url || (!HTTP_SCHEMES.includes(url.protocol) && !S3_SCHEMES.includes(url.protocol)))
    return undefined;

  const file = jarFileName(url);
  const target = `${FETCH_DIR}/${file}`;
  const settings = operatorSettings(config);
  const secret = HTTP_SCHEMES.includes(url.protocol)
    ? settings.string("artifact-fetcher.http-headers.secret")
    : undefined;
  const headers = secret ? headersFrom(secret) : undefined;
  const command = HTTP_SCHEMES.includes(url.protocol)
    ? [
        "curl",
        "--fail",
        "--silent",
        "--show-error",
        "--location",
        "--retry",
        "3",
        ...(headers ? ["--header", headers.argument] : []),
        "--output",
        target,
        url.href,
      ]
    : ["aws", "s3", "cp", `s3://${url.host}${url.pathname}`, target];
  const image = HTTP_SCHEMES.includes(url.protocol)
    ? settings.string("artifact-fetcher.image")
    : (settings.string("artifact-fetcher.s3.image") ?? DEFAULT_S3_FETCHER_IMAGE);
  return {
    localUri: `local://${USRLIB_DIR}/${file}`,
    initContainer: {
      name: ARTIFACT_FETCHER,
      image,
      command,
      volumeMounts: [{ name: VOLUME, mountPath: FETCH_DIR }, ...(headers ? [headers.mount] : [])],
    },
    volumes: [{ name: VOLUME, emptyDir: {} }, ...(headers ? [headers.volume] : [])],
    // One file, not the whole directory, so whatever the image already has in usrlib stays visible.
    mainMount: { name: VOLUME, mountPath: `${USRLIB_DIR}/${file}`, subPath: file, readOnly: true },
  };
}

/**
 * Headers come from a Secret the user owns, which curl reads as a file: a pod spec (argv, env values) is readable
 * by anyone who may read pods, a Secret only by those who may read Secrets.
 */
function headersFrom(secretName: string) {
  return {
    argument: `@${HEADERS_DIR}/${HEADERS_SECRET_KEY}`,
    mount: { name: HEADERS_VOLUME, mountPath: HEADERS_DIR, readOnly: true },
    volume: {
      name: HEADERS_VOLUME,
      secret: { secretName, items: [{ key: HEADERS_SECRET_KEY, path: HEADERS_SECRET_KEY }] },
    },
  };
}

function parseUrl(uri: string | undefined): URL | undefined {
  if (uri === undefined) return undefined;
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

/** The URL's last path segment, reduced to characters safe in a path; Flink only scans usrlib for *.jar. */
function jarFileName(url: URL): string {
  const segment = url.pathname.split("/").pop() ?? "";
  let last = segment;
  try {
    last = decodeURIComponent(segment);
  } catch {
    // A malformed escape stays as it is; the next line makes it path-safe anyway.
  }
  const safe = last.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "");
  const name = safe === "" ? "job.jar" : safe;
  return name.endsWith(".jar") ? name : `${name}.jar`;
}
