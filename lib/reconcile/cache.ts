import type { KubernetesObject } from "@kubernetes/client-node";
import { EventEmitter } from "node:events";
import { WatchEvent } from "kubernetes-fluent-client/dist/fluent/watch.js";
import { log } from "../log";
import { call, pathOf, stream, type Kind } from "./api";
import { errorText } from "./errors";

/**
 * A watch-fed copy of one kind (list, then watch from the list's resourceVersion, on the reconciler's connection
 * pool), so that a pass reads memory instead of listing. It keeps only what `keep` returns of each object.
 *
 * Read-your-writes: a write of the process reports the resourceVersion the apiserver answered with
 * (`expect`), and so does another watch's event that wakes a pass (Pepr's); a read first waits until the
 * watch has delivered that version (`current`), which it does since every object the operator writes matches
 * the watch's selector. Only etcd's revisions order resourceVersions;
 * a version that is not a number makes reads fall back to the apiserver. A deletion that removed the object at
 * once (`gone`) removes it here at once too; its own DELETED event follows.
 *
 * After a dropped watch it watches again from the last version seen (events, bookmarks); when that version is
 * too old for the apiserver (410 Gone), it lists again and reports what changed meanwhile as events.
 */
export type Phase = "ADDED" | "MODIFIED" | "DELETED";

export interface KindCacheOptions {
  kind: Kind;
  labelSelector?: string;
  /** Objects as PartialObjectMetadata: the apiserver sends metadata only (ConfigMaps' data, Services' specs). */
  metadataOnly?: boolean;
  /** What is kept of an object (memory): only the fields the passes read. */
  keep: (o: KubernetesObject) => KubernetesObject;
  /** A label the reads select by besides the namespace (app, target.session): indexed. */
  indexLabel?: string;
}

/** How long a watch may be silent (no event, no bookmark; the apiserver sends one about every minute). */
const IDLE_MS = 150_000;
/** A watch asks the apiserver to end it after this long (the apiserver picks up to twice as long by default). */
const WATCH_SECONDS = 600;
const PAGE = 500;
const RETRY_MS = [500, 1_000, 2_000, 5_000];

const META = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
const META_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

const keyOf = (namespace: string | undefined, name: string | undefined) =>
  `${namespace ?? ""}/${name ?? ""}`;
const revision = (rv: string | undefined) => (rv && /^\d+$/.test(rv) ? BigInt(rv) : undefined);

interface Waiter {
  rv: bigint;
  resolve: (ok: boolean) => void;
}

export class KindCache {
  /** WatchEvent connect / network_error / reconnect, as a fluent-client Watcher emits them (module-health.ts). */
  readonly events = new EventEmitter();
  private objects = new Map<string, KubernetesObject>();
  /** namespace/label value -> keys. */
  private index = new Map<string, Set<string>>();
  private rv = 0n;
  private listedRv: string | undefined;
  private wanted = 0n;
  /** A resourceVersion that was not a number: reads go to the apiserver. */
  private unordered = false;
  private synced = false;
  private waiters: Waiter[] = [];
  private gone = new Set<string>();
  private handlers: ((o: KubernetesObject, phase: Phase) => void)[] = [];
  private stopped = false;
  private stopWatch = () => {};

  constructor(readonly opts: KindCacheOptions) {}

  /** Calls fn for every change the watch (or a new list) reports, after the copy took it in. */
  onChange(fn: (o: KubernetesObject, phase: Phase) => void): void {
    this.handlers.push(fn);
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.stopWatch();
    for (const w of this.waiters.splice(0)) w.resolve(false);
  }

  /** Listed, and up to date with every version reported by `expect`; false after maxWaitMs. */
  current(maxWaitMs: number): Promise<boolean> {
    if (this.unordered || this.stopped) return Promise.resolve(false);
    if (this.synced && this.wanted <= this.rv) return Promise.resolve(true);
    return new Promise(resolve => {
      const w: Waiter = { rv: this.wanted, resolve };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter(x => x !== w);
        resolve(false);
      }, maxWaitMs);
      timer.unref?.();
      w.resolve = ok => {
        clearTimeout(timer);
        resolve(ok);
      };
      this.waiters.push(w);
    });
  }

  /** A version known to exist (a write's answer, another watch's event): the next read waits for it. */
  expect(o: KubernetesObject | undefined): void {
    const rv = o?.metadata?.resourceVersion;
    if (rv === undefined) return;
    const n = revision(rv);
    if (n === undefined) this.unordered = true;
    else if (n > this.wanted) this.wanted = n;
  }

  /** The object with this uid was deleted at once: not read any more, whatever late events say. */
  deleted(namespace: string, name: string, uid: string): void {
    const key = keyOf(namespace, name);
    const o = this.objects.get(key);
    this.gone.add(uid);
    if (o?.metadata?.uid === uid) this.remove(key, o);
  }

  get(namespace: string | undefined, name: string): KubernetesObject | undefined {
    return this.objects.get(keyOf(namespace, name));
  }

  /** Objects in the namespace carrying every label given (the index label among them, when set). */
  list(namespace: string, labels: Record<string, string>): KubernetesObject[] {
    const by = this.opts.indexLabel;
    const keys =
      by && labels[by] !== undefined
        ? [...(this.index.get(`${namespace}/${labels[by]}`) ?? [])]
        : [...this.objects.keys()].filter(k => k.startsWith(`${namespace}/`));
    return keys
      .map(k => this.objects.get(k)!)
      .filter(o => Object.entries(labels).every(([k, v]) => o.metadata?.labels?.[k] === v));
  }

  all(): KubernetesObject[] {
    return [...this.objects.values()];
  }

  get size(): number {
    return this.objects.size;
  }

  private get path() {
    return pathOf(this.opts.kind);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.listedRv === undefined) await this.relist();
        await this.watch(() => {
          this.events.emit(WatchEvent.CONNECT, this.path);
          failures = 0;
        });
      } catch (e) {
        if (this.stopped) return;
        if ((e as { status?: number }).status === 410) {
          // The version is older than the apiserver keeps: list again.
          this.listedRv = undefined;
          continue;
        }
        if (failures === 0) log.warn(`${this.path}: watch failed: ${errorText(e)}`);
        this.events.emit(WatchEvent.NETWORK_ERROR, e);
        failures++;
        this.events.emit(WatchEvent.RECONNECT, failures);
        await new Promise(r =>
          setTimeout(r, RETRY_MS[Math.min(failures - 1, RETRY_MS.length - 1)]),
        );
      }
    }
  }

  private query(extra: Record<string, string>): Record<string, string> {
    return {
      ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
      ...extra,
    };
  }

  /** Lists in pages; what changed against the copy is reported as events. */
  private async relist(): Promise<void> {
    const fresh = new Map<string, KubernetesObject>();
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const page = await call<{
        items: KubernetesObject[];
        metadata?: { resourceVersion?: string; continue?: string };
      }>(
        "GET",
        pathOf(
          this.opts.kind,
          undefined,
          undefined,
          this.query({ limit: String(PAGE), ...(cont ? { continue: cont } : {}) }),
        ),
        undefined,
        "application/json",
        this.opts.metadataOnly ? META_LIST : undefined,
      );
      // A metadata-only list of nothing has items null.
      for (const item of page.items ?? []) {
        const o = this.opts.keep({ ...item, kind: this.opts.kind });
        fresh.set(keyOf(o.metadata?.namespace, o.metadata?.name), o);
      }
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion;
    } while (cont);
    const old = this.objects;
    this.objects = new Map();
    this.index = new Map();
    this.gone.clear();
    for (const [key, o] of fresh) this.put(key, o);
    this.listedRv = rv;
    this.advance(rv);
    this.synced = true;
    this.advance(undefined);
    // The first list too, as Pepr's watches report it: handlers learn what exists.
    for (const [key, o] of old) if (!fresh.has(key)) this.emit(o, "DELETED");
    for (const [key, o] of fresh) {
      const before = old.get(key);
      if (!before) this.emit(o, "ADDED");
      else if (before.metadata?.resourceVersion !== o.metadata?.resourceVersion)
        this.emit(o, "MODIFIED");
    }
  }

  private watch(connected: () => void): Promise<void> {
    const path = pathOf(
      this.opts.kind,
      undefined,
      undefined,
      this.query({
        watch: "true",
        allowWatchBookmarks: "true",
        resourceVersion: this.listedRv!,
        timeoutSeconds: String(WATCH_SECONDS),
      }),
    );
    const w = stream(
      path,
      this.opts.metadataOnly ? META : "application/json",
      line => this.onLine(line),
      IDLE_MS,
      connected,
    );
    this.stopWatch = w.stop;
    return w.done;
  }

  private onLine(line: string): void {
    let event: { type: string; object: KubernetesObject & { code?: number; message?: string } };
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    const { type, object } = event;
    if (type === "ERROR") {
      // The stream ends after an error; a 410 means the version is too old: list again.
      if (object.code === 410) this.listedRv = undefined;
      else log.warn(`${this.path}: watch error: ${object.message ?? line}`);
      this.stopWatch();
      return;
    }
    const rv = object.metadata?.resourceVersion;
    if (type === "BOOKMARK") {
      this.listedRv = rv ?? this.listedRv;
      this.advance(rv);
      return;
    }
    const o = this.opts.keep({ ...object, kind: this.opts.kind });
    const key = keyOf(o.metadata?.namespace, o.metadata?.name);
    const uid = o.metadata?.uid ?? "";
    if (type === "DELETED") {
      this.gone.delete(uid);
      const had = this.objects.get(key);
      if (had?.metadata?.uid === uid) this.remove(key, had);
    } else if (!this.gone.has(uid)) this.put(key, o);
    this.listedRv = rv ?? this.listedRv;
    this.advance(rv);
    if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") this.emit(o, type);
  }

  private put(key: string, o: KubernetesObject): void {
    const before = this.objects.get(key);
    if (before) this.unindex(key, before);
    this.objects.set(key, o);
    const by = this.opts.indexLabel;
    const value = by ? o.metadata?.labels?.[by] : undefined;
    if (value === undefined) return;
    const ik = `${o.metadata?.namespace}/${value}`;
    let set = this.index.get(ik);
    if (!set) this.index.set(ik, (set = new Set()));
    set.add(key);
  }

  private remove(key: string, o: KubernetesObject): void {
    this.unindex(key, o);
    this.objects.delete(key);
  }

  private unindex(key: string, o: KubernetesObject): void {
    const by = this.opts.indexLabel;
    const value = by ? o.metadata?.labels?.[by] : undefined;
    if (value === undefined) return;
    const ik = `${o.metadata?.namespace}/${value}`;
    const set = this.index.get(ik);
    set?.delete(key);
    if (set?.size === 0) this.index.delete(ik);
  }

  private advance(rv: string | undefined): void {
    const n = revision(rv);
    if (rv !== undefined && n === undefined) this.unordered = true;
    if (n !== undefined && n > this.rv) this.rv = n;
    if (!this.synced) return;
    const ready = this.waiters.filter(w => w.rv <= this.rv);
    if (!ready.length) return;
    this.waiters = this.waiters.filter(w => w.rv > this.rv);
    for (const w of ready) w.resolve(true);
  }

  private emit(o: KubernetesObject, phase: Phase): void {
    for (const fn of this.handlers) {
      try {
        fn(o, phase);
      } catch (e) {
        log.warn(`${this.path}: a change handler failed: ${errorText(e)}`);
      }
    }
  }
}
