/**
 * The check's history lookup at the hub, against a hub that answers only when the test says so
 * (a plain HTTP server on loopback; no PostgreSQL needed): the agent reads its own ledger while
 * the hub has not answered yet, reads it once, and the verdict's `elapsedMs` counts the agent's
 * own work, not the wait for the hub. A hub that keeps the lookup past the budget is left
 * behind and the verdict says so.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAgent, type Agent } from '../app/core/agent';
import { repeatCheck } from './hub-support';
import { HisClient, TOKEN, temporaryDir } from './support';

describe('the history lookup at check time', { timeout: 60_000 }, () => {
  let server: Server;
  let url: string;
  /** History requests waiting for the test to answer them. */
  const held: Array<{ body: string; answer: (rows: unknown[]) => void }> = [];
  let arrived: (() => void) | null = null;

  before(async () => {
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.url !== '/api/v1/history') {
          // Deliveries (the status report) are not what this test is about: retried later.
          response.writeHead(503, { 'Content-Type': 'application/json' }).end('{"error":"unavailable","message":"test"}');
          return;
        }
        held.push({
          body: Buffer.concat(chunks).toString('utf8'),
          answer: (rows) => {
            if (!response.destroyed) response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ rows }));
          },
        });
        arrived?.();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const nextLookup = (): Promise<void> => new Promise((resolve) => (arrived = resolve));

  async function withAgent(budgetMs: number, run: (agent: Agent, ledgerReads: () => number) => Promise<void>): Promise<void> {
    const dir = temporaryDir();
    const agent = await startAgent({ dataDir: dir.path, port: 0, token: TOKEN, hub: { url, credential: 'agent1.secret-secret-secret-1234', budgetMs }, log: () => undefined });
    let reads = 0;
    const store = agent.store;
    const priorItems = store.priorItems.bind(store);
    store.priorItems = (patientId, since) => {
      reads += 1;
      return priorItems(patientId, since);
    };
    try {
      await run(agent, () => reads);
    } finally {
      await agent.stop();
      dir.remove();
    }
  }

  test('the ledger is read while the hub has not answered, once; the wait is not counted in elapsedMs', async () => {
    await withAgent(30_000, async (agent, ledgerReads) => {
      const his = await HisClient.connect(agent.port);
      try {
        const lookup = nextLookup();
        const sentAt = Date.now();
        his.send(repeatCheck('lookup-1', 'P-LOOKUP-1'));
        await lookup;
        assert.equal(held.length, 1);
        assert.equal((JSON.parse(held[0]!.body) as { patientId: string }).patientId, 'P-LOOKUP-1');
        // The hub has not answered, and the ledger has been read already.
        assert.equal(ledgerReads(), 1);
        await new Promise((resolve) => setTimeout(resolve, 400));
        held.shift()!.answer([]);
        const verdict = await his.next((frame) => frame.type === 'verdict' && frame.id === 'lookup-1');
        const waited = Date.now() - sentAt;
        assert.deepEqual(verdict.historySources, ['ledger', 'hub']);
        assert.equal(ledgerReads(), 1, 'the ledger is read once per check');
        assert.ok(waited >= 400, `the verdict waited for the hub (${waited} ms)`);
        assert.ok((verdict.elapsedMs as number) < waited - 300, `elapsedMs ${String(verdict.elapsedMs)} counts the agent's work, not the ${waited} ms wait`);
      } finally {
        await his.close();
      }
    });
  });

  test('a hub that keeps the lookup past the budget is left behind: the verdict comes from the ledger alone', async () => {
    await withAgent(100, async (agent, ledgerReads) => {
      const his = await HisClient.connect(agent.port);
      try {
        const lookup = nextLookup();
        his.send(repeatCheck('lookup-2', 'P-LOOKUP-2'));
        await lookup;
        const verdict = await his.next((frame) => frame.type === 'verdict' && frame.id === 'lookup-2');
        assert.deepEqual(verdict.historySources, ['ledger']);
        assert.equal(ledgerReads(), 1);
        // Answered after the verdict went out: nothing changes, nothing breaks.
        held.shift()!.answer([]);
      } finally {
        await his.close();
      }
    });
  });
});
