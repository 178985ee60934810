import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import forge from "node-forge";
import { eventually, getJson, kubectl, kubectlStdin, type Json } from "./helpers";

/**
 * What the session job e2e tests share: a local https server for jars whose CA the operator is told to trust,
 * and waiting for a FlinkSessionJob to run.
 */

const OPERATOR_CONFIG = { namespace: "pepr-system", name: "flink-operator-config" };

/** A CA and a certificate for the name `localhost` it signed: what the operator is told to trust. */
export function certificates() {
  const pki = forge.pki;
  const caKeys = pki.rsa.generateKeyPair(2048);
  const ca = pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = "01";
  ca.validity.notBefore = new Date(Date.now() - 86_400_000);
  ca.validity.notAfter = new Date(Date.now() + 86_400_000);
  ca.setSubject([{ name: "commonName", value: "flink-pepr-operator e2e CA" }]);
  ca.setIssuer(ca.subject.attributes);
  ca.setExtensions([
    { name: "basicConstraints", cA: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());
  const keys = pki.rsa.generateKeyPair(2048);
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = "02";
  cert.validity.notBefore = ca.validity.notBefore;
  cert.validity.notAfter = ca.validity.notAfter;
  cert.setSubject([{ name: "commonName", value: "localhost" }]);
  cert.setIssuer(ca.subject.attributes);
  cert.setExtensions([
    { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }] },
    { name: "extKeyUsage", serverAuth: true },
  ]);
  cert.sign(caKeys.privateKey, forge.md.sha256.create());
  return {
    ca: pki.certificateToPem(ca),
    cert: pki.certificateToPem(cert),
    key: pki.privateKeyToPem(keys.privateKey),
  };
}

export interface JarServer {
  /** `https://localhost:<port>`. */
  base: string;
  /** Requests per path. */
  hits: Map<string, number>;
  /** The CA that signed the server's certificate, PEM. */
  ca: string;
  close: () => Promise<void>;
}

/**
 * Serves `jar` on every path of https://localhost:<port> (listening on 127.0.0.1), counting requests per path;
 * `route` may answer a request itself (returns true when it did).
 */
export async function serveJar(
  jar: Buffer,
  route?: (path: string, res: ServerResponse<IncomingMessage>) => boolean,
): Promise<JarServer> {
  const tls = certificates();
  const hits = new Map<string, number>();
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const path = req.url ?? "";
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (!route?.(path, res)) res.end(jar);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    base: `https://localhost:${(server.address() as AddressInfo).port}`,
    hits,
    ca: tls.ca,
    close: () => new Promise(r => server.close(() => r())),
  };
}

/**
 * The operator ConfigMap that lets the operator fetch from the server: `localhost` allowed although internal,
 * its CA trusted. Returns once admission takes it (`probe`: a server-side dry run of a session job on it).
 */
export async function trustJarServer(
  server: JarServer,
  probe: () => Promise<unknown>,
): Promise<void> {
  await kubectlStdin(
    JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "pepr-system" } }),
    "apply",
    "-f",
    "-",
  );
  await kubectlStdin(
    JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: OPERATOR_CONFIG,
      data: {
        "config.yaml": [
          "kubernetes.operator.user.artifacts.allowed-internal-hosts: localhost",
          "kubernetes.operator.user.artifacts.trusted-ca: |",
          ...server.ca
            .trim()
            .split("\n")
            .map(l => `  ${l}`),
          "",
        ].join("\n"),
      },
    }),
    "apply",
    "-f",
    "-",
  );
  // Admission reads the ConfigMap within seconds of a change.
  await eventually(
    "the operator ConfigMap in effect",
    () =>
      probe().then(
        () => true,
        () => false,
      ),
    60_000,
  );
}

export const removeOperatorConfig = () =>
  kubectl(
    "delete",
    "configmap",
    OPERATOR_CONFIG.name,
    "-n",
    OPERATOR_CONFIG.namespace,
    "--ignore-not-found",
  );

/** The session job once its job runs its current generation, with no stop under way. */
export const runningSessionJob = (ns: string, name: string, timeoutMs = 240_000): Promise<Json> =>
  eventually(
    `${name} RUNNING`,
    async () => {
      const j = await getJson("flinksessionjob", name, "-n", ns);
      const s = j.status ?? {};
      return (
        s.observedGeneration === j.metadata.generation &&
        s.jobStatus?.state === "RUNNING" &&
        s.reconciliationStatus?.state === "DEPLOYED" &&
        !s.reconciliationStatus?.operation &&
        j
      );
    },
    timeoutMs,
  );
