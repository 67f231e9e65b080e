/**
 * The agent's promises under faults, each tried the way it would break: kill -9 of a real agent
 * process while a HIS commits (during a rule-pack apply and outside one), a check id that is a
 * lone surrogate, and files tampered with while the agent was stopped. The full-size run with
 * its figures is `npm run reliability`; these are the same faults on a smaller scale.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, type Agent } from '../app/core/agent';
import type { StatusView } from '../app/core/protocol/ui';
import { rehashWithoutKey, tamperWithDatabase } from '../rules-cache/audit-attack';
import { KeyFileError } from '../rules-cache/key-file';
import { openStore } from '../rules-cache/store';
import {
  agentStatus,
  commitLoop,
  killHard,
  lostCommits,
  preparePack,
  serveStatic,
  startAgentProcess,
  SyncEndedFirst,
  stopGracefully,
  syncNow,
  untilStaging,
  untilSyncing,
} from '../scripts/reliability/harness';
import { EXAMPLES, HisClient, TOKEN, example, temporaryDir } from './support';

async function untilAcknowledged(loop: { acknowledged: unknown[] }, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (loop.acknowledged.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${loop.acknowledged.length} commits acknowledged`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('kill -9 loses no acknowledged commit', { timeout: 300_000 }, () => {
  const work = temporaryDir('rxgate-durability-');
  let web: Awaited<ReturnType<typeof serveStatic>>;
  let publicKeyPath: string;
  before(async () => {
    const pack = await preparePack(join(work.path, 'pack'), 10_000, 5);
    publicKeyPath = pack.publicKeyPath;
    web = await serveStatic(pack.www);
  });
  after(async () => {
    await web?.close();
    work.remove();
  });

  test('outside an apply', async () => {
    const dataDir = join(work.path, 'outside');
    const agent = await startAgentProcess(dataDir);
    try {
      const loop = commitLoop(agent.port, 'o');
      await untilAcknowledged(loop, 30);
      await killHard(agent);
      await loop.stop();
      assert.deepEqual(loop.errors, []);
      const { lost, auditOk } = lostCommits(dataDir, loop.acknowledged);
      assert.deepEqual(lost, []);
      assert.equal(auditOk, true);
    } finally {
      await killHard(agent);
    }
  });

  for (const phase of ['download', 'staging'] as const) {
    test(phase === 'download' ? 'as soon as a rule-pack sync has started' : 'while the pack is being written to the database', async () => {
      // A busy machine can starve the poll while the whole pack is written and made active;
      // then the kill would not land where it should, so the attempt starts over on a fresh agent.
      for (let attempt = 1; ; attempt += 1) {
        const dataDir = join(work.path, `during-${phase}-${attempt}`);
        const agent = await startAgentProcess(dataDir, { server: web.url, publicKeyPath });
        try {
          const loop = commitLoop(agent.port, 'd');
          await untilAcknowledged(loop, 20);
          const before = loop.acknowledged.length;
          const sync = syncNow(agent.port);
          try {
            if (phase === 'download') await untilSyncing(agent.port, sync);
            else await untilStaging(dataDir, 4000, sync);
          } catch (error) {
            await loop.stop();
            if (error instanceof SyncEndedFirst && attempt < 4) continue;
            throw error;
          }
          await killHard(agent);
          await loop.stop();
          const { lost, auditOk, auditReason, killedWhileStaging } = lostCommits(dataDir, loop.acknowledged);
          if (phase === 'staging') {
            assert.equal(killedWhileStaging, true, 'the kill landed while the pack was half written');
            assert.ok(loop.acknowledged.length > before, 'commits were acknowledged while the pack was being written');
          }
          assert.deepEqual(lost, [], `${lost.length} of ${loop.acknowledged.length} acknowledged commits lost`);
          assert.equal(auditOk, true, auditReason);
          // The agent starts on what the kill left: one library active, whole, and its status true to it.
          const again = await startAgentProcess(dataDir);
          const status = (await agentStatus(again.port)) as unknown as StatusView;
          await stopGracefully(again);
          const store = openStore(join(dataDir, 'rxgate.db'));
          try {
            const active = store.activeLibrary();
            assert.equal(status.rules?.version, active?.info.version, JSON.stringify(status).slice(0, 400));
            assert.equal(active?.library.rules.length, active?.info.ruleCount);
            assert.notEqual(active?.info.version, 5, 'the half-written pack never became active');
            assert.equal(status.integrity.ok, true, status.integrity.problems.join('; '));
          } finally {
            store.close();
          }
          return;
        } finally {
          await killHard(agent);
        }
      }
    });
  }
});

/** Starts an in-process agent on `dataDir` (examples library as the cached one). */
function start(dataDir: string): Promise<Agent> {
  return startAgent({ dataDir, port: 0, token: TOKEN, log: () => undefined });
}

/** Waits until the background verification of the whole trail has finished. */
async function verified(agent: Agent): Promise<StatusView['integrity']> {
  for (let tries = 0; tries < 500; tries += 1) {
    const integrity = agent.status().integrity;
    if (integrity.audit.state !== 'verifying') return integrity;
    await new Promise<void>((resolve) => {
      const stop = agent.integrity.events.on('changed', () => {
        stop();
        resolve();
      });
      setTimeout(() => {
        stop();
        resolve();
      }, 50);
    });
  }
  throw new Error('the background verification did not finish');
}

/** An agent that checked and committed a few orders, then stopped. */
async function agentWithHistory(): Promise<{ dataDir: string; remove(): void }> {
  const dir = temporaryDir('rxgate-tamper-');
  const agent = await start(dir.path);
  const his = await HisClient.connect(agent.port);
  for (let index = 0; index < 5; index += 1) {
    const message = { ...example('check-indication.json'), id: `t-${index}`, ui: 'none' };
    his.send(message);
    await his.next((frame) => frame.type === 'verdict' && frame.id === `t-${index}`);
    his.send({ type: 'commit', id: `t-${index}` });
    await his.next((frame) => frame.type === 'ack' && frame.id === `t-${index}`);
  }
  await his.close();
  await agent.stop();
  return { dataDir: dir.path, remove: dir.remove };
}


describe('tampering with a stopped agent’s files is noticed', { timeout: 120_000 }, () => {
  test('a check id that is a lone surrogate leaves the trail verifiable', async () => {
    const dir = temporaryDir();
    try {
      const agent = await start(dir.path);
      const his = await HisClient.connect(agent.port);
      his.send({ ...example('check-indication.json'), id: '\ud800', ui: 'none' });
      const verdict = await his.next((frame) => frame.type === 'verdict' || frame.type === 'error');
      assert.equal(verdict.type, 'verdict');
      his.send({ type: 'commit', id: '\ud800' });
      assert.equal((await his.next((frame) => frame.type === 'ack' || frame.type === 'error')).type, 'ack');
      await his.close();
      await agent.stop();
      const again = await start(dir.path);
      const integrity = await verified(again);
      await again.stop();
      assert.equal(integrity.ok, true, integrity.problems.join('; '));
    } finally {
      dir.remove();
    }
  });

  test('an edited audit record, with or without re-hashing the chain', async () => {
    for (const rehash of [false, true]) {
      const { dataDir, remove } = await agentWithHistory();
      try {
        tamperWithDatabase(dataDir, (raw) => {
          const seq = raw.prepare(`SELECT min(seq) FROM audit WHERE type = 'check'`).pluck().get() as number;
          raw.prepare(`UPDATE audit SET data = json_set(data, '$.result', 'pass') WHERE seq = ?`).run(seq);
          if (rehash) rehashWithoutKey(raw, seq);
        });
        const agent = await start(dataDir);
        const integrity = await verified(agent);
        await agent.stop();
        assert.equal(integrity.ok, false, `rehash ${rehash}`);
        assert.equal(integrity.audit.state, 'broken');
        assert.ok(integrity.problems.some((problem) => problem.includes('审计记录')));
      } finally {
        remove();
      }
    }
  });

  test('the tail of the trail deleted: found at start-up through the anchor', async () => {
    const { dataDir, remove } = await agentWithHistory();
    try {
      tamperWithDatabase(dataDir, (raw) => raw.prepare('DELETE FROM audit WHERE seq > (SELECT max(seq) - 3 FROM audit)').run());
      const agent = await start(dataDir);
      const integrity = agent.status().integrity;
      await agent.stop();
      assert.equal(integrity.ok, false);
      assert.ok(integrity.problems.some((problem) => problem.includes('截断')), integrity.problems.join('; '));
    } finally {
      remove();
    }
  });

  test('a rule disabled in the database: that library is not used, and the status says why', async () => {
    const dir = temporaryDir();
    try {
      // A pack-like library (the examples) installed over the demo one, then edited on disk.
      const library = JSON.parse(readFileSync(join(EXAMPLES, 'rules.json'), 'utf8')) as { rules: unknown[] };
      writeFileSync(join(dir.path, 'library.json'), JSON.stringify({ ...library, version: 7 }));
      const first = await startAgent({ dataDir: dir.path, port: 0, token: TOKEN, rulesFile: join(dir.path, 'library.json') });
      await first.stop();
      tamperWithDatabase(dir.path, (raw) => raw.prepare(`UPDATE rules SET body = json_set(body, '$.enabled', json('false')) WHERE rule_id = 'IND-0001'`).run());
      const agent = await start(dir.path);
      try {
        const integrity = agent.status().integrity;
        assert.equal(integrity.ok, false);
        assert.ok(integrity.problems.some((problem) => problem.includes('数据库在 RxGate 之外被修改过')), integrity.problems.join('; '));
        assert.notEqual(agent.status().rules?.version, 7, 'the edited library is not in force');
        // The rule still blocks: the last good library (here the demo one, which has it too) answers.
        const his = await HisClient.connect(agent.port);
        his.send({ ...example('check-indication.json'), ui: 'none' });
        const verdict = await his.next((frame) => frame.type === 'verdict');
        await his.close();
        assert.equal(verdict.result, 'block');
      } finally {
        await agent.stop();
      }
    } finally {
      dir.remove();
    }
  });

  test('one patient’s prescriptions deleted from the ledger: found by comparing it with the commits in the trail', async () => {
    const { dataDir, remove } = await agentWithHistory();
    try {
      tamperWithDatabase(dataDir, (raw) => raw.prepare(`DELETE FROM ledger WHERE check_id = 't-2'`).run());
      const agent = await start(dataDir);
      const integrity = await verified(agent);
      await agent.stop();
      assert.equal(integrity.ok, false);
      assert.ok(integrity.problems.some((problem) => problem.includes('处方台账少了 1 张')), integrity.problems.join('; '));
    } finally {
      remove();
    }
  });

  test('the key file deleted: the agent refuses to start rather than orphan the history', async () => {
    const { dataDir, remove } = await agentWithHistory();
    try {
      unlinkSync(join(dataDir, 'rxgate.key'));
      await assert.rejects(start(dataDir), (error: unknown) => error instanceof KeyFileError && /rxgate\.key/.test(error.message));
    } finally {
      remove();
    }
  });
});
