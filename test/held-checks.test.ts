/**
 * Answered checks are remembered for `commit`, long-polls and 3103 as compact UTF-8 JSON once
 * nothing is about to read them (check-service.ts, `HeldCheck`). What is read back must be
 * exactly what was checked and answered, and a popup still waiting keeps its objects. The
 * WebSocket reply carries the same bytes, as a text frame; it is a copy, which the held text's
 * slab being used again for later checks must never change.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from '../app/core/agent';
import { parseCheck, type Verdict } from '../app/core/protocol/messages';
import { example, HisClient, startTestAgent } from './support';

type Frame = Record<string, unknown>;

/** Resolves once the check's audit record is in the database (the batch has been written). */
async function untilAudited(agent: Agent, checkId: string): Promise<void> {
  for (let tries = 0; tries < 500; tries += 1) {
    if (agent.store.recentAudit(50, 'check').some((record) => record.checkId === checkId)) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no check record for ${checkId}`);
}

/** What JSON keeps of a value: the text form drops undefined fields and nothing else. */
const asJson = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

describe('answered checks held as text', () => {
  let agent: Agent;
  let stop: () => Promise<void>;
  before(async () => {
    ({ agent, stop } = await startTestAgent());
  });
  after(async () => stop());

  test('read back after the audit record is written: the same check and verdict; commit records the lines', async () => {
    const order = example('check-repeat.json');
    order.id = 'H-1';
    order.ui = 'none';
    const verdict = agent.checks.check(order);
    assert.ok(verdict.findings.length > 0, 'the order has findings to carry through');
    await untilAudited(agent, 'H-1');

    const held = agent.checks.view('H-1')!;
    // A different object with the same content: it was read back from the text.
    assert.notEqual(held.verdict, verdict);
    assert.deepEqual(held.verdict, asJson(verdict));
    assert.deepEqual(held.check, asJson({ ...parseCheck(order).data, history: [] }));

    const ack = agent.checks.commit({ type: 'commit', id: 'H-1' });
    assert.equal(ack.recorded, (order.items as Frame[]).length);
    const patientId = (order.patient as Frame).id as string;
    const visitDate = (order.visit as Frame).date as string;
    const recorded = agent.store.priorItems(patientId, visitDate).filter((item) => item.rxId.includes('/H-1#'));
    assert.deepEqual(
      recorded.map((item) => [item.code, item.name, item.days, item.date]).sort(),
      (order.items as Frame[]).map((item) => [item.code, item.name, item.days, visitDate]).sort(),
    );
  });

  test('the WebSocket reply is a text frame whose JSON is the verdict held', async () => {
    const his = await HisClient.connect(agent.port);
    const { socket } = his;
    try {
      const order = example('check-chronic.json');
      order.id = 'H-3';
      order.ui = 'none';
      const reply = new Promise<{ data: Buffer; isBinary: boolean }>((resolve) =>
        socket.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })),
      );
      socket.send(JSON.stringify(order));
      const { data, isBinary } = await reply;
      assert.equal(isBinary, false, 'a verdict sent as a binary frame');
      const sent = JSON.parse(data.toString('utf8')) as Verdict;
      assert.equal(sent.type, 'verdict');
      assert.equal(sent.id, 'H-3');
      await untilAudited(agent, 'H-3');
      assert.deepEqual(agent.checks.view('H-3')!.verdict, sent);
    } finally {
      await his.close();
    }
  });

  test('checks forgotten give their slabs back: the held ones read back exactly, and replies already made are never written over', async () => {
    const total = 2000;
    const verdicts: Verdict[] = [];
    const checks: unknown[] = [];
    const replies: Buffer[] = [];
    for (let index = 0; index < total; index += 1) {
      const order = example('check-repeat.json');
      order.id = `S-${index}`;
      order.ui = 'none';
      // Texts of different lengths, so that copies straddle the slabs' ends differently.
      const items = order.items as Frame[];
      items[0]!.name = `${items[0]!.name as string}${'剂'.repeat(index % 37)}`;
      const verdict = agent.checks.check(order);
      verdicts.push(verdict);
      checks.push(asJson({ ...parseCheck(order).data, history: [] }));
      // What the transport sends, kept here as a slow socket would keep it.
      replies.push(agent.checks.replyUtf8(verdict));
      // Let the audit batches be written, which is when answered checks become text.
      if (index % 50 === 49) await untilAudited(agent, `S-${index}`);
    }
    // About 2,000 checks of text went through the slabs while only the last 500 were held: the
    // slabs of the first were written again many times over.
    assert.equal(agent.checks.view('S-0'), undefined, 'the oldest check is forgotten');
    replies.forEach((reply, index) => assert.deepEqual(JSON.parse(reply.toString('utf8')), asJson(verdicts[index]), `reply ${index}`));
    for (let index = total - 500; index < total; index += 1) {
      const held = agent.checks.view(`S-${index}`);
      assert.ok(held, `S-${index} is held`);
      assert.deepEqual(held.verdict, asJson(verdicts[index]), `verdict of S-${index}`);
      assert.deepEqual(held.check, checks[index], `check of S-${index}`);
    }
  });

  test('a popup keeps its objects while it waits; the decision, then the commit, read the text', async () => {
    const order = example('check-indication.json');
    order.id = 'H-2';
    const verdict: Verdict = agent.checks.check(order);
    assert.equal(verdict.pending, true);
    await untilAudited(agent, 'H-2');
    assert.equal(agent.checks.view('H-2')!.verdict, verdict, 'a waiting popup is not turned into text');
    assert.equal(agent.pending().find((view) => view.id === 'H-2')?.findings, verdict.findings);

    const finding = verdict.findings[0]!;
    const decision = agent.checks.decide({ id: 'H-2', outcome: 'proceed', lines: finding.lines.map((line) => ({ line, action: 'selfpay' })) });
    assert.equal(decision.outcome, 'proceed');
    const held = agent.checks.view('H-2')!;
    assert.notEqual(held.verdict, verdict);
    assert.deepEqual(held.verdict, asJson(verdict));
    assert.deepEqual(held.decision, decision);

    agent.checks.commit({ type: 'commit', id: 'H-2' });
    const patientId = (order.patient as Frame).id as string;
    const recorded = agent.store.priorItems(patientId, '2000-01-01').filter((item) => item.rxId.includes('/H-2#'));
    const switched = recorded.filter((item) => finding.lines.some((line) => item.rxId.endsWith(`#${line}`)));
    assert.ok(switched.length > 0);
    assert.ok(switched.every((item) => item.channel === 'selfpay'), 'the action chosen in the popup reaches the ledger');
  });
});
