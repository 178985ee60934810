import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { cacheDir } from "../../lib/cache";
import { run, say, seconds, withFileLock } from "./proc";

/** Pinned versions: newest patch releases the Go module proxy served when this was written. */
export const VERSIONS = {
  kubernetes: "v1.34.4",
  etcd: "v3.6.16",
  kwok: "v0.8.0",
  coredns: "v1.14.7",
  helm: "v3.21.4",
} as const;

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
  /** kwok's own stage definitions (what kwokctl runs by default): kwok >= 0.8 refuses to start without stages. */
  kwokStages: string;
}

/** The real node's components: built only when a sandbox with a real node is asked for. */
export interface NodeBinaries {
  kubelet: string;
  kubeProxy: string;
  coredns: string;
}

const K8S_CMDS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"];
const NODE_CMDS = ["kubelet", "kube-proxy"];

/** Paths of the cached binaries, whether or not they exist yet. */
export function binaryPaths(): Binaries {
  const k8s = cacheDir("bin", `kubernetes-${VERSIONS.kubernetes}`);
  return {
    etcd: join(cacheDir("bin", `etcd-${VERSIONS.etcd}`), "etcd"),
    kubeApiserver: join(k8s, "kube-apiserver"),
    kubeControllerManager: join(k8s, "kube-controller-manager"),
    kubeScheduler: join(k8s, "kube-scheduler"),
    kubectl: join(k8s, "kubectl"),
    kwok: join(cacheDir("bin", `kwok-${VERSIONS.kwok}`), "kwok"),
    kwokStages: join(cacheDir("bin", `kwok-${VERSIONS.kwok}`), "stages.yaml"),
  };
}

/** Returns the binaries, building whatever is missing from source via the Go module proxy. */
export async function ensureBinaries(): Promise<Binaries> {
  const bins = binaryPaths();
  if (Object.values(bins).every(p => existsSync(p))) return bins;
  await withLock(async () => {
    // Another process may have finished the build while we waited for the lock.
    if (Object.values(bins).every(p => existsSync(p))) return;
    const go = findGo();
    const env = goEnv();
    await checkProxy(go, env);
    await buildOnce(`etcd-${VERSIONS.etcd}`, dir => buildEtcd(go, env, dir));
    await buildOnce(`kwok-${VERSIONS.kwok}`, dir => buildKwok(go, env, dir));
    await buildOnce(`kubernetes-${VERSIONS.kubernetes}`, dir => buildKubernetes(go, env, dir));
  });
  return bins;
}

export function nodeBinaryPaths(): NodeBinaries {
  const node = cacheDir("bin", `kubernetes-node-${VERSIONS.kubernetes}`);
  return {
    kubelet: join(node, "kubelet"),
    kubeProxy: join(node, "kube-proxy"),
    coredns: join(cacheDir("bin", `coredns-${VERSIONS.coredns}`), "coredns"),
  };
}

/** The kubelet, kube-proxy and CoreDNS, built like the control plane (about 2 minutes more when it is built). */
export async function ensureNodeBinaries(): Promise<NodeBinaries> {
  await ensureBinaries();
  const bins = nodeBinaryPaths();
  if (Object.values(bins).every(p => existsSync(p))) return bins;
  await withLock(async () => {
    if (Object.values(bins).every(p => existsSync(p))) return;
    const go = findGo();
    const env = goEnv();
    await buildOnce(`kubernetes-node-${VERSIONS.kubernetes}`, dir =>
      buildKubernetesCmds(go, env, dir, NODE_CMDS),
    );
    await buildOnce(`coredns-${VERSIONS.coredns}`, dir => buildCoreDns(go, env, dir));
  });
  return bins;
}

/** Where the helm binary is cached, whether or not it exists yet. */
export function helmPath(): string {
  return join(cacheDir("bin", `helm-${VERSIONS.helm}`), "helm");
}

/** helm (cmd/helm of helm.sh/helm/v3), built from the Go module proxy on first use like the other tools. */
export async function ensureHelm(): Promise<string> {
  const helm = helmPath();
  if (existsSync(helm)) return helm;
  await withLock(async () => {
    if (existsSync(helm)) return;
    await buildOnce(`helm-${VERSIONS.helm}`, dir => buildHelm(findGo(), goEnv(), dir));
  });
  return helm;
}

function findGo(): string {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/local/go/bin"];
  const candidates = [process.env.GO, ...dirs.map(d => join(d, "go"))].filter(
    (p): p is string => !!p,
  );
  const go = candidates.find(p => existsSync(p));
  if (!go) {
    throw new Error(
      "Go is not installed (no `go` on PATH, in $GO or /usr/local/go/bin): the sandbox builds Kubernetes, etcd and kwok from source and needs Go >= 1.26",
    );
  }
  return go;
}

function goEnv(): NodeJS.ProcessEnv {
  // Reproducible, static binaries with the toolchain that is installed: never fetch another Go.
  return {
    ...process.env,
    GOFLAGS: "-buildvcs=false",
    GOTOOLCHAIN: "local",
    GOWORK: "off",
    CGO_ENABLED: "0",
  };
}

async function checkProxy(go: string, env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await run(go, ["list", "-m", "-json", `k8s.io/kubernetes@${VERSIONS.kubernetes}`], {
      env,
      cwd: cacheDir(),
      timeoutMs: 120_000,
    });
  } catch (err) {
    const proxy = (await run(go, ["env", "GOPROXY"], { env }).catch(() => "")).trim();
    throw new Error(
      `the Go module proxy (GOPROXY=${proxy || "?"}) cannot be reached, so the sandbox cannot be built: ${err}`,
    );
  }
}

/** Builds into <name>.partial and renames it into place only when complete, so an interrupted build never counts. */
async function buildOnce(name: string, build: (dir: string) => Promise<void>): Promise<void> {
  const final = cacheDir("bin", name);
  if (existsSync(final)) return;
  const partial = `${final}.partial`;
  await mkdir(partial, { recursive: true });
  const started = Date.now();
  say(`building ${name} (first use only; progress every 30s)`);
  await build(partial);
  await rename(partial, final);
  say(`built ${name} in ${seconds(Date.now() - started)}`);
}

/** One go command with a heartbeat so a long compile is visibly alive. */
async function goStep(
  what: string,
  go: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const started = Date.now();
  say(`${what} ...`);
  const beat = setInterval(() => say(`  still ${what} (${seconds(Date.now() - started)})`), 30_000);
  try {
    // Quiet: go get lists every module; its output is kept for the error if the step fails.
    await run(go, args, { cwd, env, quiet: true });
  } finally {
    clearInterval(beat);
  }
  say(`${what}: done in ${seconds(Date.now() - started)}`);
}

/** go build -o writes in place; build beside the target and rename so a half-written binary is never reused. */
async function goBuild(
  go: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  out: string,
  pkg: string,
  ldflags: string[],
  tags = "",
) {
  if (existsSync(out)) return;
  const name = out.split("/").pop()!;
  const args = [
    "build",
    "-trimpath",
    ...(tags ? [`-tags=${tags}`] : []),
    "-ldflags",
    ["-s", "-w", ...ldflags].join(" "),
  ];
  await goStep(`compiling ${name}`, go, [...args, "-o", `${out}.tmp`, pkg], cwd, env);
  await rename(`${out}.tmp`, out);
}

async function scratchModule(name: string, go: string, env: NodeJS.ProcessEnv): Promise<string> {
  const dir = cacheDir("build", name);
  await mkdir(dir, { recursive: true });
  if (!existsSync(join(dir, "go.mod")))
    await run(go, ["mod", "init", `flink-pepr.local/${name}`], { cwd: dir, env, quiet: true });
  return dir;
}

async function buildEtcd(go: string, env: NodeJS.ProcessEnv, out: string): Promise<void> {
  const dir = await scratchModule(`etcd-${VERSIONS.etcd}`, go, env);
  // etcd's own replace directives point into its repository; as a dependency they are ignored, which is what we want.
  await writeFile(
    join(dir, "main.go"),
    'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n',
  );
  await goStep(
    "downloading etcd modules",
    go,
    ["get", `go.etcd.io/etcd/server/v3/etcdmain@${VERSIONS.etcd}`],
    dir,
    env,
  );
  await goBuild(go, env, dir, join(out, "etcd"), ".", []);
}

async function buildKwok(go: string, env: NodeJS.ProcessEnv, out: string): Promise<void> {
  const dir = await scratchModule(`kwok-${VERSIONS.kwok}`, go, env);
  const pkg = "sigs.k8s.io/kwok/cmd/kwok";
  await goStep("downloading kwok modules", go, ["get", `${pkg}@${VERSIONS.kwok}`], dir, env);
  await goBuild(go, env, dir, join(out, "kwok"), pkg, [
    `-X sigs.k8s.io/kwok/pkg/consts.Version=${VERSIONS.kwok}`,
  ]);
  // Taken from the kwok module as downloaded, so they always match the binary.
  const { Dir } = JSON.parse(
    await run(go, ["list", "-m", "-json", "sigs.k8s.io/kwok"], { cwd: dir, env }),
  );
  const docs = await Promise.all(
    KWOK_STAGES.map(f => readFile(join(Dir, "kustomize", "stage", f), "utf8")),
  );
  await writeFile(join(out, "stages.yaml"), docs.join("\n---\n"));
}

/** CoreDNS with its default plugin set (the kubernetes and template plugins are what the sandbox uses). */
async function buildCoreDns(go: string, env: NodeJS.ProcessEnv, out: string): Promise<void> {
  const dir = await scratchModule(`coredns-${VERSIONS.coredns}`, go, env);
  const pkg = "github.com/coredns/coredns";
  await goStep("downloading CoreDNS modules", go, ["get", `${pkg}@${VERSIONS.coredns}`], dir, env);
  await goBuild(go, env, dir, join(out, "coredns"), pkg, []);
}

async function buildHelm(go: string, env: NodeJS.ProcessEnv, out: string): Promise<void> {
  const dir = await scratchModule(`helm-${VERSIONS.helm}`, go, env);
  const pkg = "helm.sh/helm/v3/cmd/helm";
  await goStep("downloading helm modules", go, ["get", `${pkg}@${VERSIONS.helm}`], dir, env);
  // `helm version` reports this, as in helm's own release builds.
  await goBuild(go, env, dir, join(out, "helm"), pkg, [
    `-X helm.sh/helm/v3/internal/version.version=${VERSIONS.helm}`,
  ]);
}

/** Nodes become Ready and renew a lease; pods become Ready, complete and are removed when deleted. */
const KWOK_STAGES = [
  "node/fast/node-initialize.yaml",
  "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
  "pod/fast/pod-ready.yaml",
  "pod/fast/pod-complete.yaml",
  "pod/fast/pod-delete.yaml",
];

/**
 * k8s.io/kubernetes requires its staging modules at v0.0.0 (replaced by ./staging in its own repo), so it cannot be
 * built as a plain dependency: our scratch module replaces each staging module by its published v0.x.y tag.
 */
function buildKubernetes(go: string, env: NodeJS.ProcessEnv, out: string): Promise<void> {
  return buildKubernetesCmds(go, env, out, K8S_CMDS);
}

async function buildKubernetesCmds(
  go: string,
  env: NodeJS.ProcessEnv,
  out: string,
  cmds: string[],
): Promise<void> {
  const version = VERSIONS.kubernetes;
  const dir = cacheDir("build", `kubernetes-${version}`);
  await mkdir(dir, { recursive: true });
  // Outside the scratch module, so a go.mod left broken by an interrupted run cannot get in the way.
  const info = JSON.parse(
    await run(go, ["mod", "download", "-json", `k8s.io/kubernetes@${version}`], {
      cwd: cacheDir("build"),
      env,
    }),
  );
  await writeFile(join(dir, "go.mod"), scratchGoMod(await readFile(info.GoMod, "utf8"), version));
  const pkgs = cmds.map(c => `k8s.io/kubernetes/cmd/${c}@${version}`);
  await goStep("downloading Kubernetes modules", go, ["get", ...pkgs], dir, env);
  const [, major, minor] = /^v(\d+)\.(\d+)\./.exec(version)!;
  // What hack/lib/version.sh stamps; without it the binaries report v0.0.0-master and kubectl warns about skew.
  const ldflags = ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"].flatMap(p => [
    `-X ${p}.gitVersion=${version}`,
    `-X ${p}.gitMajor=${major}`,
    `-X ${p}.gitMinor=${minor}`,
    `-X ${p}.gitTreeState=clean`,
  ]);
  for (const cmd of cmds) {
    await goBuild(
      go,
      env,
      dir,
      join(out, cmd),
      `k8s.io/kubernetes/cmd/${cmd}`,
      ldflags,
      "selinux,notest,grpcnotrace",
    );
  }
}

export function scratchGoMod(upstream: string, version: string): string {
  const staging = [...upstream.matchAll(/^\s*(k8s\.io\/\S+)\s+=>\s+\.\/staging\//gm)].map(
    m => m[1],
  );
  if (staging.length === 0)
    throw new Error(`no staging replace directives found in k8s.io/kubernetes@${version} go.mod`);
  const goLine = /^go \S+$/m.exec(upstream)?.[0] ?? "";
  const godebug = /^godebug (\([\s\S]*?\)|.*)$/m.exec(upstream)?.[0] ?? "";
  const stagingVersion = version.replace(/^v1\./, "v0.");
  return [
    "module flink-pepr.local/kubernetes-build",
    "",
    goLine,
    godebug,
    "",
    `require k8s.io/kubernetes ${version}`,
    "",
    "replace (",
    ...staging.map(m => `\t${m} => ${m} ${stagingVersion}`),
    ")",
    "",
  ].join("\n");
}

/** Serialises builds between processes (cluster:up and a test run may start together). */
function withLock(fn: () => Promise<void>): Promise<void> {
  return withFileLock(cacheDir("build.lock"), "build", fn);
}
