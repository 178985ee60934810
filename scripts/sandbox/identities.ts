import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { REAL_NODE_NAME } from "./node";
import { run } from "./proc";

/* Who talks to the sandbox's apiserver, and with what credentials. */

/** Token users: name,uid[,groups] as the apiserver's token file has them. */
export const IDENTITIES = {
  admin: "admin,admin,system:masters",
  kubelet: `system:node:${REAL_NODE_NAME},node-${REAL_NODE_NAME},system:nodes`,
  // Bound by the apiserver's default system:node-proxier binding.
  "kube-proxy": "system:kube-proxy,kube-proxy",
  coredns: "system:coredns,coredns",
} as const;

export interface KubeletClientPki {
  caCert: string;
  cert: string;
  key: string;
}

/** A CA the kubelet trusts for clients, and the apiserver's client certificate from it: no anonymous kubelet. */
export async function kubeletClientPki(dir: string): Promise<KubeletClientPki> {
  const pki = join(dir, "kubelet-client-pki");
  await mkdir(pki, { recursive: true });
  const f = (name: string) => join(pki, name);
  const openssl = (...args: string[]) => run("openssl", args, { quiet: true });
  await openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "30",
    "-subj",
    "/CN=flink-pepr-sandbox-kubelet-client-ca",
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.crt"),
  );
  await openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/O=system:masters/CN=kube-apiserver-kubelet-client",
    "-keyout",
    f("client.key"),
    "-out",
    f("client.csr"),
  );
  await openssl(
    "x509",
    "-req",
    "-days",
    "30",
    "-in",
    f("client.csr"),
    "-CA",
    f("ca.crt"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-out",
    f("client.crt"),
  );
  return { caCert: f("ca.crt"), cert: f("client.crt"), key: f("client.key") };
}

export function kubeletClientArgs(pki: KubeletClientPki): string[] {
  return [
    `--kubelet-client-certificate=${pki.cert}`,
    `--kubelet-client-key=${pki.key}`,
    // The node is named localhost, so logs, exec and port-forward go to the kubelet over loopback.
    "--kubelet-preferred-address-types=Hostname",
  ];
}

export function kubeconfigYaml(server: string, ca: Buffer, token: string): string {
  // JSON is valid YAML and needs no library.
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "sandbox",
          cluster: { server, "certificate-authority-data": ca.toString("base64") },
        },
      ],
      users: [{ name: "admin", user: { token } }],
      contexts: [
        { name: "sandbox", context: { cluster: "sandbox", user: "admin", namespace: "default" } },
      ],
      "current-context": "sandbox",
    },
    null,
    2,
  );
}
