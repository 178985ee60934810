import dns, { type LookupAddress } from "node:dns";
import dnsPromises from "node:dns/promises";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";

/**
 * Name resolution for the operator process the sandbox runs: names resolve from /etc/hosts only, never through
 * the machine's DNS servers. A session job whose jar URL names a public host then fails at fetch time with
 * ENOTFOUND instead of sending a query, let alone a request, off this machine. Installed by module-entry.ts
 * when FLINK_PEPR_DNS=hosts-only (scripts/sandbox/module.ts sets it; a bare `npm run dev` does not).
 */
export function hostsTable(text: string): Map<string, LookupAddress[]> {
  const table = new Map<string, LookupAddress[]>();
  for (const line of text.split("\n")) {
    const [address, ...names] = line.replace(/#.*/, "").trim().split(/\s+/);
    const family = isIP(address ?? "");
    if (!family) continue;
    for (const name of names) {
      const key = name.toLowerCase();
      table.set(key, [...(table.get(key) ?? []), { address, family }]);
    }
  }
  return table;
}

type Options = { family?: number | string; all?: boolean } | number | undefined;

function answers(table: Map<string, LookupAddress[]>, host: string, options: Options) {
  const opts = typeof options === "number" ? { family: options } : (options ?? {});
  const family = opts.family === "IPv4" ? 4 : opts.family === "IPv6" ? 6 : Number(opts.family ?? 0);
  const literal = isIP(host);
  const found = literal
    ? [{ address: host, family: literal }]
    : (table.get(host.toLowerCase().replace(/\.$/, "")) ?? []).filter(
        a => !family || a.family === family,
      );
  if (!found.length)
    throw Object.assign(
      new Error(`getaddrinfo ENOTFOUND ${host} (the sandbox resolves names from /etc/hosts only)`),
      { code: "ENOTFOUND", hostname: host },
    );
  return { all: !!opts.all, found };
}

export function installHostsOnlyDns(file = "/etc/hosts"): void {
  const table = hostsTable(readFileSync(file, "utf8"));
  const promisesApi = dnsPromises as unknown as { lookup: unknown };
  promisesApi.lookup = async (host: string, options?: Options) => {
    const { all, found } = answers(table, host, options);
    return all ? found : found[0];
  };
  const callbackApi = dns as unknown as { lookup: unknown };
  callbackApi.lookup = (
    host: string,
    options: Options | ((...args: unknown[]) => void),
    callback?: (...args: unknown[]) => void,
  ) => {
    const cb = (typeof options === "function" ? options : callback)!;
    const opts = typeof options === "function" ? undefined : options;
    let result: ReturnType<typeof answers>;
    try {
      result = answers(table, host, opts);
    } catch (e) {
      return process.nextTick(cb, e);
    }
    if (result.all) process.nextTick(cb, null, result.found);
    else process.nextTick(cb, null, result.found[0].address, result.found[0].family);
  };
}
