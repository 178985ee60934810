import { randomBytes } from "node:crypto";
import { lookup as dnsLookup } from "node:dns/promises";
import { createWriteStream } from "node:fs";
import { realpath, rename, stat, unlink } from "node:fs/promises";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { allowsName, classifyAddress, classifyHost } from "../validation/hosts";
import { errorsOf } from "../validation/issues";
import { ArtifactPolicy, displayHost, isUnder, sessionJarIssues } from "../validation/uris";

/** Every address a name resolves to, as dns.lookup with `all` gives them. */
export type Resolver = (host: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolver: Resolver = host => dnsLookup(host, { all: true, verbatim: true });

export interface FetchOptions {
  /** Allowed schemes, the artifacts directory, host exceptions: the admission rules, applied again here. */
  policy: ArtifactPolicy;
  /** Where a remote jar is written: a temporary file beside it, renamed once complete. */
  destination: string;
  /** Sent to the jar's own origin only, never to where it redirects. */
  headers?: Array<[name: string, value: string]>;
  /** Default 100 MiB, what a session cluster accepts by default (rest.server.max-content-length). */
  maxBytes?: number;
  /** The whole fetch, redirects included; default 5 minutes. */
  timeoutMs?: number;
  /** Default 5. */
  maxRedirects?: number;
  resolve?: Resolver;
  /** Trusted certificate authorities instead of Node's bundle, for a repository with a private CA. */
  ca?: string;
}

export interface FetchedArtifact {
  /** The downloaded file, or a local jar itself (symbolic links resolved). */
  path: string;
  bytes: number;
}

/** Why a jar was not fetched. Messages name the URL without its query or user info, and never a header. */
export class ArtifactFetchError extends Error {
  override name = "ArtifactFetchError";
}

const MiB = 1024 * 1024;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A URL as messages show it: a query or user info may carry credentials. */
const shown = (url: URL) => `${url.protocol}//${url.host}${url.pathname}`;

/**
 * Fetches a session job's jar. Remote jars: the host is checked, resolved once, refused if any address it
 * resolves to is forbidden, and connected to at that address (so a second, different DNS answer cannot redirect
 * the connection); each redirect is checked the same way; size and time are capped. Local jars (file://,
 * local://) must be files under the artifacts directory, symbolic links resolved.
 */
export async function fetchArtifact(uri: string, opts: FetchOptions): Promise<FetchedArtifact> {
  const refused = errorsOf(sessionJarIssues(uri, opts.policy));
  if (refused.length)
    throw new ArtifactFetchError(`jar ${uri}: ${refused.map(i => i.message).join("; ")}`);
  const url = new URL(uri);
  if (url.protocol === "file:" || url.protocol === "local:") return localArtifact(url, opts);
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new ArtifactFetchError(
      `jar ${shown(url)}: ${url.protocol}// jars are not supported by the operator's fetcher yet; serve the jar over https, or put it under ${opts.policy.baseDir} and use file://`,
    );
  return remoteArtifact(url, opts);
}

async function localArtifact(url: URL, opts: FetchOptions): Promise<FetchedArtifact> {
  const fail = (why: string) => new ArtifactFetchError(`jar ${shown(url)}: ${why}`);
  const maxBytes = opts.maxBytes ?? 100 * MiB;
  let path: string;
  let base: string;
  try {
    path = await realpath(decodeURIComponent(url.pathname));
    base = await realpath(opts.policy.baseDir);
  } catch (e) {
    throw fail(`does not exist (${(e as NodeJS.ErrnoException).code})`);
  }
  if (!isUnder(path, base))
    throw fail(`leads out of the artifacts directory ${opts.policy.baseDir} through a link`);
  const info = await stat(path);
  if (!info.isFile()) throw fail("is not a file");
  if (info.size > maxBytes) throw fail(`has ${info.size} bytes, more than the ${maxBytes} allowed`);
  return { path, bytes: info.size };
}

async function remoteArtifact(first: URL, opts: FetchOptions): Promise<FetchedArtifact> {
  const maxRedirects = opts.maxRedirects ?? 5;
  const timeoutMs = opts.timeoutMs ?? 5 * 60_000;
  const signal = AbortSignal.timeout(timeoutMs);
  let url = first;
  try {
    for (let redirects = 0; ; redirects++) {
      const address = await pinnedAddress(url, opts);
      const headers = url.origin === first.origin ? (opts.headers ?? []) : [];
      const res = await get(url, address, headers, signal, opts.ca);
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status)) {
        res.resume();
        url = redirectTarget(url, res.headers.location, opts.policy);
        if (redirects >= maxRedirects)
          throw new ArtifactFetchError(`jar ${shown(first)}: more than ${maxRedirects} redirects`);
        continue;
      }
      if (status !== 200) {
        res.resume();
        throw new ArtifactFetchError(`jar ${shown(url)}: HTTP ${status}`);
      }
      return await save(res, url, opts, signal);
    }
  } catch (e) {
    if (e instanceof ArtifactFetchError) throw e;
    if (signal.aborted)
      throw new ArtifactFetchError(`jar ${shown(first)}: not fetched within ${timeoutMs} ms`);
    const code = (e as NodeJS.ErrnoException).code;
    throw new ArtifactFetchError(`jar ${shown(url)}: ${code ?? (e as Error).message}`, {
      cause: e,
    });
  }
}

/** The address to connect to: the host's own if it is one, else the first of its resolved addresses. */
async function pinnedAddress(url: URL, opts: FetchOptions) {
  const host = displayHost(url);
  const verdict = classifyHost(url.hostname, opts.policy.hosts);
  if (!verdict.allowed)
    throw new ArtifactFetchError(`jar ${shown(url)}: host "${host}" is ${verdict.reason}`);
  const family = isIP(host);
  if (family) return { address: host, family };
  // A name the operator's configuration allows is trusted whatever it resolves to.
  const named = allowsName(host, opts.policy.hosts);
  let answers: Array<{ address: string; family: number }>;
  try {
    answers = await (opts.resolve ?? systemResolver)(host);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new ArtifactFetchError(`jar ${shown(url)}: cannot resolve "${host}" (${code})`);
  }
  if (!answers.length)
    throw new ArtifactFetchError(`jar ${shown(url)}: "${host}" resolves to no address`);
  // Any forbidden answer refuses the host: which address a later connection would pick is not ours to know.
  for (const a of named ? [] : answers) {
    const v = classifyAddress(a.address, opts.policy.hosts);
    if (!v.allowed)
      throw new ArtifactFetchError(
        `jar ${shown(url)}: host "${host}" resolves to ${a.address}, which is ${v.reason}`,
      );
  }
  return answers[0];
}

function redirectTarget(from: URL, location: string | undefined, policy: ArtifactPolicy): URL {
  let next: URL;
  try {
    next = new URL(location ?? "", from);
  } catch {
    throw new ArtifactFetchError(`jar ${shown(from)}: redirects to an invalid URL`);
  }
  if (!location) throw new ArtifactFetchError(`jar ${shown(from)}: redirects without a Location`);
  const scheme = next.protocol.slice(0, -1);
  if ((scheme !== "http" && scheme !== "https") || !policy.allowedSchemes.includes(scheme))
    throw new ArtifactFetchError(
      `jar ${shown(from)}: redirects to a ${scheme} URL; allowed: ${policy.allowedSchemes.join(", ")}`,
    );
  return next;
}

/** A GET connected to `pinned` whatever the name resolves to now; Host and TLS server name stay the URL's. */
function get(
  url: URL,
  pinned: { address: string; family: number },
  headers: Array<[string, string]>,
  signal: AbortSignal,
  ca: string | undefined,
): Promise<IncomingMessage> {
  const lookup: LookupFunction = (_host, options, callback) => {
    if (options.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const client = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, {
      lookup,
      signal,
      agent: false,
      headers: Object.fromEntries(headers),
      ...(ca ? { ca } : {}),
    });
    req.once("response", resolve);
    // Kept after the response too: an abort mid-body also errors the request.
    req.on("error", reject);
  });
}

/** Streams the body to a temporary file beside the destination, counting bytes, then renames it. */
async function save(
  res: IncomingMessage,
  url: URL,
  opts: FetchOptions,
  signal: AbortSignal,
): Promise<FetchedArtifact> {
  const maxBytes = opts.maxBytes ?? 100 * MiB;
  const declared = Number(res.headers["content-length"]);
  if (declared > maxBytes) {
    res.destroy();
    throw new ArtifactFetchError(
      `jar ${shown(url)}: declares ${declared} bytes, more than the ${maxBytes} allowed`,
    );
  }
  let bytes = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > maxBytes)
        done(new ArtifactFetchError(`jar ${shown(url)}: more than the ${maxBytes} bytes allowed`));
      else done(null, chunk);
    },
  });
  const temp = `${opts.destination}.${randomBytes(6).toString("hex")}.part`;
  try {
    await pipeline(res, cap, createWriteStream(temp, { flags: "wx", mode: 0o600 }), { signal });
    await rename(temp, opts.destination);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  return { path: opts.destination, bytes };
}
