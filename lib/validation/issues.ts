/** One problem found in a resource: where it is, what is wrong, and whether it blocks admission. */
export interface Issue {
  path: string;
  message: string;
  severity: "error" | "warning";
}

export const error = (path: string, message: string): Issue => ({
  path,
  message,
  severity: "error",
});
export const warning = (path: string, message: string): Issue => ({
  path,
  message,
  severity: "warning",
});

export const formatIssue = (issue: Issue) => `${issue.path}: ${issue.message}`;
export const errorsOf = (issues: Issue[]) => issues.filter(i => i.severity === "error");
export const warningsOf = (issues: Issue[]) => issues.filter(i => i.severity === "warning");

/** Path of a flinkConfiguration key, bracketed because keys contain dots. */
export const configPath = (key: string, base = "spec.flinkConfiguration") => `${base}["${key}"]`;

/** Renders a path from segments the way kubectl users read them: spec.containers[0].name. */
export function joinPath(segments: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (typeof s === "string" && /^[A-Za-z_$][\w$-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `["${String(s)}"]`;
  }
  return out;
}
