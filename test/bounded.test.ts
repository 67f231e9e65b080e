/**
 * The agent stays bounded whatever a client does: a client that stops reading is dropped, the
 * UI gets deltas, a popup pushed out by the cap is reported to its HIS and stays committable,
 * and malformed dates and paths are answered, not thrown. Each test asserts the behaviour,
 * never how long it took.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { Socket } from 'node:net';
import { HisClient, TOKEN, example, http, startTestAgent } from './support';

function popupCheck(id: string): Record<string, unknown> {
  return { ...example('check-indication.json'), id };
}

/** Queues `count` popups of 500 lines each (ids `prefix-0`, `prefix-1`, …) from the indication example. */
async function queueLongPopups(his: HisClient, count: number, prefix: string): Promise<void> {
  const base = example('check-indication.json');
  const items = Array.from({ length: 500 }, (_, index) => ({ ...(base.items as object[])[0], line: String(index + 1) }));
  for (let index = 0; index < count; index += 1) await his.request({ ...base, id: `${prefix}-${index}`, items }, 'verdict');
}

describe('bounded by construction', { timeout: 120_000 }, () => {
  test('a client that stops reading is dropped once its unread replies pass the cap', { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    let dropped!: () => void;
    const droppedLine = new Promise<void>((resolve) => (dropped = resolve));
    const { agent, stop } = await startTestAgent({
      maxBufferedBytes: 256 * 1024,
      log: (line) => {
        lines.push(line);
        if (line.includes('未读取回复')) dropped();
      },
    });
    const reader = await HisClient.connect(agent.port);
    const stalled = await HisClient.connect(agent.port);
    try {
      // Stop reading at the TCP level: the agent's replies pile up in its send buffer.
      (stalled.socket as unknown as { _socket: Socket })._socket.pause();
      const base = example('check-indication.json');
      const items = Array.from({ length: 300 }, (_, index) => ({ ...(base.items as object[])[0], line: String(index + 1) }));
      const frame = JSON.stringify({ ...base, ui: 'none', items });
      let sent = 0;
      let stillOpen = true;
      // Sending stops as soon as the agent gives up on the connection; the bound keeps a
      // broken cap from looping forever (each reply is hundreds of kilobytes).
      void droppedLine.then(() => (stillOpen = false));
      while (stillOpen && sent < 2000) {
        await new Promise<void>((resolve) => stalled.socket.send(frame, () => resolve()));
        sent += 1;
        if (sent % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await droppedLine;
      assert.ok(lines.some((line) => line.includes('未读取回复')), 'the drop is logged');
      const ids = agent.status().clients.filter((client) => client.transport === 'ws').map((client) => client.id);
      assert.equal(ids.length, 1, 'only the reading client is still connected');
      // The reading client is untouched.
      const status = await reader.request({ type: 'status', id: 's-1' }, 'status');
      assert.equal(status.type, 'status');
    } finally {
      stalled.socket.terminate();
      await reader.close();
      await stop();
    }
  });

  test('the UI gets each change as a delta, never the whole queue again', { timeout: 30_000 }, async () => {
    const { agent, stop } = await startTestAgent();
    const his = await HisClient.connect(agent.port);
    const ui = await HisClient.connect(agent.port, { path: '/v1/ui', token: agent.uiToken });
    try {
      const first = await ui.next((frame) => frame.type === 'ui.pending');
      assert.deepEqual([first.added, first.removed, first.reset], [[], [], true]);
      await his.request(popupCheck('d-1'), 'verdict');
      const one = await ui.next((frame) => frame.type === 'ui.pending');
      assert.deepEqual((one.added as Array<{ id: string }>).map((view) => view.id), ['d-1']);
      await his.request(popupCheck('d-2'), 'verdict');
      const two = await ui.next((frame) => frame.type === 'ui.pending');
      assert.deepEqual((two.added as Array<{ id: string }>).map((view) => view.id), ['d-2'], 'only the new popup travels');
      assert.deepEqual(two.removed, []);
      await his.request({ type: 'cancel', id: 'd-1' }, 'ack');
      const three = await ui.next((frame) => frame.type === 'ui.pending');
      assert.deepEqual([three.added, three.removed], [[], ['d-1']]);
      assert.equal(agent.status().pendingCount, 1);
    } finally {
      await ui.close();
      await his.close();
      await stop();
    }
  });

  test('a UI that connects to a long queue gets it in frames, with later changes after them', { timeout: 60_000 }, async () => {
    const { agent, stop } = await startTestAgent();
    const his = await HisClient.connect(agent.port);
    let ui: HisClient | undefined;
    try {
      await queueLongPopups(his, 12, 'q');
      ui = await HisClient.connect(agent.port, { path: '/v1/ui', token: agent.uiToken });
      // Sent while the snapshot is going out; q-11 is in its last frame, so the removal must wait.
      his.send({ type: 'cancel', id: 'q-11' });
      const frames: Array<{ added: Array<{ id: string; items: unknown[] }>; removed: string[]; reset?: boolean }> = [];
      let queue: string[] = [];
      while (queue.length !== 11 || queue.includes('q-11')) {
        const frame = (await ui.next((candidate) => candidate.type === 'ui.pending')) as unknown as (typeof frames)[number];
        frames.push(frame);
        if (frame.reset) queue = [];
        const leaving = new Set([...frame.removed, ...frame.added.map((view) => view.id)]);
        queue = [...queue.filter((id) => !leaving.has(id)), ...frame.added.map((view) => view.id)];
      }
      assert.equal(frames[0]!.reset, true, 'the first frame replaces whatever the client had');
      assert.equal(frames.filter((frame) => frame.reset).length, 1, 'only the first');
      const snapshot = frames.filter((frame) => frame.added.length > 0);
      assert.ok(snapshot.length >= 3, `12 popups of 500 lines came in ${snapshot.length} frame(s)`);
      for (const frame of snapshot) assert.ok(frame.added.length * 500 <= 2_000, 'no frame carries more than its share of lines');
      assert.deepEqual(queue, agent.checks.pending().map((view) => view.id));
    } finally {
      await ui?.close();
      await his.close();
      await stop();
    }
  });

  test('a UI that does not take its first snapshot is dropped before the changes kept for it pile up', { timeout: 120_000 }, async () => {
    let dropped!: () => void;
    const droppedLine = new Promise<void>((resolve) => (dropped = resolve));
    const { agent, stop } = await startTestAgent({
      maxPending: 2_000,
      log: (line) => {
        if (line.includes('首次快照')) dropped();
      },
    });
    const his = await HisClient.connect(agent.port);
    let ui: HisClient | undefined;
    try {
      // More than the socket buffers hold: the snapshot stalls once the client stops reading.
      await queueLongPopups(his, 60, 'big');
      ui = await HisClient.connect(agent.port, { path: '/v1/ui', token: agent.uiToken });
      (ui.socket as unknown as { _socket: Socket })._socket.pause();
      let sent = 0;
      let open = true;
      void droppedLine.then(() => (open = false));
      while (open && sent < 1_500) {
        await his.request(popupCheck(`small-${sent}`), 'verdict');
        sent += 1;
      }
      await droppedLine;
      assert.ok(sent > 1_000 && sent < 1_500, `dropped after ${sent} changes`);
      assert.equal(agent.status().clients.filter((client) => client.kind === 'ui').length, 0, 'the UI client is gone');
    } finally {
      ui?.socket.terminate();
      await his.close();
      await stop();
    }
  });

  test('a popup pushed out by the cap is reported to its HIS as decision_timeout and stays committable', { timeout: 30_000 }, async () => {
    const { agent, stop } = await startTestAgent({ maxPending: 2 });
    const his = await HisClient.connect(agent.port);
    try {
      for (const id of ['e-1', 'e-2', 'e-3']) {
        const verdict = await his.request(popupCheck(id), 'verdict');
        assert.equal(verdict.pending, true);
      }
      const told = await his.next((frame) => frame.type === 'error' && frame.id === 'e-1');
      assert.equal(told.code, 'decision_timeout');
      assert.equal(agent.status().pendingCount, 2);
      const ack = await his.request({ type: 'commit', id: 'e-1' }, 'ack');
      assert.equal(ack.recorded, 1);
    } finally {
      await his.close();
      await stop();
    }
  });

  test('a waiting popup outlives any number of newer checks', { timeout: 60_000 }, async () => {
    const { agent, stop } = await startTestAgent();
    const his = await HisClient.connect(agent.port);
    try {
      await his.request(popupCheck('old-1'), 'verdict');
      for (let index = 0; index < 520; index += 1) {
        await his.request({ ...example('check-repeat.json'), id: `n-${index}`, ui: 'none' }, 'verdict');
      }
      assert.equal(agent.status().pendingCount, 1);
      assert.deepEqual(agent.checks.pending().map((view) => view.id), ['old-1']);
      const ack = await his.request({ type: 'commit', id: 'old-1' }, 'ack');
      assert.equal(ack.recorded, 1);
      // Answered checks still leave the recent window in order.
      const forgotten = await his.request({ type: 'commit', id: 'n-0' });
      assert.equal(forgotten.code, 'unknown_check');
    } finally {
      await his.close();
      await stop();
    }
  });

  test('a check asking for too much work is refused before it is validated or run', { timeout: 30_000 }, async () => {
    const { agent, stop } = await startTestAgent();
    const his = await HisClient.connect(agent.port);
    try {
      const base = example('check-indication.json');
      const item = (base.items as object[])[0];
      const items = Array.from({ length: 100 }, (_, index) => ({ ...item, line: String(index + 1) }));
      const history = Array.from({ length: 1500 }, (_, index) => ({ code: 'XA01AAW001', date: '2026-01-02', rxId: `h-${index}` }));
      const reply = await his.request({ ...base, id: 'big-1', items, history });
      assert.equal(reply.type, 'error');
      assert.equal(reply.code, 'too_complex');
      const overHttp = await http(agent.port, '/v1/check', { body: { ...base, type: undefined, id: 'big-2', items, history } });
      assert.equal(overHttp.status, 413);
      assert.equal(overHttp.body?.code, 'too_complex');
      // Within the cap the same order is checked.
      const fine = await his.request({ ...base, id: 'big-3', ui: 'none', items, history: history.slice(0, 900) }, 'verdict');
      assert.equal(fine.type, 'verdict');
      assert.equal(agent.checks.stats.total, 1, 'the refused checks never ran');
    } finally {
      await his.close();
      await stop();
    }
  });

  test('dates must be real calendar dates in a sane range', { timeout: 30_000 }, async () => {
    const { agent, stop } = await startTestAgent();
    const his = await HisClient.connect(agent.port);
    try {
      for (const date of ['0000-01-01', '9999-12-31', '2026-02-30']) {
        const message = example('check-indication.json');
        const reply = await his.request({ ...message, id: `date-${date}`, visit: { ...(message.visit as object), date } });
        assert.equal(reply.type, 'error', date);
        assert.equal(reply.code, 'invalid', date);
        assert.equal(reply.path, '$.visit.date', date);
      }
      const history = await his.request({
        ...example('check-indication.json'),
        id: 'date-history',
        history: [{ code: 'X', date: '1899-12-31' }],
      });
      assert.equal(history.code, 'invalid');
    } finally {
      await his.close();
      await stop();
    }
  });

  test('bad percent-encoding in a path is answered 400', { timeout: 30_000 }, async () => {
    const { agent, stop } = await startTestAgent();
    try {
      const reply = await http(agent.port, '/v1/decisions/%E0%A4%A');
      assert.equal(reply.status, 400);
      assert.equal(reply.body?.code, 'bad_request');
    } finally {
      await stop();
    }
  });

  test('a HIS can verify the agent holds the token before sending it', { timeout: 30_000 }, async () => {
    const { agent, stop } = await startTestAgent();
    try {
      const challenge = 'q8Zt1mV0cX2rYw7N-aB_';
      const reply = await http(agent.port, `/v1/attest?challenge=${challenge}`, { token: null });
      assert.equal(reply.status, 200);
      const expected = createHmac('sha256', TOKEN).update(`rxgate-attest\n${challenge}`).digest('base64url');
      assert.equal(reply.body?.proof, expected);
      const impostor = createHmac('sha256', 'another-token').update(`rxgate-attest\n${challenge}`).digest('base64url');
      assert.notEqual(reply.body?.proof, impostor);
      assert.equal((await http(agent.port, '/v1/attest?challenge=short', { token: null })).status, 400);
      assert.equal((await http(agent.port, `/v1/attest?challenge=${challenge}`, { token: null, method: 'POST', body: {} })).status, 405);
    } finally {
      await stop();
    }
  });
});
