import { KubeConfig } from "@kubernetes/client-node";
import { Agent, request, type RequestOptions } from "node:https";

/**
 * The reconciler's Kubernetes API client: one keep-alive connection pool for every call. The fluent client
 * loads the kubeconfig and opens a new TLS connection (held open for 10 minutes) per call, which at a
 * thousand FlinkDeployments cost the operator gigabytes and the apiserver thousands of idle connections.
 * Errors are thrown as the fluent client throws them ({status, statusText, data}), so callers treat both alike.
 */
export interface ApiError {
  status: number;
  statusText: string;
  data: { message?: string; reason?: string } | string;
}

interface Connection {
  server: URL;
  agent: Agent;
  headers: Record<string, string>;
  /** When the credentials were read; tokens on disk are rotated (projected service account tokens). */
  at: number;
}

const CREDENTIALS_TTL_MS = 60_000;
let connection: Promise<Connection> | undefined;

async function connect(previous?: Connection): Promise<Connection> {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("no current cluster in the kubeconfig");
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const headers = Object.fromEntries(
    Object.entries(opts.headers ?? {}).map(([k, v]) => [k, String(v)]),
  );
  const agent =
    previous?.agent ??
    new Agent({
      keepAlive: true,
      maxSockets: 32,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      rejectUnauthorized: opts.rejectUnauthorized,
      servername: opts.servername,
    });
  return { server: new URL(cluster.server), agent, headers, at: Date.now() };
}

async function current(): Promise<Connection> {
  const c = await (connection ??= connect());
  if (Date.now() - c.at > CREDENTIALS_TTL_MS) connection = connect(c).catch(() => c);
  return connection;
}

/** The pool and credentials, for clients that talk to the apiserver over HTTP themselves (the service proxy). */
export async function apiConnection(): Promise<{
  server: URL;
  agent: Agent;
  headers: Record<string, string>;
}> {
  const c = await current();
  return { server: c.server, agent: c.agent, headers: c.headers };
}

export type ContentType =
  | "application/json"
  | "application/merge-patch+json"
  | "application/json-patch+json"
  | "application/apply-patch+yaml";

/** One API call; resolves with the parsed response body. */
export function call<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  contentType: ContentType = "application/json",
): Promise<T> {
  return send<T>(method, path, body, contentType, "application/json");
}

/**
 * A GET of a plain-text resource (a pod's log); resolves with the text as sent. The apiserver negotiates
 * the log subresource like any other (text/plain alone is answered 406) and then streams plain text.
 */
export function getText(path: string): Promise<string> {
  return send<string>("GET", path, undefined, "application/json", "*/*");
}

async function send<T>(
  method: string,
  path: string,
  body: unknown,
  contentType: ContentType,
  accept: "application/json" | "*/*",
): Promise<T> {
  const c = await current();
  const url = new URL(path, c.server);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: c.agent,
        headers: {
          ...c.headers,
          Accept: accept,
          "User-Agent": "flink-pepr-operator",
          ...(payload === undefined
            ? {}
            : { "Content-Type": contentType, "Content-Length": Buffer.byteLength(payload) }),
        },
      },
      res => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          if (ok && accept === "*/*") return resolve(text as T);
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // Not JSON: keep the text for the error.
          }
          if (ok) resolve(parsed as T);
          else
            reject({
              status,
              statusText: res.statusMessage ?? "",
              data: parsed as ApiError["data"],
            } satisfies ApiError);
        });
        res.on("error", reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url.pathname} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** Where a kind lives in the API. */
export interface Resource {
  prefix: string;
  plural: string;
  namespaced: boolean;
}

export const RESOURCES = {
  Deployment: { prefix: "/apis/apps/v1", plural: "deployments", namespaced: true },
  StatefulSet: { prefix: "/apis/apps/v1", plural: "statefulsets", namespaced: true },
  Ingress: { prefix: "/apis/networking.k8s.io/v1", plural: "ingresses", namespaced: true },
  Service: { prefix: "/api/v1", plural: "services", namespaced: true },
  ConfigMap: { prefix: "/api/v1", plural: "configmaps", namespaced: true },
  Pod: { prefix: "/api/v1", plural: "pods", namespaced: true },
  ServiceAccount: { prefix: "/api/v1", plural: "serviceaccounts", namespaced: true },
  Event: { prefix: "/api/v1", plural: "events", namespaced: true },
  Namespace: { prefix: "/api/v1", plural: "namespaces", namespaced: false },
  FlinkDeployment: {
    prefix: "/apis/flink.apache.org/v1beta1",
    plural: "flinkdeployments",
    namespaced: true,
  },
  FlinkSessionJob: {
    prefix: "/apis/flink.apache.org/v1beta1",
    plural: "flinksessionjobs",
    namespaced: true,
  },
} satisfies Record<string, Resource>;
export type Kind = keyof typeof RESOURCES;

/** Path of a collection or, with a name, of one object; query parameters appended as given. */
export function pathOf(
  kindName: Kind,
  namespace?: string,
  name?: string,
  query: Record<string, string> = {},
): string {
  const r: Resource = RESOURCES[kindName];
  const parts = [
    r.prefix,
    r.namespaced && namespace ? `namespaces/${encodeURIComponent(namespace)}` : "",
    r.plural,
    name ? encodeURIComponent(name) : "",
  ];
  const qs = new URLSearchParams(query).toString();
  return parts.filter(Boolean).join("/") + (qs ? `?${qs}` : "");
}

export const labelSelector = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
