import { describe, expect, it } from "vitest";
import { buildIngress } from "../../../lib/builders/ingress";
import { OPTIONS, expectGolden, fixture } from "./helpers";

const withIngress = (ingress: object) =>
  fixture("basic-ingress.yaml", raw => {
    raw.spec.ingress = ingress;
  });

describe("buildIngress", () => {
  it("host form: the template is the rule's host", () => {
    const ingress = buildIngress(fixture("basic-ingress.yaml"), OPTIONS)!;
    expectGolden("ingress-host", [ingress]);
    expect(ingress.spec!.rules).toEqual([
      {
        host: "basic-ingress.flink.flink.k8s.io",
        http: {
          paths: [
            {
              pathType: "ImplementationSpecific",
              backend: { service: { name: "basic-ingress-rest", port: { number: 8081 } } },
            },
          ],
        },
      },
    ]);
  });

  it("path form: no host, a regex path, the user's rewrite annotation kept", () => {
    const ingress = buildIngress(fixture("advanced-ingress.yaml"), OPTIONS)!;
    expectGolden("ingress-path", [ingress]);
    expect(ingress.spec!.ingressClassName).toBe("nginx");
    expect(ingress.spec!.rules![0].host).toBeUndefined();
    expect(ingress.spec!.rules![0].http!.paths[0].path).toBe("/flink/advanced-ingress(/|$)(.*)");
    expect(ingress.metadata!.annotations!["nginx.ingress.kubernetes.io/rewrite-target"]).toBe(
      "/$2",
    );
  });

  it("adds nginx's rewrite to the last capture group when a regex path has none", () => {
    const ingress = buildIngress(
      withIngress({ template: "example.com/{{namespace}}/{{name}}(/|$)(.*)", className: "nginx" }),
      OPTIONS,
    )!;
    expect(ingress.spec!.rules![0].host).toBe("example.com");
    expect(ingress.spec!.rules![0].http!.paths[0].path).toBe("/flink/basic-ingress(/|$)(.*)");
    expect(ingress.metadata!.annotations!["nginx.ingress.kubernetes.io/rewrite-target"]).toBe(
      "/$2",
    );
  });

  it("leaves other ingress controllers' annotations alone", () => {
    const ingress = buildIngress(
      withIngress({ template: "example.com/{{name}}(/|$)(.*)", className: "traefik" }),
      OPTIONS,
    )!;
    expect(ingress.metadata!.annotations).not.toHaveProperty(
      "nginx.ingress.kubernetes.io/rewrite-target",
    );
  });

  it("drops a scheme, fills placeholders in TLS hosts, carries labels and annotations", () => {
    const ingress = buildIngress(
      withIngress({
        template: "https://{{name}}.{{namespace}}.example.com",
        labels: { exposure: "public", app: "theirs" },
        annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
        tls: [{ hosts: ["{{name}}.{{namespace}}.example.com"], secretName: "{{name}}-tls" }],
      }),
      OPTIONS,
    )!;
    expect(ingress.spec!.rules![0].host).toBe("basic-ingress.flink.example.com");
    expect(ingress.spec!.tls).toEqual([
      { hosts: ["basic-ingress.flink.example.com"], secretName: "basic-ingress-tls" },
    ]);
    expect(ingress.metadata!.labels).toEqual({
      exposure: "public",
      app: "basic-ingress",
      type: "flink-native-kubernetes",
      component: "ingress",
    });
    expect(ingress.metadata!.annotations).toMatchObject({
      "cert-manager.io/cluster-issuer": "letsencrypt",
    });
  });

  it("points at the configured rest port, and builds nothing without spec.ingress", () => {
    const ingress = buildIngress(
      fixture("basic-ingress.yaml", raw => (raw.spec.flinkConfiguration!["rest.port"] = "8082")),
      OPTIONS,
    )!;
    expect(ingress.spec!.rules![0].http!.paths[0].backend.service!.port).toEqual({ number: 8082 });
    expect(buildIngress(fixture("basic.yaml"), OPTIONS)).toBeUndefined();
  });
});
