/**
 * Delivers the agent's outbox to the hub: oldest first, one batch at a time, with exponential
 * backoff and jitter while the hub is unreachable. Storage-agnostic: the outbox (SQLite, in
 * the agent's store) only has to hand out pending events in seq order and forget delivered
 * ones. An event leaves the outbox only after the hub acknowledged its batch, and the hub
 * keeps each event id once, so a crash between the two re-sends a batch harmlessly.
 */
import { HubError, type HubClient } from './hub-client';
import type { AnchorState, HubEvent } from './protocol/hub';

/** What the delivery loop needs from the agent's outbox. */
export interface HubOutbox {
  /** The oldest undelivered events in seq order, at most `limit`. */
  pending(limit: number): HubEvent[];
  /** Removes (or marks delivered) every event with seq ≤ `seq`. */
  delivered(seq: number): void;
}

export interface HubDeliveryState {
  /** `idle`: nothing waiting; `retrying`: the hub is unreachable or busy; `refused`: the hub refused this agent or a batch. */
  state: 'idle' | 'delivering' | 'retrying' | 'refused';
  lastDeliveredAt?: string;
  lastError?: { code: string; message: string; at: string };
  nextAttemptAt?: string;
  /** The hub's view of this agent's audit anchor, from the last reply. */
  anchor?: { state: AnchorState; seq?: number; detail?: string };
}

export interface HubDeliveryOptions {
  client: HubClient;
  outbox: HubOutbox;
  /** Events per request (default 200, at most 500). */
  batchSize?: number;
  /** First retry delay (default 1 s), doubled per failure up to `maxDelayMs` (default 5 min). */
  minDelayMs?: number;
  maxDelayMs?: number;
  onState?: (state: HubDeliveryState) => void;
  log?: (line: string) => void;
}

export class HubDelivery {
  private current: HubDeliveryState = { state: 'idle' };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private stopped = true;
  /** Kicked while a drain was ending: drain again, so an event queued in that moment is not left waiting. */
  private kickedWhileRunning = false;

  constructor(private readonly options: HubDeliveryOptions) {}

  state(): HubDeliveryState {
    return { ...this.current };
  }

  /** Starts delivering what the outbox holds (events left from before a restart included). */
  start(): void {
    this.stopped = false;
    this.kick();
  }

  /** Delivers soon: call after a local write put events in the outbox. Waits out a backoff. */
  kick(): void {
    if (this.running) this.kickedWhileRunning = true;
    if (this.stopped || this.running || this.timer) return;
    this.kickedWhileRunning = false;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.kickedWhileRunning) this.kick();
    });
  }

  /** Stops after the request in flight, if any. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Resolves when the loop is not sending (for `rxgate status` and tests). */
  settled(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private update(change: Partial<HubDeliveryState>): void {
    this.current = { ...this.current, ...change };
    this.options.onState?.(this.state());
  }

  private async drain(): Promise<void> {
    const limit = Math.min(500, Math.max(1, this.options.batchSize ?? 200));
    while (!this.stopped) {
      const batch = this.options.outbox.pending(limit);
      if (batch.length === 0) {
        this.failures = 0;
        this.update({ state: 'idle', nextAttemptAt: undefined });
        return;
      }
      this.update({ state: 'delivering' });
      try {
        const reply = await this.options.client.deliver(batch);
        this.options.outbox.delivered(batch[batch.length - 1]!.seq);
        this.failures = 0;
        this.update({ lastDeliveredAt: new Date().toISOString(), anchor: reply.anchor, lastError: undefined });
      } catch (error) {
        const failure = error instanceof HubError ? error : new HubError('internal', (error as Error).message, true);
        this.failures += 1;
        const delay = this.backoff();
        this.update({
          state: failure.retryable ? 'retrying' : 'refused',
          lastError: { code: failure.code, message: failure.message, at: new Date().toISOString() },
          nextAttemptAt: new Date(Date.now() + delay).toISOString(),
        });
        this.options.log?.(`院端中心投递失败 (${failure.code}): ${failure.message}; ${Math.round(delay / 1000)} 秒后重试`);
        this.schedule(delay);
        return;
      }
    }
  }

  /** Exponential with full jitter, so a thousand agents coming back do not retry in step. */
  private backoff(): number {
    const min = this.options.minDelayMs ?? 1_000;
    const max = this.options.maxDelayMs ?? 300_000;
    const ceiling = Math.min(max, min * 2 ** Math.min(20, this.failures - 1));
    return Math.max(min, Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, delay);
    this.timer.unref();
  }
}
