/**
 * Hosts as users write them in a jarURI, what `new URL` makes of them, and the verdict: the reason completes
 * "host X is ...", undefined means allowed.
 */
export interface HostCase {
  written: string;
  shown: string;
  reason?: string;
}

export const HOST_TABLE: HostCase[] = [
  // IPv4 in every form the URL parser reads
  { written: "127.0.0.1", shown: "127.0.0.1", reason: "loopback" },
  { written: "2130706433", shown: "127.0.0.1", reason: "loopback" },
  { written: "0x7f.1", shown: "127.0.0.1", reason: "loopback" },
  { written: "0177.0.0.1", shown: "127.0.0.1", reason: "loopback" },
  { written: "127.1", shown: "127.0.0.1", reason: "loopback" },
  { written: "repo.example.com@127.0.0.1", shown: "127.0.0.1", reason: "loopback" },
  { written: "0.0.0.0", shown: "0.0.0.0", reason: "unspecified (0.0.0.0/8)" },
  { written: "10.1.2.3", shown: "10.1.2.3", reason: "private (10.0.0.0/8)" },
  { written: "172.16.0.1", shown: "172.16.0.1", reason: "private (172.16.0.0/12)" },
  { written: "172.31.255.255", shown: "172.31.255.255", reason: "private (172.16.0.0/12)" },
  { written: "192.168.0.10", shown: "192.168.0.10", reason: "private (192.168.0.0/16)" },
  {
    written: "100.64.0.1",
    shown: "100.64.0.1",
    reason: "shared address space (100.64.0.0/10, carrier-grade NAT)",
  },
  {
    written: "100.100.100.200",
    shown: "100.100.100.200",
    reason: "shared address space (100.64.0.0/10, carrier-grade NAT)",
  },
  {
    written: "169.254.169.254",
    shown: "169.254.169.254",
    reason: "link-local (169.254.0.0/16, where cloud metadata services answer)",
  },
  { written: "224.0.0.1", shown: "224.0.0.1", reason: "multicast" },
  { written: "255.255.255.255", shown: "255.255.255.255", reason: "reserved (240.0.0.0/4)" },
  // IPv6, and IPv6 forms that carry an IPv4 address
  { written: "[::1]", shown: "::1", reason: "loopback" },
  { written: "[::]", shown: "::", reason: "unspecified" },
  {
    written: "[::ffff:127.0.0.1]",
    shown: "::ffff:7f00:1",
    reason: "an IPv4-mapped address of 127.0.0.1, which is loopback",
  },
  {
    written: "[::FFFF:169.254.169.254]",
    shown: "::ffff:a9fe:a9fe",
    reason:
      "an IPv4-mapped address of 169.254.169.254, which is link-local (169.254.0.0/16, where cloud metadata services answer)",
  },
  {
    written: "[::ffff:0:10.0.0.1]",
    shown: "::ffff:0:a00:1",
    reason: "an IPv4-translated address of 10.0.0.1, which is private (10.0.0.0/8)",
  },
  {
    written: "[::127.0.0.1]",
    shown: "::7f00:1",
    reason: "an IPv4-compatible address of 127.0.0.1 (deprecated)",
  },
  {
    written: "[::8.8.8.8]",
    shown: "::808:808",
    reason: "an IPv4-compatible address of 8.8.8.8 (deprecated)",
  },
  {
    written: "[64:ff9b::a9fe:a9fe]",
    shown: "64:ff9b::a9fe:a9fe",
    reason:
      "a NAT64 (64:ff9b::/96) address of 169.254.169.254, which is link-local (169.254.0.0/16, where cloud metadata services answer)",
  },
  {
    written: "[64:ff9b:1::a00:1]",
    shown: "64:ff9b:1::a00:1",
    reason: "local-use NAT64 (64:ff9b:1::/48)",
  },
  {
    written: "[2002:7f00:1::]",
    shown: "2002:7f00:1::",
    reason: "a 6to4 (2002::/16) address of 127.0.0.1, which is loopback",
  },
  { written: "[fd00::1]", shown: "fd00::1", reason: "unique local (fc00::/7)" },
  { written: "[fe80::1]", shown: "fe80::1", reason: "link-local (fe80::/10)" },
  { written: "[fec0::1]", shown: "fec0::1", reason: "site-local (fec0::/10)" },
  { written: "[ff02::1]", shown: "ff02::1", reason: "multicast" },
  // Names that can only mean this machine or its local network
  { written: "localhost", shown: "localhost", reason: "a loopback name" },
  { written: "localhost.", shown: "localhost.", reason: "a loopback name" },
  { written: "LocalHost..", shown: "localhost..", reason: "a loopback name" },
  { written: "%6c%6fcalhost", shown: "localhost", reason: "a loopback name" },
  { written: "ｌｏｃａｌｈｏｓｔ", shown: "localhost", reason: "a loopback name" },
  { written: "jobs.localhost", shown: "jobs.localhost", reason: "a loopback name" },
  {
    written: "localhost.localdomain",
    shown: "localhost.localdomain",
    reason: "a local name (.localdomain)",
  },
  {
    written: "repo.localdomain.",
    shown: "repo.localdomain.",
    reason: "a local name (.localdomain)",
  },
  // Public
  { written: "8.8.8.8", shown: "8.8.8.8" },
  { written: "100.128.0.1", shown: "100.128.0.1" },
  { written: "172.32.0.1", shown: "172.32.0.1" },
  { written: "repo.example.com", shown: "repo.example.com" },
  { written: "repo.example.com.", shown: "repo.example.com." },
  { written: "localhost.example.com", shown: "localhost.example.com" },
  { written: "[2001:4860:4860::8888]", shown: "2001:4860:4860::8888" },
  { written: "[::ffff:8.8.8.8]", shown: "::ffff:808:808" },
  { written: "[64:ff9b::808:808]", shown: "64:ff9b::808:808" },
  { written: "[2002:808:808::]", shown: "2002:808:808::" },
];
