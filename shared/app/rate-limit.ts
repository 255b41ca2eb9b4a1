/**
 * Per-key rate limit: a key may make `rate` requests per second on average and bursts of twice that;
 * past it, requests get 429 with Retry-After, so that one runaway campaign tool cannot starve the others.
 *
 * The limit holds across instances (every concurrent Lambda instance of every function, every local
 * process) through a count per key that all of them add to (`RateCounter`, one DynamoDB item per key).
 * Each instance keeps its own copy of the key's token bucket and decides every request on it alone,
 * without waiting for anything: the request costs no DynamoDB call. The copy takes the instance's own
 * requests at once and the others' when it syncs: at most once per `syncIntervalMs` (1 s) per key, off
 * the request's path, the instance adds what it admitted since its last sync to the shared count and
 * reads back the total; what grew beyond its own addition is the others' requests, taken from its
 * bucket (`othersSince`, `merge`). The bucket may go below zero: what the instances admitted together
 * before they heard of each other is paid back before the key gets more.
 *
 * Tolerance (README, "Rate limits"): while instances serve a key, each hears of another's requests at
 * most two sync intervals and a round trip after they were admitted. So over any period, N instances
 * admit at most what one bucket allows over the period and one sync interval more, plus, for each
 * instance but one, its burst and the rate over that lag.
 *
 * When the counter cannot be reached, each instance goes on with its own bucket (the per-instance
 * limit) and says so once in the log; what it admitted meanwhile is added at the next sync that works.
 */
import { logger } from '../observability/index.ts';
import { type Clock, type RateCounter, systemClock, systemTimers, type Timers } from '../ports.ts';

export const BURST_FACTOR = 2;
export const SYNC_INTERVAL_MS = 1000;

// ------------------------------------------------------------------------------------ the arithmetic

/** A token bucket: `tokens` (below zero: owed) as of `at` (epoch ms). */
export interface Bucket {
  tokens: number;
  at: number;
}

export const capacityOf = (rate: number) => rate * BURST_FACTOR;

/** The bucket at `now`: refilled at `rate` per second since `at`, never above the burst. */
export function refill(bucket: Bucket, rate: number, now: number): Bucket {
  if (now <= bucket.at) return bucket;
  return { tokens: Math.min(capacityOf(rate), bucket.tokens + ((now - bucket.at) / 1000) * rate), at: now };
}

/** 0 when a request may take a token from the bucket, else the whole seconds until one is back. */
export function waitSeconds(tokens: number, rate: number): number {
  return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / rate));
}

/**
 * The other instances' requests a sync tells of: the growth of the shared total since the last total
 * this instance read, less its own addition. The first total read is only a starting point (0). A total
 * below the last one read is a count that started again (the item expired): all of it but this
 * instance's addition is new.
 */
export function othersSince(lastTotal: number | undefined, total: number, added: number): number {
  if (lastTotal === undefined) return 0;
  const others = total - lastTotal - added;
  return others >= 0 ? others : Math.max(0, total - added);
}

/** The bucket as of the last sync that worked, and the instance's own requests since. */
export interface SyncedState {
  level: number;
  at: number;
  own: number;
}

/**
 * The bucket once the others' requests since the last sync are known: the whole period counted in one
 * go (the level at the last sync, plus the refill since, less every request since, the instance's own
 * and the others'), but never more than the bucket holds now. Taking the others' requests off the
 * bucket as it is would charge requests twice over when the bucket sat full meanwhile: the refill it
 * lost at its capacity had room for them. `current` is the bucket refilled to the moment of the sync.
 */
export function merge(current: Bucket, synced: SyncedState, others: number, rate: number): number {
  const counted = synced.level + ((current.at - synced.at) / 1000) * rate - synced.own - others;
  return Math.min(current.tokens, counted);
}

// ----------------------------------------------------------------------------------------- the limiter

interface KeyState {
  bucket: Bucket;
  synced: SyncedState;
  /** Admitted here and not yet added to the shared count. */
  pending: number;
  /** The shared total at the last sync that worked. */
  total: number | undefined;
  sentAt: number;
  inFlight: boolean;
  timerSet: boolean;
}

export interface RateLimiterOptions {
  /** The shared count; without one, each instance limits on its own (tests of the bucket alone). */
  counter?: RateCounter | undefined;
  timers?: Timers;
  syncIntervalMs?: number;
  /** Where the limiter says that the counter is unreachable, and reachable again. */
  log?: RateLimitLog;
}

export interface RateLimitLog {
  warn(message: string, attributes: { error: Error }): void;
  info(message: string): void;
}

/** Keys kept at most; idle keys with nothing left to sync are dropped first. */
const MAX_KEYS = 10_000;

export class RateLimiter {
  private readonly keys = new Map<string, KeyState>();
  private readonly counter: RateCounter | undefined;
  private readonly timers: Timers;
  private readonly syncIntervalMs: number;
  private readonly log: RateLimitLog;
  private counterDown = false;

  constructor(
    private readonly clock: Clock = systemClock,
    options: RateLimiterOptions = {},
  ) {
    this.counter = options.counter;
    this.timers = options.timers ?? systemTimers;
    this.syncIntervalMs = options.syncIntervalMs ?? SYNC_INTERVAL_MS;
    this.log = options.log ?? logger;
  }

  /**
   * Takes one request's token from the key's bucket. Returns 0 when the request may go on, else the
   * whole seconds to wait before a token is back. An undefined rate is no limit (the bootstrap admin key).
   * Never waits and never fails: a sync it starts runs on its own.
   */
  take(keyId: string, rate: number | undefined): number {
    if (rate === undefined || !(rate > 0)) return 0;
    const now = this.clock.now();
    const state = this.stateOf(keyId, rate, now);
    state.bucket = refill(state.bucket, rate, now);
    const wait = waitSeconds(state.bucket.tokens, rate);
    if (wait === 0) {
      state.bucket.tokens -= 1;
      state.synced.own++;
      state.pending++;
    }
    this.scheduleSync(keyId, state, rate, now);
    return wait;
  }

  private stateOf(keyId: string, rate: number, now: number): KeyState {
    let state = this.keys.get(keyId);
    if (state) {
      // Most recently used last: the oldest keys are the first dropped.
      this.keys.delete(keyId);
    } else {
      this.makeRoom(now);
      const full = capacityOf(rate);
      state = {
        bucket: { tokens: full, at: now },
        synced: { level: full, at: now, own: 0 },
        pending: 0,
        total: undefined,
        sentAt: Number.NEGATIVE_INFINITY,
        inFlight: false,
        timerSet: false,
      };
    }
    this.keys.set(keyId, state);
    return state;
  }

  /** Syncs now if the last sync is an interval old, else sets a timer for what is still to add. */
  private scheduleSync(keyId: string, state: KeyState, rate: number, now: number): void {
    const counter = this.counter;
    if (!counter || state.inFlight) return;
    const due = state.sentAt + this.syncIntervalMs;
    if (now >= due) {
      void this.sync(counter, keyId, state, rate);
    } else if (state.pending > 0 && !state.timerSet) {
      state.timerSet = true;
      this.timers.set(() => {
        state.timerSet = false;
        if (this.keys.get(keyId) === state && state.pending > 0)
          this.scheduleSync(keyId, state, rate, this.clock.now());
      }, due - now);
    }
  }

  /** Adds what this instance admitted to the shared count, and takes the others' from the bucket. */
  private async sync(counter: RateCounter, keyId: string, state: KeyState, rate: number): Promise<void> {
    const added = state.pending;
    state.pending = 0;
    state.inFlight = true;
    state.sentAt = this.clock.now();
    try {
      const total = await counter.add(keyId, added, state.sentAt);
      const now = this.clock.now();
      const others = othersSince(state.total, total, added);
      state.bucket = refill(state.bucket, rate, now);
      state.bucket.tokens = merge(state.bucket, state.synced, others, rate);
      state.synced = { level: state.bucket.tokens, at: now, own: 0 };
      state.total = total;
      if (this.counterDown) {
        this.counterDown = false;
        this.log.info('rate-limit counter reachable again: limits hold across instances');
      }
    } catch (error) {
      // Kept for the next sync; meanwhile this instance limits on its own bucket.
      state.pending += added;
      if (!this.counterDown) {
        this.counterDown = true;
        this.log.warn('rate-limit counter unreachable: limiting per instance until it answers', {
          error: error as Error,
        });
      }
    } finally {
      state.inFlight = false;
    }
    if (state.pending > 0) this.scheduleSync(keyId, state, rate, this.clock.now());
  }

  private makeRoom(now: number): void {
    if (this.keys.size < MAX_KEYS) return;
    const idle = (state: KeyState) => !state.inFlight && state.pending === 0;
    // A bucket idle for over a minute has refilled whatever its rate (burst ≥ 2 s of traffic).
    for (const [id, state] of this.keys)
      if (idle(state) && now - state.bucket.at > 60_000) this.keys.delete(id);
    for (const id of this.keys.keys()) {
      if (this.keys.size < MAX_KEYS) break;
      this.keys.delete(id);
    }
  }
}
