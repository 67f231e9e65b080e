/**
 * The bridge over the agent's UI WebSocket (`/v1/ui`), used when the UI runs in an ordinary
 * browser window (headless mode). It speaks the `UiRequest`/`UiEvent` frames of
 * app/core/protocol/ui.ts and presents them as the same `AgentBridge` the Electron preload
 * offers, so nothing above this file knows which transport it has.
 *
 * It reconnects by itself (the agent may restart under it), and it never leaves a promise
 * hanging: every request either gets its reply, fails when the connection drops, or times out.
 */
import type { AgentBridge, BridgeReply, PendingChange, PendingView, StatusView, UiEvent, UiRequest } from '../../app/core/protocol/ui';

/** The part of the DOM WebSocket this bridge uses, so tests can stand in for it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code?: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type ConnectionState = 'connecting' | 'open' | 'lost';

export interface WebSocketBridgeOptions {
  /** `ws://127.0.0.1:PORT/v1/ui?token=…` (see `uiSocketUrl`). */
  url: string;
  createSocket?: (url: string) => WebSocketLike;
  onConnectionChange?: (state: ConnectionState, message?: string) => void;
  /** How long a request may wait for its reply, including waiting for a connection. */
  requestTimeoutMs?: number;
  /** Waits between reconnection attempts; the last one repeats. */
  reconnectDelaysMs?: number[];
  /**
   * Asked after a connection attempt fails: a sentence for the doctor when the cause is known
   * (the agent refused this page's token), or null for "not reachable, trying again".
   */
  diagnose?: () => Promise<string | null>;
}

const socketOpen = 1;

/** The UI socket's address for a page served by the agent at `http://host/ui/`. */
export function uiSocketUrl(location: { protocol: string; host: string }, token: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/v1/ui?token=${encodeURIComponent(token)}`;
}

type RequestType = UiRequest['type'];

interface Waiting {
  resolve: (reply: { ok: true; value: unknown } | { ok: false; error: string }) => void;
  timer: ReturnType<typeof setTimeout>;
  frame: string;
  sent: boolean;
}

/** An `AgentBridge` over the agent's UI WebSocket, plus `close()` for tests and page unload. */
export function createWebSocketBridge(options: WebSocketBridgeOptions): AgentBridge & { close(): void } {
  const createSocket = options.createSocket ?? ((url: string) => new WebSocket(url) as unknown as WebSocketLike);
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const delays = options.reconnectDelaysMs ?? [250, 500, 1000, 2000, 5000];
  const pendingListeners = new Set<(change: PendingChange) => void>();
  const statusListeners = new Set<(status: StatusView) => void>();
  const waiting = new Map<string, Waiting>();
  let socket: WebSocketLike | null = null;
  let failures = 0;
  let nextRequest = 0;
  let closed = false;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;

  const report = (state: ConnectionState, message?: string) => options.onConnectionChange?.(state, message);

  function connect(): void {
    if (closed) return;
    report('connecting');
    const current = createSocket(options.url);
    socket = current;
    current.onopen = () => {
      opened = true;
      failures = 0;
      report('open');
      for (const entry of waiting.values()) {
        if (!entry.sent) {
          current.send(entry.frame);
          entry.sent = true;
        }
      }
    };
    current.onmessage = (event) => receive(event.data);
    current.onerror = () => {
      // The close event follows and carries what there is to say.
    };
    let opened = false;
    current.onclose = () => {
      if (socket === current) socket = null;
      // A request already on the wire will never be answered on a new connection.
      for (const [id, entry] of waiting) {
        if (entry.sent) finish(id, { ok: false, error: '与 RxGate 助手的连接已断开' });
      }
      if (closed) return;
      failures += 1;
      report('lost', `与 RxGate 助手的连接已断开, 正在重新连接 (第 ${failures} 次)…`);
      const delay = delays[Math.min(failures - 1, delays.length - 1)] ?? 1000;
      reconnectTimer = setTimeout(connect, delay);
      // A refused attempt says nothing in the browser (the upgrade's 401 is not visible): ask
      // the agent why, so that a stale token is named instead of "not responding" for ever.
      if (!opened && options.diagnose) {
        void options.diagnose().then(
          (message) => {
            if (message && !closed && socket === null) report('lost', message);
          },
          () => undefined,
        );
      }
    };
  }

  function receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let event: UiEvent;
    try {
      event = JSON.parse(data) as UiEvent;
    } catch {
      return;
    }
    if (!event || typeof event !== 'object') return;
    switch (event.type) {
      case 'ui.pending':
        if (Array.isArray(event.added) && Array.isArray(event.removed)) {
          const change: PendingChange = { added: event.added, removed: event.removed, ...(event.reset === true ? { reset: true } : {}) };
          for (const listener of pendingListeners) listener(change);
        }
        break;
      case 'ui.status':
        if (event.status && typeof event.status === 'object') for (const listener of statusListeners) listener(event.status);
        break;
      case 'ui.reply':
        if (typeof event.requestId === 'string') {
          finish(event.requestId, event.ok ? { ok: true, value: event.value } : { ok: false, error: String(event.error) });
        }
        break;
    }
  }

  function finish(id: string, reply: { ok: true; value: unknown } | { ok: false; error: string }): void {
    const entry = waiting.get(id);
    if (!entry) return;
    waiting.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(reply);
  }

  function request(type: RequestType, extra: Record<string, unknown> = {}) {
    nextRequest += 1;
    const requestId = `r${nextRequest}`;
    const frame = JSON.stringify({ type, requestId, ...extra });
    return new Promise<{ ok: true; value: unknown } | { ok: false; error: string }>((resolve) => {
      if (closed) {
        resolve({ ok: false, error: '界面已关闭' });
        return;
      }
      const timer = setTimeout(
        () => finish(requestId, { ok: false, error: 'RxGate 助手没有响应, 请稍后再试' }),
        requestTimeoutMs,
      );
      const entry: Waiting = { resolve, timer, frame, sent: false };
      waiting.set(requestId, entry);
      if (socket && socket.readyState === socketOpen) {
        socket.send(frame);
        entry.sent = true;
      }
    });
  }

  /** For the two getters, whose contract is a value or a rejection. */
  async function value<T>(type: RequestType): Promise<T> {
    const reply = await request(type);
    if (!reply.ok) throw new Error(reply.error);
    return reply.value as T;
  }

  connect();

  return {
    getPending: () => value<PendingView[]>('ui.getPending'),
    getStatus: () => value<StatusView>('ui.getStatus'),
    async decide(choice) {
      const reply = await request('ui.decide', { choice });
      return reply.ok ? { ok: true, value: null } : reply;
    },
    async syncNow(): Promise<BridgeReply<string>> {
      const reply = await request('ui.syncNow');
      return reply.ok ? { ok: true, value: String(reply.value ?? '') } : reply;
    },
    onPending(listener) {
      pendingListeners.add(listener);
      return () => pendingListeners.delete(listener);
    },
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    close() {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      for (const id of [...waiting.keys()]) finish(id, { ok: false, error: '界面已关闭' });
      socket?.close(1000, 'closing');
      socket = null;
    },
  };
}
