import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWebSocketBridge, uiSocketUrl, type ConnectionState, type WebSocketLike } from '../../../renderer/bridge/websocket';

/** A socket the test opens, feeds and closes by hand. */
class FakeSocket implements WebSocketLike {
  readyState = 0;
  sent: Array<Record<string, unknown>> = [];
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close() {
    this.readyState = 3;
    this.onclose?.({ code: 1000 });
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  push(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({ code: 1006 });
  }
}

function setup(requestTimeoutMs = 1000) {
  const sockets: FakeSocket[] = [];
  const states: ConnectionState[] = [];
  const bridge = createWebSocketBridge({
    url: 'ws://127.0.0.1:1/v1/ui?token=t',
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    onConnectionChange: (state) => states.push(state),
    requestTimeoutMs,
    reconnectDelaysMs: [5],
  });
  return { bridge, sockets, states };
}

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

test('the socket URL carries the token in the query, on the page’s own host', () => {
  assert.equal(uiSocketUrl({ protocol: 'http:', host: '127.0.0.1:17380' }, 'a/b'), 'ws://127.0.0.1:17380/v1/ui?token=a%2Fb');
});

test('requests made before the socket opens are sent once it does, and answered by id', async () => {
  const { bridge, sockets } = setup();
  const reply = bridge.getPending();
  assert.equal(sockets[0]!.sent.length, 0);
  sockets[0]!.open();
  const request = sockets[0]!.sent[0]!;
  assert.equal(request.type, 'ui.getPending');
  sockets[0]!.push({ type: 'ui.reply', requestId: request.requestId, ok: true, value: [] });
  assert.deepEqual(await reply, []);
  bridge.close();
});

test('decide and syncNow answer with BridgeReply, errors included', async () => {
  const { bridge, sockets } = setup();
  sockets[0]!.open();
  const decided = bridge.decide({ id: 'c-1', outcome: 'revise', lines: [], reasons: [] });
  const frame = sockets[0]!.sent[0]!;
  assert.deepEqual(frame.choice, { id: 'c-1', outcome: 'revise', lines: [], reasons: [] });
  sockets[0]!.push({ type: 'ui.reply', requestId: frame.requestId, ok: false, error: '该检查已处理' });
  assert.deepEqual(await decided, { ok: false, error: '该检查已处理' });
  const synced = bridge.syncNow();
  sockets[0]!.push({ type: 'ui.reply', requestId: sockets[0]!.sent[1]!.requestId, ok: true, value: '已是最新' });
  assert.deepEqual(await synced, { ok: true, value: '已是最新' });
  bridge.close();
});

test('pushes reach the listeners; junk frames are ignored', () => {
  const { bridge, sockets } = setup();
  sockets[0]!.open();
  const seen: unknown[] = [];
  const stop = bridge.onPending((pending) => seen.push(pending));
  bridge.onStatus((status) => seen.push(status));
  sockets[0]!.push({ type: 'ui.pending', added: [], removed: ['c-1'] });
  sockets[0]!.push({ type: 'ui.status', status: { port: 1 } });
  sockets[0]!.onmessage?.({ data: 'not json' });
  sockets[0]!.push({ type: 'ui.pending', added: 'nope', removed: [] });
  sockets[0]!.push({ type: 'ui.pending', pending: [] });
  sockets[0]!.push(null);
  sockets[0]!.push({ type: 'ui.pending', added: [], removed: [], reset: true });
  stop();
  sockets[0]!.push({ type: 'ui.pending', added: [], removed: [] });
  assert.deepEqual(seen, [{ added: [], removed: ['c-1'] }, { port: 1 }, { added: [], removed: [], reset: true }]);
  bridge.close();
});

test('a dropped connection fails the requests on the wire and reconnects', async () => {
  const { bridge, sockets, states } = setup();
  sockets[0]!.open();
  const waiting = bridge.getStatus();
  sockets[0]!.drop();
  await assert.rejects(waiting, /连接已断开/);
  assert.equal(states.at(-1), 'lost');
  await tick(20);
  assert.equal(sockets.length, 2, 'a new socket after the delay');
  sockets[1]!.open();
  assert.equal(states.at(-1), 'open');
  bridge.close();
});

test('a request that gets no answer times out instead of hanging', async () => {
  const { bridge, sockets } = setup(20);
  sockets[0]!.open();
  assert.deepEqual(await bridge.decide({ id: 'c-1', outcome: 'revise', lines: [], reasons: [] }), {
    ok: false,
    error: 'RxGate 助手没有响应, 请稍后再试',
  });
  bridge.close();
});

test('close stops reconnecting and settles what is waiting', async () => {
  const { bridge, sockets } = setup();
  const waiting = bridge.syncNow();
  bridge.close();
  assert.deepEqual(await waiting, { ok: false, error: '界面已关闭' });
  await tick(20);
  assert.equal(sockets.length, 1);
});

test('a connection refused at once is explained by the diagnosis (a stale token), one that dropped after opening is not asked about', async () => {
  const messages: Array<string | undefined> = [];
  let asked = 0;
  const sockets: FakeSocket[] = [];
  const bridge = createWebSocketBridge({
    url: 'ws://127.0.0.1:1/v1/ui?token=old',
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    onConnectionChange: (state, message) => {
      if (state === 'lost') messages.push(message);
    },
    reconnectDelaysMs: [60_000],
    diagnose: async () => {
      asked += 1;
      return '令牌已更换';
    },
  });
  try {
    sockets[0]!.drop();
    await tick(5);
    assert.equal(asked, 1);
    assert.equal(messages.at(-1), '令牌已更换');
  } finally {
    bridge.close();
  }

  asked = 0;
  const opened: FakeSocket[] = [];
  const second = createWebSocketBridge({
    url: 'ws://127.0.0.1:1/v1/ui?token=t',
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      opened.push(socket);
      return socket;
    },
    reconnectDelaysMs: [60_000],
    diagnose: async () => {
      asked += 1;
      return 'x';
    },
  });
  try {
    opened[0]!.open();
    opened[0]!.drop();
    await tick(5);
    assert.equal(asked, 0, 'an agent that went away after a connection is just reconnected to');
  } finally {
    second.close();
  }
});
