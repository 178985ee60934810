/**
 * Whether the module process is whole: Pepr started (after the apiserver answered), its store ready (Pepr binds
 * its admission endpoints and starts its watches only then, and never retries a store that failed to start),
 * and every watch of the process connected. Records what happened; assess() decides, without I/O.
 */

/** A watch of the process (Pepr's bindings and store, the operator's own) as its events describe it. */
export interface WatchState {
  id: number;
  /** The watched path once it connected ("/apis/flink.apache.org/v1beta1/flinkdeployments"), "watch #<id>" before. */
  name: string;
  connected: boolean;
  /** Since when it has been failing to (re)connect. */
  failingSince?: number;
  lastError?: string;
  /** Reconnect attempts since it last connected. */
  attempts: number;
  /** Set when the watch stopped retrying. */
  gaveUp?: string;
}

export interface HealthState {
  startedAt: number;
  /** The last reason the apiserver was not reachable before Pepr started; cleared once it answers. */
  waitingForApiserver?: string;
  peprStartedAt?: number;
  storeReadyAt?: number;
  watches: WatchState[];
}

export interface HealthLimits {
  /** Pepr's store must be ready this long after Pepr started, or the process exits to be restarted. */
  storeDeadlineMs: number;
}

export interface Assessment {
  ready: boolean;
  /** Why not ready, one line each. */
  reasons: string[];
  /** Set when only a restart of the process can make it whole. */
  exit?: string;
}

const secondsSince = (now: number, t: number) => `${Math.round((now - t) / 1000)} s`;

export function assess(state: HealthState, now: number, limits: HealthLimits): Assessment {
  const gaveUp = state.watches.find(w => w.gaveUp);
  if (gaveUp)
    return {
      ready: false,
      reasons: [`${gaveUp.name} gave up: ${gaveUp.gaveUp}`],
      exit: `${gaveUp.name} gave up reconnecting (${gaveUp.gaveUp}); Pepr cannot start it again in this process`,
    };
  if (state.peprStartedAt === undefined)
    return {
      ready: false,
      reasons: [
        `waiting for the apiserver before starting Pepr${state.waitingForApiserver ? `: ${state.waitingForApiserver}` : ""}`,
      ],
    };
  if (state.storeReadyAt === undefined) {
    const reason = `Pepr's store is not ready ${secondsSince(now, state.peprStartedAt)} after Pepr started (admission and watches wait for it)`;
    return now - state.peprStartedAt < limits.storeDeadlineMs
      ? { ready: false, reasons: [reason] }
      : {
          ready: false,
          reasons: [reason],
          exit: `${reason}: Pepr does not retry a store that failed to start (the apiserver was unreachable?)`,
        };
  }
  const reasons = state.watches
    .filter(w => !w.connected)
    .map(w =>
      w.failingSince === undefined
        ? `${w.name} not connected yet`
        : `${w.name} not connected for ${secondsSince(now, w.failingSince)}${w.attempts ? ` (${w.attempts} reconnect attempts)` : ""}: ${w.lastError ?? "unknown error"}`,
    );
  return { ready: reasons.length === 0, reasons };
}

/** The readiness endpoint's answer. */
export function readinessAnswer(a: Assessment): { status: number; body: string } {
  return a.ready
    ? { status: 200, body: "ready\n" }
    : { status: 503, body: `not ready: ${a.reasons.join("; ")}\n` };
}

/** The health of one module process, fed by its start-up and its watches' events. */
export class WatchHealth {
  private readonly state: HealthState;
  private nextId = 1;

  constructor(now: number) {
    this.state = { startedAt: now, watches: [] };
  }

  snapshot(): HealthState {
    return { ...this.state, watches: this.state.watches.map(w => ({ ...w })) };
  }

  waitingForApiserver(reason: string): void {
    this.state.waitingForApiserver = reason;
  }

  peprStarted(now: number): void {
    this.state.waitingForApiserver = undefined;
    this.state.peprStartedAt = now;
  }

  storeReady(now: number): void {
    this.state.storeReadyAt ??= now;
  }

  watchStarted(): number {
    const id = this.nextId++;
    this.state.watches.push({ id, name: `watch #${id}`, connected: false, attempts: 0 });
    return id;
  }

  /** Returns true when the watch had been failing: it is back after an outage. */
  watchConnected(id: number, path: string): boolean {
    const w = this.watch(id);
    if (!w) return false;
    const wasFailing = w.failingSince !== undefined;
    Object.assign(w, { name: path, connected: true, attempts: 0 });
    w.failingSince = w.lastError = undefined;
    return wasFailing;
  }

  watchFailed(id: number, now: number, error: string): void {
    const w = this.watch(id);
    if (!w) return;
    w.connected = false;
    w.failingSince ??= now;
    w.lastError = error;
  }

  watchReconnecting(id: number, attempt: number): void {
    const w = this.watch(id);
    if (w) w.attempts = attempt;
  }

  watchGaveUp(id: number, error: string): void {
    const w = this.watch(id);
    if (w) w.gaveUp = error;
  }

  /** A watch closed on purpose is no longer part of the module's health. */
  watchClosed(id: number): void {
    this.state.watches = this.state.watches.filter(w => w.id !== id);
  }

  private watch(id: number): WatchState | undefined {
    return this.state.watches.find(w => w.id === id);
  }
}
