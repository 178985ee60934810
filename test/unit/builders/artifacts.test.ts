import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { fetchedJar } from "../../../lib/builders/artifacts";
import { buildNativeCluster } from "../../../lib/builders/native";
import { buildStandaloneCluster } from "../../../lib/builders/standalone";
import { OPTIONS, expectGolden, fixture } from "./helpers";

describe("fetchedJar", () => {
  it("leaves jars in the image alone", () => {
    expect(fetchedJar("local:///opt/flink/usrlib/job.jar", {})).toBeUndefined();
    expect(fetchedJar("file:///opt/flink/job.jar", {})).toBeUndefined();
    expect(fetchedJar(undefined, {})).toBeUndefined();
  });

  it("fetches http(s) jars with curl, into a file of their own in usrlib", () => {
    const jar = fetchedJar("https://example.com/jobs/my%20job.jar?token=1", {})!;
    expect(jar.localUri).toBe("local:///opt/flink/usrlib/my_job.jar");
    expect(jar.initContainer.image).toBe("curlimages/curl:8.11.1");
    expect(jar.initContainer.command).toEqual([
      "curl",
      "--fail",
      "--silent",
      "--show-error",
      "--location",
      "--retry",
      "3",
      "--output",
      "/flink-artifacts/my_job.jar",
      "https://example.com/jobs/my%20job.jar?token=1",
    ]);
    expect(jar.mainMount).toEqual({
      name: "flink-artifacts",
      mountPath: "/opt/flink/usrlib/my_job.jar",
      subPath: "my_job.jar",
      readOnly: true,
    });
  });

  it("names the local copy safely whatever the URL's path", () => {
    expect(fetchedJar("https://example.com/", {})!.localUri).toBe(
      "local:///opt/flink/usrlib/job.jar",
    );
    expect(fetchedJar("https://example.com/a/%E0%A4%A.jar", {})!.localUri).toBe(
      "local:///opt/flink/usrlib/_E0_A4_A.jar",
    );
    expect(fetchedJar("https://example.com/..%2F..%2Fetc", {})!.localUri).toBe(
      "local:///opt/flink/usrlib/_.._etc.jar",
    );
  });

  it("fetches s3, s3a and s3p jars with the AWS CLI", () => {
    const jar = fetchedJar("s3a://bucket/path/job-1.0", {})!;
    expect(jar.localUri).toBe("local:///opt/flink/usrlib/job-1.0.jar");
    expect(jar.initContainer.image).toBe("amazon/aws-cli:2.22.0");
    expect(jar.initContainer.command).toEqual([
      "aws",
      "s3",
      "cp",
      "s3://bucket/path/job-1.0",
      "/flink-artifacts/job-1.0.jar",
    ]);
  });

  it("takes its images from the operator options", () => {
    const jar = fetchedJar("https://example.com/job.jar", {
      "kubernetes.operator.artifact-fetcher.image": "registry.local/curl:1",
    })!;
    expect(jar.initContainer.image).toBe("registry.local/curl:1");
    const s3 = fetchedJar("s3://b/job.jar", {
      "kubernetes.operator.artifact-fetcher.s3.image": "registry.local/aws:2",
    })!;
    expect(s3.initContainer.image).toBe("registry.local/aws:2");
  });

  it("never copies the header option into the pod: anyone who may read pods would see it", () => {
    const jar = fetchedJar("https://example.com/job.jar", {
      // Flink's map syntax: a value holding ':' is quoted, and the quoted entry quoted again for ','.
      "kubernetes.operator.user.artifacts.http.header":
        "'Authorization:''Bearer abc:def''',X-Team:data",
    })!;
    expect(JSON.stringify(jar)).not.toMatch(/Authorization|Bearer|abc|X-Team/);
    expect(jar.initContainer.command).not.toContain("--header");
  });

  it("sends the headers of a Secret, which curl reads from a file", () => {
    const jar = fetchedJar("https://example.com/job.jar", {
      "kubernetes.operator.artifact-fetcher.http-headers.secret": "jar-repo-token",
    })!;
    const command = jar.initContainer.command!;
    const at = command.indexOf("--header");
    expect(command.slice(at, at + 2)).toEqual(["--header", "@/etc/artifact-fetcher/headers"]);
    expect(jar.initContainer.volumeMounts).toContainEqual({
      name: "artifact-fetcher-headers",
      mountPath: "/etc/artifact-fetcher",
      readOnly: true,
    });
    expect(jar.volumes).toContainEqual({
      name: "artifact-fetcher-headers",
      secret: { secretName: "jar-repo-token", items: [{ key: "headers", path: "headers" }] },
    });
    // The AWS CLI takes no headers; its credentials come from the pod template.
    const s3 = fetchedJar("s3://b/job.jar", {
      "kubernetes.operator.artifact-fetcher.http-headers.secret": "jar-repo-token",
    })!;
    expect(s3.volumes).toEqual([{ name: "flink-artifacts", emptyDir: {} }]);
  });
});

describe("a cluster with a remote jar", () => {
  it("native: the JobManager fetches it before start and runs the local copy", () => {
    const cluster = buildNativeCluster(fixture("remote-jar.yaml"), OPTIONS);
    expectGolden("remote-jar-native", [cluster.configMap.data!["config.yaml"], cluster.jobManager]);
    const pod = cluster.jobManager.spec!.template.spec!;
    expect(pod.initContainers!.map(c => c.name)).toEqual(["artifact-fetcher"]);
    expect(pod.volumes).toContainEqual({ name: "flink-artifacts", emptyDir: {} });
    const config = parse(cluster.configMap.data!["config.yaml"]);
    expect(config["pipeline.jars"]).toBe(
      "local:///opt/flink/usrlib/flink-examples-streaming-2.2.0.jar",
    );
    expect(config["$internal.application.program-args"]).toBe("--input;'a;b';'it''s'");
  });

  it("native: a template init container of the same name adjusts the fetcher (credentials, proxy)", () => {
    const deployment = fixture("remote-jar.yaml", raw => {
      raw.spec.jobManager!.podTemplate = {
        spec: {
          initContainers: [
            { name: "setup", image: "busybox:1.36" },
            {
              name: "artifact-fetcher",
              env: [{ name: "HTTPS_PROXY", value: "http://proxy:3128" }],
            },
          ],
        },
      };
    });
    const init = buildNativeCluster(deployment, OPTIONS).jobManager.spec!.template.spec!
      .initContainers!;
    expect(init.map(c => c.name)).toEqual(["artifact-fetcher", "setup"]);
    expect(init[0].image).toBe("curlimages/curl:8.11.1");
    expect(init[0].env).toEqual([{ name: "HTTPS_PROXY", value: "http://proxy:3128" }]);
  });

  it("native: the headers Secret is mounted into the fetcher only, not into Flink's containers", () => {
    const deployment = fixture("remote-jar.yaml", raw => {
      raw.spec.flinkConfiguration = {
        ...raw.spec.flinkConfiguration,
        "kubernetes.operator.artifact-fetcher.http-headers.secret": "jar-repo-token",
      };
    });
    const pod = buildNativeCluster(deployment, OPTIONS).jobManager.spec!.template.spec!;
    expect(pod.volumes).toContainEqual({
      name: "artifact-fetcher-headers",
      secret: { secretName: "jar-repo-token", items: [{ key: "headers", path: "headers" }] },
    });
    expect(pod.initContainers![0].volumeMounts!.map(m => m.name)).toContain(
      "artifact-fetcher-headers",
    );
    for (const c of pod.containers)
      expect((c.volumeMounts ?? []).map(m => m.name)).not.toContain("artifact-fetcher-headers");
  });

  it("standalone: both roles fetch it, since both load the job's classes", () => {
    const deployment = fixture("remote-jar.yaml", raw => (raw.spec.mode = "standalone"));
    const cluster = buildStandaloneCluster(deployment, OPTIONS);
    expectGolden("remote-jar-standalone", [cluster.taskManager.spec!.template]);
    for (const set of [cluster.jobManager, cluster.taskManager]) {
      expect(set.spec!.template.spec!.initContainers!.map(c => c.name)).toEqual([
        "artifact-fetcher",
      ]);
    }
    expect(cluster.configMap.data!["config.yaml"]).toContain(
      "pipeline.classpaths: file:///opt/flink/usrlib/flink-examples-streaming-2.2.0.jar",
    );
  });
});
