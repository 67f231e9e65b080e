/**
 * A popup whose HIS is gone (its WebSocket closed, as `his-sim --wait 0` does) is closed rather
 * than left for 30 minutes in front of the orders a doctor can still act on; a check sent over
 * HTTP (long-poll, no connection) stays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HisClient, example, http, startTestAgent } from './support';

test('pending checks of a closed HIS connection are closed and recorded as cancelled', { timeout: 30_000 }, async () => {
  const { agent, stop } = await startTestAgent();
  try {
    const his = await HisClient.connect(agent.port);
    his.send({ ...example('check-indication.json'), id: 'gone-1' });
    await his.next((frame) => frame.type === 'verdict' && frame.id === 'gone-1');
    await http(agent.port, '/v1/check', { body: { ...example('check-indication.json'), id: 'http-1' } });
    assert.deepEqual(agent.pending().map((view) => view.id).sort(), ['gone-1', 'http-1']);
    const closed = new Promise<void>((resolve) => {
      const stopListening = agent.checks.events.on('pending', (change) => {
        if (change.removed.includes('gone-1')) {
          stopListening();
          resolve();
        }
      });
    });
    await his.close();
    await closed;
    assert.deepEqual(agent.pending().map((view) => view.id), ['http-1']);
    const [record] = agent.store.recentAudit(5, 'cancel');
    assert.equal(record?.checkId, 'gone-1');
    assert.deepEqual(record?.data, { wasPending: true, reason: 'HIS 连接已断开' });
  } finally {
    await stop();
  }
});
