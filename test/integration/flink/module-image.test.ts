import { statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheDir } from "../../../lib/cache";
import { startControlPlane, type ControlPlane } from "../../../scripts/sandbox/controlplane";
import { installCrds } from "../../../scripts/sandbox/crds";
import { ensureDist, type Dist } from "../../../scripts/sandbox/dist";
import { normalizeRef } from "../../../scripts/sandbox/image-archive";
import {
  CONTROLLER_UID,
  MODULE_IMAGE,
  NODE_RUNTIME,
  PEPR_CONTROLLER_IMAGE,
  ensureModuleImage,
} from "../../../scripts/sandbox/image-module";
import type { ImageArchive } from "../../../scripts/sandbox/images";
import { freePort, get, run, sleep } from "../../../scripts/sandbox/proc";
import {
  processesIn,
  runInImage,
  unpackImage,
  waitWhileRunning,
  type Started,
  type UnpackedImage,
} from "./image-run";

/** The control plane's and the controllers' logs of the last run. */
const LOG_DIR = cacheDir("sandbox", "logs", "flink-module-image");
/** Pepr 1.1.4 listens on this port of every interface, in both controllers, with no way to change it. */
const PEPR_PORT = 3000;

function measure(what: string, value: string) {
  process.stdout.write(`[measure] ${what}: ${value}\n`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, () => srv.close(() => resolve(true)));
  });
}

/**
 * The module's image (Pepr's controller image, built locally: Node.js from the npm registry, pepr and its runtime
 * dependencies) run for real without a node: its layers unpacked, Pepr's controller entry started as the
 * admission and watcher Deployments of `pepr build` start it (same arguments, environment, user 65532, the module
 * Secret's file at /app/load, the TLS Secret at /etc/certs) in its own mount and pid namespaces, against a control
 * plane of its own on loopback.
 */
describe("the module image", () => {
  let work: string;
  let archive: ImageArchive;
  let image: UnpackedImage;
  let dist: Dist;
  let cp: ControlPlane | undefined;
  const running: Started[] = [];

  const kubectl = (...args: string[]) =>
    run(cp!.kubectl, [`--kubeconfig=${cp!.kubeconfig}`, ...args], { quiet: true });

  beforeAll(async () => {
    if (process.getuid?.() !== 0)
      throw new Error("module-image.test.ts needs root: it uses unshare, mount and chroot");
    work = await mkdtemp(join(tmpdir(), "it-module-image-"));
    const started = Date.now();
    archive = await ensureModuleImage();
    measure("ensureModuleImage", `${((Date.now() - started) / 1000).toFixed(1)} s`);
    measure("module image archive", `${(statSync(archive.file).size / 2 ** 20).toFixed(0)} MiB`);
    dist = await ensureDist();
    image = await unpackImage(archive, join(work, "image"));
    await rm(LOG_DIR, { recursive: true, force: true });
    await mkdir(LOG_DIR, { recursive: true });
    cp = await startControlPlane({ logDir: LOG_DIR });
    await installCrds(cp);
    // The manifests create it; Pepr keeps its store there.
    await kubectl("create", "namespace", "pepr-system");
    // What the Deployments mount: the module Secret at /app/load, the TLS Secret at /etc/certs, the API path.
    await mkdir(join(image.rootfs, "app", "load"), { recursive: true });
    await writeFile(join(image.rootfs, "app", "load", `module-${dist.hash}.js.gz`), dist.moduleGz);
    await mkdir(join(image.rootfs, "etc", "certs"), { recursive: true });
    await writeFile(join(image.rootfs, "etc", "certs", "tls.crt"), dist.tls.crt);
    await writeFile(join(image.rootfs, "etc", "certs", "tls.key"), dist.tls.key, { mode: 0o644 });
    await mkdir(join(image.rootfs, "app", "api-path"), { recursive: true });
    await writeFile(join(image.rootfs, "app", "api-path", "value"), dist.apiPath);
    // In a pod the service account's token and CA; here the control plane's kubeconfig (CA embedded).
    await writeFile(join(image.rootfs, "kubeconfig"), await readFile(cp.kubeconfig), {
      mode: 0o644,
    });
  });

  afterAll(async () => {
    for (const p of running.splice(0)) await p.stop();
    await cp?.stop();
    if (!work) return;
    const left = image ? processesIn(image.rootfs) : [];
    await rm(work, { recursive: true, force: true });
    expect(left, "processes left running in the image").toEqual([]);
  });

  it("is tagged with the sandbox's name and the one pepr build's manifests name", () => {
    expect(archive.refs).toEqual([normalizeRef(MODULE_IMAGE), normalizeRef(PEPR_CONTROLLER_IMAGE)]);
    expect(dist.manifests.filter(m => m.kind === "Deployment")).toHaveLength(2);
    for (const dep of dist.manifests.filter(m => m.kind === "Deployment"))
      expect(dep.spec.template.spec.containers[0].image).toBe(PEPR_CONTROLLER_IMAGE);
  });

  it(`runs node ${NODE_RUNTIME.version} as its entrypoint, in /app, as user ${CONTROLLER_UID}`, async () => {
    expect(image.run.Entrypoint).toEqual(["/usr/local/bin/node"]);
    expect(image.run.WorkingDir).toBe("/app");
    expect((image.run as { User?: string }).User).toBe(`${CONTROLLER_UID}:${CONTROLLER_UID}`);
    const out = join(work, "version.log");
    const started = runInImage({ image, args: ["--version"], outFile: out });
    expect(await started.exited).toBe(0);
    expect(started.output().trim()).toBe(`v${NODE_RUNTIME.version}`);
    const pepr = JSON.parse(
      await readFile(join(image.rootfs, "app/node_modules/pepr/package.json"), "utf8"),
    );
    expect(pepr.version).toBe("1.1.4");
    expect(statSync(join(image.rootfs, "app")).uid).toBe(CONTROLLER_UID);
  });

  /** Pepr's controller entry as a Deployment of dist starts it, as user 65532, with its environment. */
  async function startController(controller: "watcher" | "admission", healthPort: number) {
    if (!(await portFree(PEPR_PORT)))
      throw new Error(
        `port ${PEPR_PORT} is taken on this machine; Pepr's controller listens there (every interface)`,
      );
    const dep = dist.manifests.find(
      m => m.kind === "Deployment" && m.metadata.labels["pepr.dev/controller"] === controller,
    );
    const container = dep.spec.template.spec.containers[0];
    const env: Record<string, string> = Object.fromEntries(
      (container.env as { name: string; value: string }[]).map(e => [e.name, e.value]),
    );
    const asController = {
      ...image,
      run: {
        ...image.run,
        // The pod's securityContext: runAsUser/runAsGroup 65532.
        Entrypoint: [
          "/usr/bin/setpriv",
          `--reuid=${CONTROLLER_UID}`,
          `--regid=${CONTROLLER_UID}`,
          "--clear-groups",
          ...image.run.Entrypoint,
        ],
      },
    };
    const started = runInImage({
      image: asController,
      args: container.args,
      env: {
        ...env,
        LOG_LEVEL: "debug",
        KUBECONFIG: "/kubeconfig",
        FLINK_OPERATOR_HEALTH_ADDRESS: `127.0.0.1:${healthPort}`,
      },
      outFile: join(LOG_DIR, `${controller}.log`),
    });
    running.push(started);
    return started;
  }

  it("runs Pepr's controller as the watcher Deployment does: the module verified, started, ready and reconciling", async () => {
    const healthPort = await freePort();
    const t0 = Date.now();
    const watcher = await startController("watcher", healthPort);
    await waitWhileRunning(
      "the watcher's /readyz",
      watcher,
      async () =>
        (await get(`http://127.0.0.1:${healthPort}/readyz`).catch(() => ({ status: 0 }))).status ===
        200,
      120_000,
    );
    measure(
      "module image, watcher: start to /readyz 200",
      `${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    expect(watcher.output()).toContain("Pepr Controller (v1.1.4)");
    // The controller applied Pepr's store CRD, then wrote the module it verified, as user 65532.
    await kubectl("get", "crd", "peprstores.pepr.dev");
    expect(statSync(join(image.rootfs, "app", `module-${dist.hash}.js`)).uid).toBe(CONTROLLER_UID);
    const healthz = await get(`https://127.0.0.1:${PEPR_PORT}/healthz`, { pinned: dist.tls.crt });
    expect(healthz.status).toBe(200);

    // A FlinkDeployment gets the operator's finalizer from the module in the image.
    await kubectl("create", "namespace", "module-image");
    const manifest = join(work, "fd.json");
    await writeFile(
      manifest,
      JSON.stringify({
        apiVersion: "flink.apache.org/v1beta1",
        kind: "FlinkDeployment",
        metadata: { name: "in-image", namespace: "module-image" },
        spec: {
          image: "flink:2.2",
          flinkVersion: "v2_2",
          serviceAccount: "flink",
          jobManager: { resource: { memory: "1024m", cpu: 0.5 } },
          taskManager: { resource: { memory: "1024m", cpu: 0.5 } },
        },
      }),
    );
    await kubectl("create", "-f", manifest);
    await waitWhileRunning(
      "the operator's finalizer on a FlinkDeployment",
      watcher,
      async () =>
        (
          await kubectl(
            "get",
            "flinkdeployment",
            "in-image",
            "-n",
            "module-image",
            "-o",
            "jsonpath={.metadata.finalizers}",
          )
        ).includes("flinkdeployments.flink.apache.org/finalizer"),
      60_000,
    );
    const pid = (
      await readFile(`/proc/${watcher.child.pid}/task/${watcher.child.pid}/children`, "utf8")
    )
      .trim()
      .split(" ")[0];
    expect((await readFile(`/proc/${pid}/status`, "utf8")).match(/^Uid:\s*(\d+)/m)?.[1]).toBe(
      String(CONTROLLER_UID),
    );
    await watcher.stop();
  });

  it("runs Pepr's controller as the admission Deployment does: it serves /healthz over TLS", async () => {
    // The watcher's server must be gone from the shared port first.
    for (let i = 0; i < 50 && !(await portFree(PEPR_PORT)); i++) await sleep(100);
    const admission = await startController("admission", await freePort());
    await waitWhileRunning(
      "the admission controller's /healthz",
      admission,
      async () =>
        (
          await get(`https://127.0.0.1:${PEPR_PORT}/healthz`, { pinned: dist.tls.crt }).catch(
            () => ({ status: 0 }),
          )
        ).status === 200,
      120_000,
    );
    expect(admission.output()).toContain("Pepr Controller (v1.1.4)");
    await admission.stop();
  });
});
