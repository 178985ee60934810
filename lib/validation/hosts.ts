import { BlockList, isIP } from "node:net";

/** Whether a host may serve artifacts; a refusal's reason completes the sentence "host X is ...". */
export type HostVerdict = { allowed: true } | { allowed: false; reason: string };

/**
 * Exceptions to the address rules: addresses or CIDR subnets ("127.0.0.1", "10.1.0.0/16"), and host names
 * ("jars.internal"), which are allowed whatever they resolve to. Set by the operator ConfigMap's
 * kubernetes.operator.user.artifacts.allowed-internal-hosts (empty by default), for sandboxes and tests.
 */
export interface HostPolicy {
  allow?: readonly string[];
}

const bareName = (host: string) => host.toLowerCase().replace(/\.+$/, "");

/** Whether the policy names this host (a name, not an address) as allowed. */
export function allowsName(host: string, policy: HostPolicy = {}): boolean {
  if (isIP(host.replace(/^\[|\]$/g, ""))) return false;
  const name = bareName(host);
  return !!policy.allow?.some(e => !isIP(e.split("/")[0]) && bareName(e) === name);
}

const ALLOWED: HostVerdict = { allowed: true };
const refuse = (reason: string): HostVerdict => ({ allowed: false, reason });

type Range = [network: string, prefix: number, reason: string];

const V4_RANGES: Range[] = [
  ["0.0.0.0", 8, "unspecified (0.0.0.0/8)"],
  ["127.0.0.0", 8, "loopback"],
  ["10.0.0.0", 8, "private (10.0.0.0/8)"],
  ["172.16.0.0", 12, "private (172.16.0.0/12)"],
  ["192.168.0.0", 16, "private (192.168.0.0/16)"],
  ["100.64.0.0", 10, "shared address space (100.64.0.0/10, carrier-grade NAT)"],
  ["169.254.0.0", 16, "link-local (169.254.0.0/16, where cloud metadata services answer)"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved (240.0.0.0/4)"],
];

const V6_RANGES: Range[] = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["fe80::", 10, "link-local (fe80::/10)"],
  ["fec0::", 10, "site-local (fec0::/10)"],
  ["fc00::", 7, "unique local (fc00::/7)"],
  ["ff00::", 8, "multicast"],
  // Its IPv4 address sits at a place the network chooses, so it cannot be judged by it.
  ["64:ff9b:1::", 48, "local-use NAT64 (64:ff9b:1::/48)"],
];

const lists = (ranges: Range[], family: "ipv4" | "ipv6") =>
  ranges.map(([network, prefix, reason]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, family);
    return { list, family, reason };
  });

const RULES = [...lists(V4_RANGES, "ipv4"), ...lists(V6_RANGES, "ipv6")];

/** The eight 16-bit words of an IPv6 address (isIP already said it is one), zone id dropped. */
function ipv6Words(ip: string): number[] {
  let s = ip.replace(/%.*$/, "");
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    s = `${s.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill("0");
  return [...h, ...zeros, ...t].map(w => Number.parseInt(w, 16));
}

const v4Of = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/** The IPv4 address an IPv6 address carries, with the name of the form that carries it. */
function embeddedIPv4(w: number[]): { form: string; v4: string } | undefined {
  const zero = (from: number, to: number) => w.slice(from, to).every(x => x === 0);
  if (zero(0, 5) && w[5] === 0xffff) return { form: "an IPv4-mapped", v4: v4Of(w[6], w[7]) };
  if (zero(0, 4) && w[4] === 0xffff && w[5] === 0)
    return { form: "an IPv4-translated", v4: v4Of(w[6], w[7]) };
  if (w[0] === 0x64 && w[1] === 0xff9b && zero(2, 6))
    return { form: "a NAT64 (64:ff9b::/96)", v4: v4Of(w[6], w[7]) };
  if (w[0] === 0x2002) return { form: "a 6to4 (2002::/16)", v4: v4Of(w[1], w[2]) };
  return undefined;
}

function isAllowedByPolicy(ip: string, family: "ipv4" | "ipv6", policy: HostPolicy): boolean {
  if (!policy.allow?.length) return false;
  const list = new BlockList();
  for (const entry of policy.allow) {
    const [network, prefix] = entry.split("/");
    if (!isIP(network)) continue;
    const f = isIP(network) === 6 ? "ipv6" : "ipv4";
    if (prefix === undefined) list.addAddress(network, f);
    else list.addSubnet(network, Number(prefix), f);
  }
  return list.check(ip.replace(/%.*$/, ""), family);
}

/** Classifies an IP address, as a URL carries it or a resolver returns it. */
export function classifyAddress(ip: string, policy: HostPolicy = {}): HostVerdict {
  const version = isIP(ip);
  if (version === 0) return refuse("not an IP address");
  const family = version === 4 ? "ipv4" : "ipv6";
  if (isAllowedByPolicy(ip, family, policy)) return ALLOWED;
  if (version === 6) {
    const w = ipv6Words(ip);
    const embedded = embeddedIPv4(w);
    if (embedded) {
      const inner = classifyAddress(embedded.v4, policy);
      return inner.allowed
        ? ALLOWED
        : refuse(`${embedded.form} address of ${embedded.v4}, which is ${inner.reason}`);
    }
    // ::/96 less :: and ::1: deprecated IPv4-compatible addresses, never routed.
    if (w.slice(0, 6).every(x => x === 0) && (w[6] !== 0 || w[7] > 1))
      return refuse(`an IPv4-compatible address of ${v4Of(w[6], w[7])} (deprecated)`);
  }
  const bare = ip.replace(/%.*$/, "");
  const rule = RULES.find(r => r.family === family && r.list.check(bare, family));
  return rule ? refuse(rule.reason) : ALLOWED;
}

/**
 * Classifies a URL's host as `new URL(...).hostname` gives it: an IPv4 address (already decoded from decimal,
 * octal or hex forms), an IPv6 address in brackets, or a lowercase ASCII name, maybe with a trailing dot.
 * A name is judged only by what it says; what it resolves to is checked when fetching (lib/artifacts/fetch.ts).
 */
export function classifyHost(host: string, policy: HostPolicy = {}): HostVerdict {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (isIP(bare)) return classifyAddress(bare, policy);
  const name = bareName(bare);
  if (name === "") return refuse("empty");
  if (allowsName(name, policy)) return ALLOWED;
  if (name === "localhost" || name.endsWith(".localhost")) return refuse("a loopback name");
  if (name === "localdomain" || name.endsWith(".localdomain"))
    return refuse("a local name (.localdomain)");
  return ALLOWED;
}
