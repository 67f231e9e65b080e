/**
 * The hostile cases of `npm run bench`, against the benchmark's agent process: a client that
 * stops reading, 500 popups of 500 items with a UI attached, the popup pushed out by the cap,
 * a 595 KB check, and (in this process) a rule server that drips its manifest. Each prints
 * what it found; none of them is a pass/fail test (test/bounded.test.ts is).
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { createSyncClient } from '../rules-cache/sync';
import { generateCheck, patientId, seededRandom, type BenchLibrary } from './bench-data';

export interface BoundedContext {
  port: number;
  token: string;
  uiToken: string;
  library: BenchLibrary;
  patients: number;
  agentRss(): Promise<number>;
  report(what: string, measured: string, target?: string, ok?: boolean): void;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;

/** A WebSocket client that keeps every frame and can wait for one that matches. */
class Client {
  received = 0;
  private readonly waiters: Array<{ match: (frame: Record<string, unknown>) => boolean; resolve: (frame: Record<string, unknown>) => void }> = [];

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.received += data.length;
      if (this.waiters.length === 0) return;
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      const index = this.waiters.findIndex((waiter) => waiter.match(frame));
      if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve(frame);
    });
  }

  static async open(url: string): Promise<Client> {
    const socket = new WebSocket(url, { maxPayload: 256 * 1024 * 1024 });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new Client(socket);
  }

  next(match: (frame: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply in time')), timeoutMs);
      this.waiters.push({
        match,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      });
    });
  }

  async request(message: Record<string, unknown>): Promise<{ frame: Record<string, unknown>; ms: number }> {
    const begin = performance.now();
    const reply = this.next((frame) => frame.id === message.id && frame.type !== 'decision');
    this.socket.send(JSON.stringify(message));
    const frame = await reply;
    return { frame, ms: performance.now() - begin };
  }

  close(): void {
    this.socket.terminate();
  }
}

async function wsClientCount(context: BoundedContext): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${context.port}/v1/status`, { headers: { Authorization: `Bearer ${context.token}` } });
  const status = (await response.json()) as { clients: Array<{ transport: string }> };
  return status.clients.filter((client) => client.transport === 'ws').length;
}

export async function runBoundedCases(context: BoundedContext): Promise<void> {
  const url = `ws://127.0.0.1:${context.port}/v1?token=${context.token}`;
  const random = seededRandom(99);
  const patient = () => patientId(Math.floor(random() * context.patients));

  // ---- a client that stops reading ----------------------------------------------------------
  {
    const before = await context.agentRss();
    const stalled = await Client.open(url);
    (stalled.socket as unknown as { _socket: Socket })._socket.pause();
    const frame = JSON.stringify({ ...generateCheck(context.library, random, 'stall', patient(), 500, 0), ui: 'none' });
    let sent = 0;
    let dropped = false;
    let peak = before;
    while (sent < 3000 && !dropped) {
      await new Promise<void>((resolve) => stalled.socket.send(frame, () => resolve()));
      sent += 1;
      if (sent % 25 === 0) {
        peak = Math.max(peak, await context.agentRss());
        dropped = (await wsClientCount(context)) === 0;
      }
    }
    const after = await context.agentRss();
    stalled.close();
    context.report(
      'non-reading client: dropped after / agent RSS before, peak, after',
      `${dropped ? `${sent} checks (${mb(sent * frame.length)} sent)` : `NOT dropped after ${sent} checks`} / ${mb(before)}, ${mb(peak)}, ${mb(after)}`,
      'dropped, RSS bounded',
      dropped && peak - before < 200 * 1024 * 1024,
    );
  }

  // ---- 500 popups of 500 items with a UI attached --------------------------------------------
  const his = await Client.open(url);
  const ui = await Client.open(`ws://127.0.0.1:${context.port}/v1/ui?token=${context.uiToken}`);
  const popupIds: string[] = [];
  {
    const frames: string[] = [];
    for (let index = 0; frames.length < 500; index += 1) {
      const check = { ...generateCheck(context.library, random, `popup-${index}`, patient(), 500, 0), ui: 'popup' };
      frames.push(JSON.stringify(check));
    }
    const samples: number[] = [];
    const began = performance.now();
    for (const frame of frames) {
      const id = (JSON.parse(frame) as { id: string }).id;
      const reply = his.next((candidate) => candidate.id === id);
      const begin = performance.now();
      his.socket.send(frame);
      const verdict = await reply;
      samples.push(performance.now() - begin);
      if (verdict.pending === true) popupIds.push(id);
    }
    const total = performance.now() - began;
    samples.sort((a, b) => a - b);
    const normal = await his.request(generateCheck(context.library, random, 'after-popups', patient()) as unknown as Record<string, unknown>);
    const rss = await context.agentRss();
    // No target of its own: before deltas this case reached 1 GB and 3.9 s per new check.
    context.report(
      '500 popups of 500 items, UI attached: held / check p50, max / UI bytes / next 20-item check / RSS',
      `${popupIds.length} / ${ms(samples[249]!)}, ${ms(samples[499]!)} / ${mb(ui.received)} in ${ms(total)} / ${ms(normal.ms)} / ${mb(rss)}`,
    );
  }

  // ---- the popup pushed out by the cap ----------------------------------------------------------
  {
    const oldest = popupIds[0];
    let told = 'no popup was held';
    let committed = '';
    if (oldest && popupIds.length >= 500) {
      const warned = his.next((frame) => frame.type === 'error' && frame.id === oldest, 10_000);
      const extra = { ...generateCheck(context.library, random, 'popup-extra', patient(), 500, 0), ui: 'popup' };
      await his.request(extra as unknown as Record<string, unknown>);
      told = await warned.then(
        (frame) => `HIS told ${String(frame.code)}`,
        () => 'HIS NOT told',
      );
      const ack = await his.request({ type: 'commit', id: oldest });
      committed = ack.frame.type === 'ack' ? `commit ack, ${String(ack.frame.recorded)} lines recorded` : `commit refused: ${String(ack.frame.code)}`;
      popupIds.push('popup-extra');
    } else {
      told = `only ${popupIds.length} popups held; eviction not reached`;
    }
    context.report('popup 501 pushes out the oldest: HIS told / check committable', `${told} / ${committed}`, 'decision_timeout, ack', told.includes('decision_timeout') && committed.startsWith('commit ack'));
    // Closed one by one, so that the next case starts with the agent idle.
    for (const id of popupIds) await his.request({ type: 'cancel', id });
  }

  // ---- a 595 KB check -----------------------------------------------------------------------------
  {
    let big = generateCheck(context.library, random, 'big', patient(), 60, 3300);
    while (JSON.stringify(big).length > 595 * 1024) big = { ...big, history: big.history!.slice(0, -50) };
    const frame = JSON.stringify(big);
    const small = JSON.stringify(generateCheck(context.library, random, 'small-after-big', patient()));
    const bigReply = his.next((candidate) => candidate.id === 'big');
    const smallReply = his.next((candidate) => candidate.id === 'small-after-big');
    const begin = performance.now();
    his.socket.send(frame);
    his.socket.send(small);
    const answer = await bigReply;
    const bigMs = performance.now() - begin;
    await smallReply;
    const smallMs = performance.now() - begin;
    context.report(
      `${(frame.length / 1024).toFixed(0)} KB check (60 lines × ${big.history!.length} history): reply / its reply time / a check queued behind it`,
      `${answer.type === 'error' ? String(answer.code) : String(answer.type)} / ${ms(bigMs)} / ${ms(smallMs)}`,
      'refused before it blocks',
      answer.code === 'too_complex',
    );
  }
  his.close();
  ui.close();

  // ---- a rule server that drips its manifest ------------------------------------------------------
  {
    const drip = createServer((_request, response) => {
      response.writeHead(200, { 'Content-Length': 100_000 });
      const timer = setInterval(() => response.write('{'), 100);
      response.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => drip.listen(0, '127.0.0.1', resolve));
    const publicKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const deadlineMs = 3000;
    const client = createSyncClient({
      servers: [`http://127.0.0.1:${(drip.address() as { port: number }).port}/`],
      publicKeys: [publicKey],
      activeVersion: () => 1,
      apply: () => undefined,
      attemptDeadlineMs: deadlineMs,
    });
    const begin = performance.now();
    const first = client.syncNow();
    const joined = client.syncNow();
    const outcome = await first;
    await joined;
    const elapsed = performance.now() - begin;
    drip.closeAllConnections();
    drip.close();
    context.report(
      `slow-drip rule server (a byte per 100 ms): attempt and a joined sync end after`,
      `${ms(elapsed)}, ${outcome.result}${outcome.result === 'failed' ? ` [${outcome.code}]` : ''}`,
      `≤ deadline ${deadlineMs} ms + slack`,
      outcome.result === 'failed' && outcome.code === 'timeout' && elapsed < deadlineMs + 2000,
    );
  }
}
