import { splitFlinkValue } from "./flink-config";

/** The reference operator's option: headers sent when the operator fetches a session job's jar. */
export const HTTP_HEADER_OPTION = "kubernetes.operator.user.artifacts.http.header";

/** RFC 9110 token: what a header name may hold. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What a header value may hold (the characters Node.js itself accepts): no CR, LF, NUL or other controls. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers that say how the request is framed or where it goes: the fetcher's own to set. */
const RESERVED = new Set(["host", "content-length", "transfer-encoding", "connection"]);

export interface HttpHeaders {
  headers: Array<[name: string, value: string]>;
  /** What is wrong, each naming a header by position. Never the value: headers often carry credentials. */
  problems: string[];
}

/** Headers in Flink's map syntax, "Name:value,Name:value", with ' or " quoting a value that holds ':' or ','. */
export function parseHttpHeaders(value: string | undefined): HttpHeaders {
  let entries: string[];
  try {
    entries = splitFlinkValue(value ?? "", ",");
  } catch {
    return { headers: [], problems: ["a quote is not closed"] };
  }
  const headers: Array<[string, string]> = [];
  const problems: string[] = [];
  entries.forEach((entry, i) => {
    const n = i + 1;
    let parts: string[];
    try {
      parts = splitFlinkValue(entry, ":");
    } catch {
      parts = [];
    }
    if (parts.length !== 2) {
      problems.push(`header ${n} is not a Name:value pair (quote a value that holds ':' or ',')`);
      return;
    }
    const [name, text] = parts;
    if (name === "") problems.push(`header ${n} has an empty name`);
    else if (!TOKEN.test(name))
      problems.push(`header ${n}: a name may only hold letters, digits and !#$%&'*+-.^_\`|~`);
    else if (RESERVED.has(name.toLowerCase()))
      problems.push(`header ${n}: ${name} is set by the fetcher itself`);
    else if (text === "") problems.push(`header ${n} has an empty value`);
    else if (!FIELD_VALUE.test(text))
      problems.push(`header ${n}: its value holds a line break or another control character`);
    else headers.push([name, text]);
  });
  return { headers, problems };
}
