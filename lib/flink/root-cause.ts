import type { ExceptionHistory } from "./schemas";

/** Longest message kept: status and Events carry one line, not a stack trace. */
const MAX_MESSAGE = 300;

const FRAME = /^\s+(at |\.\.\. \d+ more)/;
const CAUSE = /^Caused by: /;
const SUPPRESSED = /^\s+Suppressed: /;
const FUTURE_TIMEOUT = "java.util.concurrent.TimeoutException";

/** One throwable of a printed cause chain. */
interface Throwable {
  className: string;
  message?: string;
  /** Its first stack frame, for a throwable without a message. */
  frame?: string;
}

const oneLine = (s: string, max = MAX_MESSAGE) => {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
};

/** `org.example.Outer$Inner` -> `Inner`, as Class.getSimpleName names it. */
const simpleName = (className: string) =>
  className.split(/[.$]/).filter(Boolean).at(-1) ?? className;

/**
 * The cause chain of a Java stack trace as Throwable.printStackTrace writes it: the top throwable, then each
 * "Caused by:". A header (class and message) may span lines until the first frame. Suppressed exceptions and
 * their causes are indented and are not part of the chain.
 */
export function causeChain(stacktrace: string): Throwable[] {
  const chain: Throwable[] = [];
  let header: string[] | undefined = [];
  const close = () => {
    const text = (header ?? []).join("\n").trim();
    const m = /^([\w$.]+)(?::\s*([\s\S]*))?$/.exec(text);
    if (m) chain.push({ className: m[1], message: m[2]?.trim() || undefined });
    else if (text) chain.push({ className: text });
  };
  for (const line of stacktrace.split(/\r?\n/)) {
    if (CAUSE.test(line)) {
      if (header) close();
      header = [line.replace(CAUSE, "")];
    } else if (FRAME.test(line) || SUPPRESSED.test(line)) {
      if (header) {
        close();
        const frame = line.trim();
        if (frame.startsWith("at ") && chain.length) chain[chain.length - 1].frame = frame.slice(3);
      }
      header = undefined;
    } else if (header) {
      header.push(line);
    }
  }
  if (header) close();
  return chain;
}

/**
 * The throwable that explains a chain: the deepest cause, after dropping wrappers whose message is only the
 * next throwable printed again (CompletionException: org.x.SomeException: ...). A future's TimeoutException
 * says only that something took too long; the throwable it caused says what, unless that is the chain's top
 * (a restart strategy giving up, which says nothing about the failure).
 */
function explaining(chain: Throwable[]): Throwable | undefined {
  const kept = chain.filter(
    (t, i) => !(chain[i + 1] && t.message?.startsWith(chain[i + 1].className)),
  );
  const deepest = kept.at(-1);
  const above = kept.at(-2);
  if (deepest?.className === FUTURE_TIMEOUT && above && above !== chain[0]) return above;
  return deepest;
}

/**
 * A Java stack trace's root cause in one line: "SimpleName: message", or "SimpleName at <its first frame>"
 * when it has no message.
 */
export function rootCauseOf(stacktrace: string): string | undefined {
  const t = explaining(causeChain(stacktrace));
  if (!t) return undefined;
  const name = simpleName(t.className);
  if (t.message) return `${name}: ${oneLine(t.message)}`;
  return t.frame ? `${name} at ${oneLine(t.frame, 200)}` : name;
}

/** The newest failure in a job's exception history in one line; undefined when there is none. */
export function rootCause(history: ExceptionHistory): string | undefined {
  const newest = [...history.entries].sort((a, b) => b.timestamp - a.timestamp)[0];
  if (!newest) return undefined;
  return rootCauseOf(newest.stacktrace) ?? simpleName(newest.exceptionName);
}
