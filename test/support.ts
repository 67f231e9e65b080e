/**
 * Test support: a real agent on a random loopback port with a throwaway data folder, and a
 * small HIS client that waits for specific replies.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { Agent, type AgentOptions } from '../app/core/agent';

/** The example orders and rule library that come with the repository (examples/). */
export const EXAMPLES = join(__dirname, '..', 'examples');
export const TOKEN = 'test-token-0123456789abcdef';

/** Reads a shared example's `message`. */
export function example(name: string): Record<string, unknown> {
  const document = JSON.parse(readFileSync(join(EXAMPLES, name), 'utf8')) as { message: Record<string, unknown> };
  return structuredClone(document.message);
}

export function temporaryDir(prefix = 'rxgate-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function startTestAgent(
  overrides: Partial<AgentOptions> = {},
): Promise<{ agent: Agent; dataDir: string; stop(): Promise<void> }> {
  const dir = overrides.dataDir ? null : temporaryDir();
  const dataDir = overrides.dataDir ?? dir!.path;
  const agent = await Agent.start({ dataDir, port: 0, token: TOKEN, ...overrides });
  return {
    agent,
    dataDir,
    stop: async () => {
      await agent.stop();
      dir?.remove();
    },
  };
}

/** A HIS on the WebSocket: collects every frame and lets a test wait for one that matches. */
export class HisClient {
  readonly frames: Array<Record<string, unknown>> = [];
  /** Frames no waiter wanted yet, so a test may ask for a frame that already arrived. */
  private readonly unclaimed: Array<Record<string, unknown>> = [];
  private waiters: Array<{ match: (frame: Record<string, unknown>) => boolean; resolve: (frame: Record<string, unknown>) => void }> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      this.frames.push(frame);
      const waiter = this.waiters.find((candidate) => candidate.match(frame));
      if (waiter) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      } else this.unclaimed.push(frame);
    });
  }

  static connect(port: number, options: { token?: string | null; origin?: string; path?: string } = {}): Promise<HisClient> {
    const token = options.token === undefined ? TOKEN : options.token;
    const query = token === null ? '' : `?token=${encodeURIComponent(token)}`;
    const socket = new WebSocket(`ws://127.0.0.1:${port}${options.path ?? '/v1'}${query}`, {
      headers: options.origin ? { Origin: options.origin } : {},
    });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new HisClient(socket)));
      socket.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => reject(Object.assign(new Error(`refused ${response.statusCode}: ${body}`), { status: response.statusCode, body })));
      });
      socket.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first frame that matches: one already received and unclaimed, or the next to come. */
  next(match: (frame: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const waiting = this.unclaimed.findIndex(match);
    if (waiting >= 0) return Promise.resolve(this.unclaimed.splice(waiting, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      });
    });
  }

  /** The first frame of `type` about check `id`. */
  nextOf(type: string, id: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
    return this.next((frame) => frame.type === type && frame.id === id, timeoutMs);
  }

  /** Sends and waits for the reply of the given type (or an error) carrying the same id. */
  async request(message: Record<string, unknown>, type?: string): Promise<Record<string, unknown>> {
    const reply = this.next((frame) => frame.id === message.id && (frame.type === 'error' || type === undefined || frame.type === type));
    this.send(message);
    return reply;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

export async function http(
  port: number,
  path: string,
  init: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> | null; headers: Headers }> {
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? TOKEN : init.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null, headers: response.headers };
}
