import type { V1Ingress } from "@kubernetes/client-node";
import { FlinkDeploymentObject } from "../api/resources";
import { restPort, sourceOf } from "./flink-conf";
import { childMetadata, commonLabels, restServiceName } from "./metadata";
import { BuildOptions } from "./options";

/**
 * The ingress URL a template gives for a resource: {{name}} and {{namespace}} filled in, host and path split.
 * A scheme ("https://host/path") is accepted, as the reference operator does, and dropped.
 */
export function renderIngressTemplate(template: string, name: string, namespace: string) {
  const url = template
    .replace(/^https?:\/\//i, "")
    .replace(/\{\{\s*name\s*\}\}/g, name)
    .replace(/\{\{\s*namespace\s*\}\}/g, namespace);
  const slash = url.indexOf("/");
  return {
    url,
    host: slash < 0 ? url : url.slice(0, slash),
    path: slash < 0 ? "" : url.slice(slash),
  };
}

const REWRITE_TARGET = "nginx.ingress.kubernetes.io/rewrite-target";

/**
 * Ingress <name> to the Flink UI and REST API, from spec.ingress: the template's host becomes the rule's
 * host, its path the rule's path. Undefined when the spec asks for no ingress.
 */
export function buildIngress(
  deployment: FlinkDeploymentObject,
  options: BuildOptions,
): V1Ingress | undefined {
  const ingress = deployment.spec?.ingress;
  if (!ingress) return undefined;
  if (!ingress.template) throw new Error("spec.ingress.template is required");
  const { cluster, user } = sourceOf(deployment, options);
  const fill = (text: string) => renderIngressTemplate(text, cluster.name, cluster.namespace).url;
  const { host, path } = renderIngressTemplate(ingress.template, cluster.name, cluster.namespace);

  const annotations = { ...ingress.annotations };
  const groups = captureGroups(path);
  if (isNginx(ingress.className, annotations) && groups > 0 && !(REWRITE_TARGET in annotations)) {
    // A regex path such as /ns/name(/|$)(.*) routes a prefix; Flink must see only what the last group matched.
    annotations[REWRITE_TARGET] = `/$${groups}`;
  }
  const labels = { ...ingress.labels, ...commonLabels(cluster), component: "ingress" };
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: childMetadata(cluster, cluster.name, labels, annotations),
    spec: {
      ...(ingress.className && { ingressClassName: ingress.className }),
      rules: [
        {
          ...(host && { host }),
          http: {
            paths: [
              {
                ...(path && { path }),
                pathType: "ImplementationSpecific",
                backend: {
                  service: {
                    name: restServiceName(cluster),
                    port: { number: restPort(user) },
                  },
                },
              },
            ],
          },
        },
      ],
      ...(ingress.tls && {
        tls: ingress.tls.map(t => ({
          ...(t.hosts && { hosts: t.hosts.map(fill) }),
          ...(t.secretName && { secretName: fill(t.secretName) }),
        })),
      }),
    },
  };
}

const isNginx = (className: string | undefined, annotations: Record<string, string>) =>
  (className ?? annotations["kubernetes.io/ingress.class"]) === "nginx";

/** Capturing groups of a regex path: "(" not followed by "?" and not escaped. */
const captureGroups = (path: string) => (path.match(/(?<!\\)\((?!\?)/g) ?? []).length;
