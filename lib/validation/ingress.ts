import { IngressSpec } from "../api/spec";
import { renderIngressTemplate } from "../builders/ingress";
import { Issue, error } from "./issues";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

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
