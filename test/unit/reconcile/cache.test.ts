import type { KubernetesObject } from "@kubernetes/client-node";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { KindCache, type Phase } from "../../../lib/reconcile/cache";
import { keepPod, keepWorkload } from "../../../lib/reconcile/caches";

/** A fake apiserver: lists answered from `pages`, watches handed to the test to feed. */
const server = vi.hoisted(() => ({
  pages: [] as { items: object[]; metadata: { resourceVersion: string } }[],
  lists: 0,
  watches: [] as { path: string; onLine: (l: string) => void; end: (e?: unknown) => void }[],
}));

vi.mock("../../../lib/reconcile/api", async importOriginal => ({
  ...(await importOriginal<typeof import("../../../lib/reconcile/api")>()),
  call: async () => {
    server.lists++;
    return server.pages.shift() ?? { items: [], metadata: { resourceVersion: "1" } };
  },
  stream: (
    path: string,
    _accept: string,
    onLine: (l: string) => void,
    _idle: number,
    connected: () => void,
  ) => {
    let end: (e?: unknown) => void = () => {};
    const done = new Promise<void>((resolve, reject) => {
      end = e => (e ? reject(e) : resolve());
    });
    server.watches.push({ path, onLine, end });
    connected();
    return { done, stop: () => end() };
  },
}));

const pod = (name: string, rv: string, uid = `${name}-uid`, app = "a") => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "ns", uid, resourceVersion: rv, labels: { app, component: "jm" } },
});
const line = (type: string, object: object) => JSON.stringify({ type, object });
const tick = () => new Promise(r => setTimeout(r, 0));
const lastWatch = () => server.watches.at(-1)!;

async function started(items: object[], rv: string) {
  server.pages.push({ items, metadata: { resourceVersion: rv } });
  const cache = new KindCache({ kind: "Pod", keep: o => o, indexLabel: "app" });
  const seen: string[] = [];
  cache.onChange((o: KubernetesObject, phase: Phase) => seen.push(`${phase} ${o.metadata?.name}`));
  cache.start();
  expect(await cache.current(1_000)).toBe(true);
  return { cache, seen };
}

describe("KindCache", () => {
  beforeEach(() => {
    server.pages = [];
    server.lists = 0;
    server.watches = [];
  });

  it("reports the first list as ADDED, watches from its resourceVersion and takes in events", async () => {
    const { cache, seen } = await started([pod("p1", "5")], "10");
    expect(lastWatch().path).toContain("resourceVersion=10");
    expect(lastWatch().path).toContain("allowWatchBookmarks=true");
    lastWatch().onLine(line("ADDED", pod("p2", "11")));
    lastWatch().onLine(line("DELETED", pod("p1", "12")));
    expect(cache.list("ns", { app: "a" }).map(o => o.metadata?.name)).toEqual(["p2"]);
    expect(seen).toEqual(["ADDED p1", "ADDED p2", "DELETED p1"]);
    cache.stop();
  });

  it("makes a read wait for a version the process wrote until the watch delivers it", async () => {
    const { cache } = await started([pod("p1", "5")], "10");
    cache.expect(pod("p1", "12") as KubernetesObject);
    let answered: boolean | undefined;
    const read = cache.current(5_000).then(ok => (answered = ok));
    await tick();
    expect(answered).toBeUndefined();
    lastWatch().onLine(line("MODIFIED", pod("p1", "12")));
    await read;
    expect(answered).toBe(true);
    cache.stop();
  });

  it("counts a bookmark past the written version as delivered", async () => {
    const { cache } = await started([], "10");
    cache.expect(pod("p1", "12") as KubernetesObject);
    lastWatch().onLine(line("BOOKMARK", { kind: "Pod", metadata: { resourceVersion: "13" } }));
    expect(await cache.current(100)).toBe(true);
    cache.stop();
  });

  it("gives up waiting after the time allowed: the caller asks the apiserver", async () => {
    const { cache } = await started([], "10");
    cache.expect(pod("p1", "12") as KubernetesObject);
    expect(await cache.current(50)).toBe(false);
    cache.stop();
  });

  it("never waits on a resourceVersion that is not a number: reads go to the apiserver", async () => {
    const { cache } = await started([], "10");
    cache.expect(pod("p1", "abc") as KubernetesObject);
    expect(await cache.current(1_000)).toBe(false);
    cache.stop();
  });

  it("forgets an object deleted at once, and a late event of that uid does not bring it back", async () => {
    const { cache } = await started([pod("p1", "5")], "10");
    cache.deleted("ns", "p1", "p1-uid");
    expect(cache.get("ns", "p1")).toBeUndefined();
    lastWatch().onLine(line("MODIFIED", pod("p1", "11")));
    expect(cache.get("ns", "p1")).toBeUndefined();
    lastWatch().onLine(line("DELETED", pod("p1", "12")));
    // A namesake created afterwards has another uid.
    lastWatch().onLine(line("ADDED", pod("p1", "13", "other-uid")));
    expect(cache.get("ns", "p1")?.metadata?.uid).toBe("other-uid");
    cache.stop();
  });

  it("watches again from the last version after the stream ends, without listing", async () => {
    const { cache } = await started([], "10");
    lastWatch().onLine(line("ADDED", pod("p1", "14")));
    lastWatch().end();
    await tick();
    await tick();
    expect(server.watches).toHaveLength(2);
    expect(lastWatch().path).toContain("resourceVersion=14");
    expect(server.lists).toBe(1);
    cache.stop();
  });

  it("lists again on 410 Gone and reports what changed meanwhile as events", async () => {
    const { cache, seen } = await started([pod("p1", "5"), pod("p2", "6")], "10");
    server.pages.push({
      items: [pod("p2", "20"), pod("p3", "21")],
      metadata: { resourceVersion: "30" },
    });
    lastWatch().onLine(line("ERROR", { kind: "Status", code: 410, message: "too old" }));
    await vi.waitFor(() => expect(server.watches).toHaveLength(2));
    expect(seen.slice(2)).toEqual(["DELETED p1", "MODIFIED p2", "ADDED p3"]);
    expect(lastWatch().path).toContain("resourceVersion=30");
    expect(
      cache
        .all()
        .map(o => o.metadata?.name)
        .sort(),
    ).toEqual(["p2", "p3"]);
    cache.stop();
  });

  it("reports a failed watch and a reconnection as a fluent-client watch does", async () => {
    const { cache } = await started([], "10");
    const events: string[] = [];
    cache.events.on("network_error", () => events.push("network_error"));
    cache.events.on("reconnect", (n: number) => events.push(`reconnect ${n}`));
    cache.events.on("connect", () => events.push("connect"));
    lastWatch().end(new Error("ECONNREFUSED"));
    await vi.waitFor(() => expect(server.watches).toHaveLength(2), { timeout: 2_000 });
    expect(events).toEqual(["network_error", "reconnect 1", "connect"]);
    cache.stop();
  });

  it("lists by namespace and labels through the index", async () => {
    const { cache } = await started(
      [
        pod("p1", "5"),
        pod("p2", "6", "u2", "b"),
        { ...pod("p3", "7"), metadata: { ...pod("p3", "7").metadata, namespace: "other" } },
      ],
      "10",
    );
    expect(cache.list("ns", { app: "a" }).map(o => o.metadata?.name)).toEqual(["p1"]);
    expect(cache.list("ns", { app: "b", component: "jm" }).map(o => o.metadata?.name)).toEqual([
      "p2",
    ]);
    expect(cache.list("ns", { app: "b", component: "tm" })).toEqual([]);
    expect(cache.list("other", { app: "a" }).map(o => o.metadata?.name)).toEqual(["p3"]);
    cache.stop();
  });
});

describe("what the caches keep", () => {
  const meta = {
    name: "jm",
    namespace: "ns",
    uid: "u",
    resourceVersion: "7",
    labels: { app: "x" },
    annotations: {
      "flink-pepr-operator/cluster-hash": "h",
      "kubectl.kubernetes.io/last-applied": "{...}",
    },
    managedFields: [{ manager: "pepr" }],
    ownerReferences: [
      {
        apiVersion: "flink.apache.org/v1beta1",
        kind: "FlinkDeployment",
        name: "x",
        uid: "o",
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };

  it("keeps of a workload its identity, owner, own annotations, replicas and readiness", () => {
    const kept = keepWorkload({
      kind: "Deployment",
      metadata: meta,
      spec: { replicas: 1, template: { spec: { containers: [] } } },
      status: {
        replicas: 1,
        readyReplicas: 1,
        observedGeneration: 3,
        conditions: [{ type: "Available", status: "True", lastUpdateTime: "t" }],
      },
    } as KubernetesObject);
    expect(kept).toEqual({
      kind: "Deployment",
      metadata: {
        name: "jm",
        namespace: "ns",
        uid: "u",
        resourceVersion: "7",
        labels: { app: "x" },
        annotations: { "flink-pepr-operator/cluster-hash": "h" },
        ownerReferences: [
          {
            apiVersion: "flink.apache.org/v1beta1",
            kind: "FlinkDeployment",
            name: "x",
            uid: "o",
            controller: true,
          },
        ],
      },
      spec: { replicas: 1 },
      status: {
        replicas: 1,
        readyReplicas: 1,
        conditions: [{ type: "Available", status: "True", reason: undefined, message: undefined }],
      },
    });
  });

  it("keeps of a pod its phase, conditions and container states, not its spec", () => {
    const waiting = { waiting: { reason: "CrashLoopBackOff", message: "back-off" } };
    const kept = keepPod({
      kind: "Pod",
      metadata: meta,
      spec: { containers: [{ name: "c", image: "i" }] },
      status: {
        phase: "Running",
        podIP: "10.0.0.1",
        conditions: [
          { type: "PodScheduled", status: "False", reason: "Unschedulable", message: "no" },
        ],
        containerStatuses: [
          {
            name: "c",
            image: "i",
            imageID: "sha",
            ready: false,
            restartCount: 3,
            state: waiting,
            lastState: {},
          },
        ],
      },
    } as KubernetesObject) as Record<string, unknown>;
    expect(kept.spec).toBeUndefined();
    expect(kept.status).toEqual({
      phase: "Running",
      conditions: [
        { type: "PodScheduled", status: "False", reason: "Unschedulable", message: "no" },
      ],
      containerStatuses: [
        { name: "c", image: "i", ready: false, restartCount: 3, state: waiting, lastState: {} },
      ],
      initContainerStatuses: undefined,
    });
  });
});
