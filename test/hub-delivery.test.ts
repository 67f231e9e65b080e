/**
 * The agent's delivery loop against a real hub on a throwaway PostgreSQL: in order, retried
 * with backoff while the hub is down, exactly once after it comes back, and resumed after the
 * agent restarts — including a crash between the hub's acknowledgement and the outbox update.
 *
 * The outbox here is a plain array implementing HubOutbox; the agent's real outbox lives in its
 * SQLite store. What is under test is the loop and the hub, both real.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HubClient } from '../app/core/hub-client';
import { HubDelivery, type HubDeliveryState, type HubOutbox } from '../app/core/hub-delivery';
import { decisionEventBody, hubEvent, hubRowsAsLedger, orderEventBody } from '../app/core/hub-events';
import type { HubEvent } from '../app/core/protocol/hub';
import type { Check, Finding } from '../app/core/protocol/messages';
import { patientKeyer } from '../hub/security';
import { issueEnrolmentCode, startHubServer, type RunningHub } from '../hub/server';
import { HubStore } from '../hub/store/hub-store';
import { skipWithoutPostgres, startCluster, type TestCluster } from './postgres';

const skip = skipWithoutPostgres();
const today = new Date().toISOString().slice(0, 10);

class ArrayOutbox implements HubOutbox {
  readonly events: HubEvent[] = [];
  /** Set to make the next `delivered` fail, as a crash right after the hub's reply would. */
  crashOnDelivered = false;

  constructor(private nextSeq = 1) {}
  add(count: number, patientId: string): void {
    for (let index = 0; index < count; index++) {
      const seq = this.nextSeq++;
      const body = orderEventBody({
        checkId: `chk-${seq}`,
        patientId,
        visitId: `v-${seq}`,
        items: [{ rxId: `chk-${seq}#1`, code: 'XC08CAA001', name: '氨氯地平片', category: 'drug', date: today, days: 7, deptCode: '0301', deptName: '心内科', doctorCode: 'D017', doctorName: '王医生', channel: 'insured' }],
      });
      this.events.push(hubEvent(body, { id: `out-${seq}`, seq }));
    }
  }

  pending(limit: number): HubEvent[] {
    return this.events.slice(0, limit);
  }

  delivered(seq: number): void {
    if (this.crashOnDelivered) {
      this.crashOnDelivered = false;
      throw new Error('agent crashed');
    }
    while (this.events.length && this.events[0]!.seq <= seq) this.events.shift();
  }
}

describe('hub delivery loop', { skip, timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let store: HubStore;
  let hub: RunningHub | undefined;
  let port: number;
  const keyer = patientKeyer(Buffer.alloc(32, 5));
  let credential: string;
  let agentId: string;

  before(async () => {
    cluster = await startCluster();
    store = await HubStore.open(await cluster.createDatabase('delivery'));
    hub = await startHubServer({ store, keyer });
    port = hub.port;
    const { code } = await issueEnrolmentCode(store, 'test');
    const enrolment = new HubClient({ url: hub.url });
    ({ credential, agentId } = await enrolment.enrol({ code, pcName: 'PC-outbox', agentVersion: '0.1.0' }));
    enrolment.close();
  });

  after(async () => {
    await hub?.close();
    await store?.close();
    cluster?.stop();
  });

  /** Lets a test wait for the loop to report a state (registered before the action that causes it). */
  function observer(): { onState(state: HubDeliveryState): void; until(predicate: (state: HubDeliveryState) => boolean): Promise<HubDeliveryState> } {
    const waiters: Array<{ predicate: (state: HubDeliveryState) => boolean; resolve(state: HubDeliveryState): void }> = [];
    return {
      onState(state) {
        for (const waiter of [...waiters]) {
          if (waiter.predicate(state)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(state);
          }
        }
      },
      until: (predicate) => new Promise((resolve) => waiters.push({ predicate, resolve })),
    };
  }

  test('delivers in order, retries while the hub is down, and stores every event exactly once', { timeout: 60_000 }, async () => {
    const outbox = new ArrayOutbox();
    const client = new HubClient({ url: `http://127.0.0.1:${port}`, credential, timeoutMs: 2_000 });
    const { onState, until } = observer();
    const delivery = new HubDelivery({ client, outbox, batchSize: 7, minDelayMs: 20, maxDelayMs: 200, onState });
    try {
      outbox.add(30, 'P-OUT-1');
      let idle = until((state) => state.state === 'idle');
      delivery.start();
      await idle;
      assert.equal(outbox.events.length, 0);
      assert.equal(await store.eventCount(agentId), 30);

      // The hub goes away: the loop keeps the events and backs off; lookups answer null at once.
      await hub!.close();
      hub = undefined;
      outbox.add(25, 'P-OUT-1');
      const retrying = until((state) => state.state === 'retrying');
      delivery.kick();
      const failed = await retrying;
      assert.equal(failed.lastError?.code, 'network');
      assert.equal(outbox.events.length, 25, 'nothing leaves the outbox unacknowledged');
      assert.equal(await client.lookupHistory('P-OUT-1', '2000-01-01', { budgetMs: 25 }), null);

      // Back on the same address: the next retry delivers the rest.
      idle = until((state) => state.state === 'idle');
      hub = await startHubServer({ store, keyer, port });
      await idle;
      assert.equal(outbox.events.length, 0);
      assert.equal(await store.eventCount(agentId), 55);
      const rows = await client.lookupHistory('P-OUT-1', '2000-01-01', { budgetMs: 5_000 });
      assert.equal(rows?.length, 55);
    } finally {
      await delivery.stop();
      client.close();
    }
  });

  test('an agent that crashed after the hub acknowledged re-sends, and the hub keeps one copy', { timeout: 30_000 }, async () => {
    // Seqs continue past the previous test's, as one agent's outbox would.
    const outbox = new ArrayOutbox(1000);
    outbox.add(12, 'P-OUT-2');
    outbox.crashOnDelivered = true;
    const client = new HubClient({ url: `http://127.0.0.1:${port}`, credential });
    const before = await store.eventCount(agentId);
    const { onState, until } = observer();
    const crashed = new HubDelivery({ client, outbox, batchSize: 5, minDelayMs: 60_000, onState });
    const stopped = until((state) => state.state === 'retrying');
    crashed.start();
    await stopped;
    await crashed.stop();
    assert.equal(outbox.events.length, 12, 'the crash came before the outbox forgot the batch');
    assert.equal(await store.eventCount(agentId), before + 5, 'but the hub had stored it');

    // The restarted agent sends everything left, the first batch again.
    const second = observer();
    const restarted = new HubDelivery({ client, outbox, batchSize: 5, minDelayMs: 20, onState: second.onState });
    const idle = second.until((state) => state.state === 'idle');
    restarted.start();
    await idle;
    await restarted.stop();
    client.close();
    assert.equal(outbox.events.length, 0);
    assert.equal(await store.eventCount(agentId), before + 12);
  });

  test('a decision body carries the override with its reason and the self-pay switch', { timeout: 10_000 }, () => {
    const check = {
      type: 'check',
      id: 'c-77',
      ui: 'popup',
      patient: { id: 'P-77' },
      visit: { id: 'v', type: 'outpatient', date: today, dept: { code: '0402', name: '呼吸科' }, doctor: { code: 'D200', name: '李医生' } },
      diagnoses: [],
      items: [
        { line: '1', code: 'XC08CAA001', name: '氨氯地平片', category: 'drug', channel: 'insured' },
        { line: '2', code: 'XR05CBA001', name: '氨溴索片', category: 'drug', channel: 'insured' },
      ],
      history: [],
    } as unknown as Check;
    const finding = (findingId: string, ruleId: string, line: string): Finding => ({
      findingId, ruleId, kind: 'repeat', level: 'warn', lines: [line], title: 't', message: 'm', basis: 'b', actions: ['continue', 'selfpay', 'revise'], details: {},
    });
    const body = decisionEventBody(check, [finding('f1', 'R-1', '1'), finding('f2', 'R-2', '2')], {
      outcome: 'proceed',
      lines: [{ line: '1', action: 'continue' }, { line: '2', action: 'selfpay' }],
      reasons: [{ findingId: 'f1', reason: '患者外出' }],
    }, { source: 'popup' });
    assert.equal(body.type, 'decision');
    if (body.type !== 'decision') return;
    assert.deepEqual(body.decision.actions.map((action) => [action.ruleId, action.action, action.reason, action.itemName]), [
      ['R-1', 'continue', '患者外出', '氨氯地平片'],
      ['R-2', 'selfpay', undefined, '氨溴索片'],
    ]);
    assert.deepEqual(body.decision.doctor, { code: 'D200', name: '李医生' });
  });

  test('hub rows the local ledger already has are not counted twice', { timeout: 10_000 }, () => {
    const local = [{ rxId: 'c-1#1', code: 'X1', category: 'drug', date: today, channel: 'insured' as const }];
    const extra = hubRowsAsLedger(local, [
      { rxId: 'c-1#1', code: 'X1', category: 'drug', date: today, channel: 'insured', pcName: 'PC-A', checkId: 'c-1', recordedAt: new Date().toISOString() },
      { rxId: 'c-9#1', code: 'X1', category: 'drug', date: today, channel: 'insured', deptName: '心内科', pcName: 'PC-B', checkId: 'c-9', recordedAt: new Date().toISOString() },
    ]);
    assert.deepEqual(extra, [{ rxId: 'c-9#1', code: 'X1', category: 'drug', date: today, channel: 'insured', deptName: '心内科' }]);
  });
});
