/**
 * The agent's client for the hospital hub (docs/hub.md): enrolment, delivery of outbox
 * batches, and the patient-history lookup at check time. Pure Node (no SQLite): the outbox
 * that feeds `deliver` belongs to the agent's store.
 *
 * The lookup runs inside the check's latency budget, so it never throws and never waits past
 * its budget: over budget, refused or unreachable, it answers null and the check goes on with
 * the history it has. Connections are kept alive, so a lookup usually costs one round trip.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { z } from 'zod';
import {
  DeliveryReply,
  EnrolReply,
  HistoryReply,
  HubErrorReply,
  MAX_BATCH_EVENTS,
  type EnrolRequest,
  type HubEvent,
  type HubHistoryRow,
} from './protocol/hub';
import { compileSafeParse } from './protocol/fast-parse';

/** The hub's history rows are read at check time, inside its budget: through the fast path. */
const parseHistoryReply = compileSafeParse(HistoryReply);

export interface HubClientOptions {
  /** The hub's base URL, e.g. https://rxgate-hub.hospital.local:8443 */
  url: string;
  /** `<agentId>.<secret>` from enrolment. */
  credential?: string;
  /** Extra CA certificate(s) in PEM, for a hub whose certificate the hospital signed itself. */
  ca?: string | Buffer;
  /** Time limit for enrolment and deliveries (default 15 s); lookups have their own budget. */
  timeoutMs?: number;
  userAgent?: string;
}

/** Why a delivery failed, and whether sending the same batch again later can help. */
export class HubError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** True for network failures, time-outs and 5xx: keep the batch and retry with backoff. */
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

export { MAX_BATCH_EVENTS };

interface RawReply {
  status: number;
  body: unknown;
}

/** A hub connection for one agent. */
export class HubClient {
  private readonly base: URL;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly timeoutMs: number;

  constructor(private readonly options: HubClientOptions) {
    this.base = new URL(options.url);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new Error(`院端中心地址只支持 http 和 https: ${options.url}`);
    this.agent =
      this.base.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true, maxSockets: 4, ca: options.ca })
        : new HttpAgent({ keepAlive: true, maxSockets: 4 });
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** Exchanges a one-time code for this PC's credential (store it in the data folder). */
  async enrol(request: EnrolRequest): Promise<EnrolReply> {
    const reply = await this.post('/api/v1/enrol', request, this.timeoutMs, false);
    return this.expect(EnrolReply, reply);
  }

  /**
   * Delivers up to {@link MAX_BATCH_EVENTS} events in outbox order. The hub stores each event
   * id once, so a batch whose reply was lost is simply sent again. Throws {@link HubError}.
   */
  async deliver(events: HubEvent[]): Promise<DeliveryReply> {
    if (events.length === 0 || events.length > MAX_BATCH_EVENTS) throw new Error(`一批 1 到 ${MAX_BATCH_EVENTS} 个事件`);
    const reply = await this.post('/api/v1/events', { events }, this.timeoutMs, true);
    return this.expect(DeliveryReply, reply);
  }

  /**
   * The patient's committed orders from every PC since `since` (YYYY-MM-DD), newest first; null
   * when the hub did not answer well within `budgetMs` (then the check uses what it has).
   */
  async lookupHistory(patientId: string, since: string, options: { budgetMs: number; limit?: number }): Promise<HubHistoryRow[] | null> {
    try {
      const reply = await this.post('/api/v1/history', { patientId, since, limit: options.limit }, Math.max(1, options.budgetMs), true);
      if (reply.status !== 200) return null;
      const parsed = parseHistoryReply(reply.body);
      return parsed.success ? parsed.data.rows : null;
    } catch {
      return null;
    }
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private expect<T extends z.ZodType>(schema: T, reply: RawReply): z.infer<T> {
    if (reply.status === 200) {
      const parsed = schema.safeParse(reply.body);
      if (parsed.success) return parsed.data;
      throw new HubError('bad_reply', '院端中心的应答格式不对', false, reply.status);
    }
    const error = HubErrorReply.safeParse(reply.body);
    const code = error.success ? error.data.error : `http_${reply.status}`;
    const message = error.success ? error.data.message : `院端中心返回 HTTP ${reply.status}`;
    // 5xx and 429 are the hub's trouble, not the batch's: keep it and try again later.
    throw new HubError(code, message, reply.status >= 500 || reply.status === 429, reply.status);
  }

  /**
   * One request, abandoned after `timeoutMs`. The timer is cleared when the request settles:
   * `AbortSignal.timeout` would fire anyway, one abort (and its exception object) per lookup,
   * landing in the middle of some later check.
   */
  private post(path: string, body: unknown, timeoutMs: number, authenticated: boolean): Promise<RawReply> {
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': payload.length,
      'User-Agent': this.options.userAgent ?? 'RxGate',
    };
    if (authenticated) {
      if (!this.options.credential) return Promise.reject(new HubError('not_enrolled', '本机尚未在院端中心登记', false));
      headers.Authorization = `Bearer ${this.options.credential}`;
    }
    const url = new URL(path, this.base);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    timer.unref();
    return new Promise<RawReply>((resolve, reject) => {
      const request = send(url, { method: 'POST', headers, agent: this.agent, signal: controller.signal }, (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = null;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            parsed = null;
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
        response.on('error', (error) => reject(networkError(error)));
      });
      request.on('error', (error) => reject(networkError(error)));
      request.end(payload);
    }).finally(() => clearTimeout(timer));
  }
}

function networkError(error: Error): HubError {
  if (error.name === 'AbortError' || (error as NodeJS.ErrnoException).code === 'ABORT_ERR') {
    return new HubError('timeout', '院端中心响应超时', true);
  }
  return new HubError('network', `无法连接院端中心: ${(error as NodeJS.ErrnoException).code ?? error.message}`, true);
}
