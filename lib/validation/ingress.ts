import { IngressSpec } from "../api/spec";
import { Issue, error } from "./issues";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

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

export function ingressIssues(
  ingress: IngressSpec | undefined,
  name: string,
  namespace: string,
): Issue[] {
  if (!ingress) return [];
  const path = "spec.ingress.template";
  if (!ingress.template?.trim())
    return [
      error(
        path,
        'is required when spec.ingress is set, e.g. "{{name}}.{{namespace}}.example.com"',
      ),
    ];
  const unknown = [...ingress.template.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)]
    .map(m => m[1])
    .filter(p => p !== "name" && p !== "namespace");
  if (unknown.length)
    return [
      error(
        path,
        `unknown placeholder ${unknown.map(u => `{{${u}}}`).join(", ")}; only {{name}} and {{namespace}} are replaced`,
      ),
    ];
  const { host } = renderIngressTemplate(ingress.template, name, namespace);
  if (host === "") return [];
  const labels = host.replace(/^\*\./, "").split(".");
  if (host.length > 253 || !labels.every(l => l.length <= 63 && DNS_LABEL.test(l))) {
    return [
      error(
        path,
        `gives host "${host}", which is not a valid DNS name (lowercase letters, digits, '-' and '.')`,
      ),
    ];
  }
  return [];
}
