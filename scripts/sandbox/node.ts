/*
 * The real node: containerd + runc with CNI bridge networking, a kubelet named `localhost`, kube-proxy for
 * Service ClusterIPs and CoreDNS for Service names, all on this machine. Facts that shape it:
 * docs/sandbox.md ("The real node").
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cacheDir } from "../../lib/cache";
import type { NodeBinaries } from "./build";
import { HostJournal, POD_NET, SERVICE_CIDR } from "./host";
import { ensureImages, importImages, PAUSE_IMAGE } from "./images";
import { ensureDebianPackages } from "./apt";
import { freePort, run, say, seconds } from "./proc";

export const REAL_NODE_NAME = "localhost";
/** CoreDNS answers on the bridge's address, which every pod routes to. */
export const CLUSTER_DNS_IP = POD_NET.gateway;
const CONTAINERD = "/usr/bin/containerd";
const CTR = "/usr/bin/ctr";
const CNI_BIN = "/usr/lib/cni";

/** Debian packages the real node runs; installed on first use (root, apt). */
const PACKAGES: Record<string, string> = {
  [CONTAINERD]: "containerd",
  "/usr/sbin/runc": "runc",
  [join(CNI_BIN, "bridge")]: "containernetworking-plugins",
  "/usr/sbin/iptables": "iptables",
  "/usr/sbin/conntrack": "conntrack",
  "/usr/bin/openssl": "openssl",
};

export function ensureNodePackages(): Promise<void> {
  return ensureDebianPackages(PACKAGES, "the real node");
}

/** Starts processes through the control plane's launcher, so they are stopped and reaped with it. */
export type Launch = (
  name: string,
  bin: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
) => Promise<void>;

/**
 * Images exist only locally. A pull (an image that is not there) goes to a proxy on a loopback port where nothing
 * listens, so it fails at once, as on a cluster without that image, and no registry is ever contacted.
 */
const NO_PULLS: NodeJS.ProcessEnv = {
  HTTPS_PROXY: "http://127.0.0.1:9",
  HTTP_PROXY: "http://127.0.0.1:9",
  https_proxy: "http://127.0.0.1:9",
  http_proxy: "http://127.0.0.1:9",
  NO_PROXY: "",
  no_proxy: "",
};

export interface NodeContext {
  dir: string;
  journal: HostJournal;
  bins: NodeBinaries;
  kubectl: (...args: string[]) => Promise<string>;
  /** Writes a kubeconfig for a component with its own token (see controlplane.ts). */
  kubeconfigFor: (user: string) => Promise<string>;
  /** CA and key the apiserver trusts for kubelet clients; the kubelet trusts client certs signed by it. */
  kubeletClientCa: string;
  launch: Launch;
}

/** The containerd socket of a sandbox: shims carry it on their command line, which is how teardown finds them. */
export function containerdSocket(dir: string): string {
  return join(dir, "containerd", "containerd.sock");
}

/** Image content persists across sandboxes (imports take a while); runtime state is per sandbox. */
function containerdRoot(): string {
  return cacheDir("node", "containerd");
}

export async function startRealNode(ctx: NodeContext): Promise<void> {
  const started = Date.now();
  const { dir, journal } = ctx;
  const socket = containerdSocket(dir);
  const state = join(dir, "containerd", "state");
  const kubeletDir = join(dir, "kubelet");
  await mkdir(state, { recursive: true });
  await mkdir(kubeletDir, { recursive: true });

  // Whatever the node leaves behind, recorded before it can exist.
  await journal.add({ kind: "kube-proxy-rules", bin: ctx.bins.kubeProxy });
  await journal.add({ kind: "kubelet-chains" });
  await journal.add({ kind: "netns", prefix: "cni-", removeDir: !existsSync("/run/netns") });
  await journal.add({ kind: "mounts", under: state });
  await journal.add({ kind: "mounts", under: kubeletDir });
  await journal.add({ kind: "processes", cgroup: "kubepods", marker: socket });

  await writeFile(join(dir, "containerd.toml"), containerdConfig(dir, state, socket));
  await mkdir(join(dir, "cni"), { recursive: true });
  await writeFile(join(dir, "cni", "10-fpo.conflist"), cniConfig());
  await ctx.launch("containerd", CONTAINERD, ["--config", join(dir, "containerd.toml")], {
    ...process.env,
    ...NO_PULLS,
  });
  await waitForSocket(socket);

  const images = await ensureImages();
  const importStarted = Date.now();
  await importImages(CTR, socket, images);
  say(`images ready in containerd in ${seconds(Date.now() - importStarted)}`);

  await ctx.kubectl("apply", "-f", await writeNodeObjects(dir));

  const [kubeletPort, healthzPort, proxyHealthz, proxyMetrics] = await Promise.all(
    Array.from({ length: 4 }, freePort),
  );
  const resolvConf = join(dir, "resolv.conf");
  // Pods that do not use cluster DNS get only ours too: no query leaves this machine.
  await writeFile(resolvConf, `nameserver ${CLUSTER_DNS_IP}\n`);
  await writeFile(
    join(dir, "kubelet.yaml"),
    JSON.stringify(
      kubeletConfig({
        socket,
        resolvConf,
        kubeletPort,
        healthzPort,
        clientCa: ctx.kubeletClientCa,
      }),
      null,
      2,
    ),
  );
  await ctx.launch("kubelet", ctx.bins.kubelet, [
    `--config=${join(dir, "kubelet.yaml")}`,
    `--kubeconfig=${await ctx.kubeconfigFor("kubelet")}`,
    `--hostname-override=${REAL_NODE_NAME}`,
    `--node-ip=${POD_NET.gateway}`,
    `--root-dir=${kubeletDir}`,
    `--cert-dir=${join(dir, "kubelet-pki")}`,
    "--node-labels=flink-pepr.local/node=real",
  ]);

  await writeFile(
    join(dir, "kube-proxy.yaml"),
    JSON.stringify(
      {
        apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
        kind: "KubeProxyConfiguration",
        clientConnection: { kubeconfig: await ctx.kubeconfigFor("kube-proxy") },
        mode: "iptables",
        hostnameOverride: REAL_NODE_NAME,
        bindAddress: "127.0.0.1",
        clusterCIDR: POD_NET.cidr,
        healthzBindAddress: `127.0.0.1:${proxyHealthz}`,
        metricsBindAddress: `127.0.0.1:${proxyMetrics}`,
        // NodePorts answer on the bridge only, never on the machine's outside interface.
        nodePortAddresses: [`${POD_NET.gateway}/32`],
        // Leave the kernel's conntrack settings alone.
        conntrack: {
          maxPerCore: 0,
          min: 0,
          tcpEstablishedTimeout: "0s",
          tcpCloseWaitTimeout: "0s",
        },
      },
      null,
      2,
    ),
  );
  await ctx.launch("kube-proxy", ctx.bins.kubeProxy, [`--config=${join(dir, "kube-proxy.yaml")}`]);

  await writeFile(join(dir, "Corefile"), corefile(await ctx.kubeconfigFor("coredns")));
  await ctx.launch("coredns", ctx.bins.coredns, ["-conf", join(dir, "Corefile")]);
  say(`real node started in ${seconds(Date.now() - started)}`);
}

async function waitForSocket(socket: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (existsSync(socket)) {
      try {
        await run(CTR, ["--address", socket, "version"], { quiet: true, timeoutMs: 5000 });
        return;
      } catch {
        // not serving yet
      }
    }
    await new Promise(r => setTimeout(r, 200));
  }
  throw new Error(`containerd did not answer on ${socket}`);
}

function containerdConfig(dir: string, state: string, socket: string): string {
  // TOML by hand: a few keys, no library needed.
  return `version = 2
root = ${JSON.stringify(containerdRoot())}
state = ${JSON.stringify(state)}
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = ${JSON.stringify(socket)}

[ttrpc]
  address = ${JSON.stringify(`${socket}.ttrpc`)}

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${JSON.stringify(PAUSE_IMAGE)}
  # root lacks CAP_SYS_RESOURCE in these VMs: the default oom_score_adj of -998 fails every pod start.
  restrict_oom_score_adj = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${JSON.stringify(CNI_BIN)}
    conf_dir = ${JSON.stringify(join(dir, "cni"))}
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
`;
}

/** Bridge + host-local, no masquerading: pod traffic cannot be rewritten to look like the machine's own. */
function cniConfig(): string {
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "flink-pepr-sandbox",
      plugins: [
        {
          type: "bridge",
          bridge: POD_NET.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [
              [
                {
                  subnet: POD_NET.cidr,
                  rangeStart: "10.244.0.10",
                  rangeEnd: "10.244.0.250",
                  gateway: POD_NET.gateway,
                },
              ],
            ],
            routes: [{ dst: POD_NET.cidr }, { dst: SERVICE_CIDR }],
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

function kubeletConfig(o: {
  socket: string;
  resolvConf: string;
  kubeletPort: number;
  healthzPort: number;
  clientCa: string;
}): Record<string, unknown> {
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // Served on loopback: the apiserver reaches it as node "localhost" (logs, exec, port-forward).
    address: "127.0.0.1",
    port: o.kubeletPort,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: o.healthzPort,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: o.clientCa },
    },
    // Only the apiserver holds a client certificate the kubelet accepts.
    authorization: { mode: "AlwaysAllow" },
    containerRuntimeEndpoint: `unix://${o.socket}`,
    cgroupDriver: "cgroupfs",
    failCgroupV1: false,
    failSwapOn: false,
    clusterDomain: "cluster.local",
    clusterDNS: [CLUSTER_DNS_IP],
    resolvConf: o.resolvConf,
    serializeImagePulls: false,
    // Images exist only locally: never garbage-collect them on a busy disk.
    imageGCHighThresholdPercent: 100,
    evictionHard: {
      "memory.available": "200Mi",
      "nodefs.available": "2%",
      "imagefs.available": "2%",
    },
    maxPods: 110,
    shutdownGracePeriod: "0s",
    syncFrequency: "10s",
    fileCheckFrequency: "10s",
    nodeStatusUpdateFrequency: "5s",
  };
}

/**
 * Cluster DNS answers the cluster domain only and forwards nothing: a name outside it gets NXDOMAIN at once,
 * so no query from a pod leaves this machine.
 */
function corefile(kubeconfig: string): string {
  return `cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
  bind ${CLUSTER_DNS_IP}
  errors
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig ${kubeconfig}
    pods insecure
  }
  cache 5
}
.:53 {
  bind ${CLUSTER_DNS_IP}
  template ANY ANY {
    rcode NXDOMAIN
  }
}
`;
}

/**
 * RBAC for the node's components (each has its own identity), the default StorageClass, and the
 * service account the reference's examples name (`flink`) with the JobManager's Role of docs/rbac.md.
 */
async function writeNodeObjects(dir: string): Promise<string> {
  const docs = [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "flink-pepr-sandbox:kubelet" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:node" },
      subjects: [
        {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "User",
          name: `system:node:${REAL_NODE_NAME}`,
        },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "flink-pepr-sandbox:coredns" },
      rules: [
        {
          apiGroups: [""],
          resources: ["services", "pods", "namespaces"],
          verbs: ["list", "watch"],
        },
        {
          apiGroups: ["discovery.k8s.io"],
          resources: ["endpointslices"],
          verbs: ["list", "watch"],
        },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "flink-pepr-sandbox:coredns" },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "flink-pepr-sandbox:coredns",
      },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "system:coredns" }],
    },
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: {
        name: "sandbox-hostpath",
        annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
      },
      // The controller-manager's own single-node provisioner (--enable-hostpath-provisioner).
      provisioner: "kubernetes.io/host-path",
      reclaimPolicy: "Delete",
      volumeBindingMode: "Immediate",
    },
  ];
  const file = join(dir, "node-objects.json");
  await writeFile(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: docs }));
  return file;
}
