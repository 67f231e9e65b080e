/**
 * The check's history lookup at the hub, against a hub that answers only when the test says so:
 * a plain HTTP server on loopback in a worker thread (its own event loop, so it sees a request
 * arrive while the agent's thread is busy; no PostgreSQL needed). The lookup leaves before the
 * agent reads its own ledger, so a slow read and the hub's round trip overlap; the ledger is
 * read once; the verdict's `elapsedMs` counts the agent's own work, not the wait for the hub;
 * a hub that keeps the lookup past the budget is left behind and the verdict says so.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { startAgent } from '../app/core/agent';
import { repeatCheck } from './hub-support';
import { HisClient, TOKEN, temporaryDir } from './support';

/** Holds each history request until the test answers its patient; deliveries get 503 (retried later). */
const HELD_HUB = `
const { parentPort } = require('node:worker_threads');
const { createServer } = require('node:http');
const held = new Map();
const server = createServer((request, response) => {
  const arrivedAt = Date.now();
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    if (request.url !== '/api/v1/history') {
      response.writeHead(503, { 'Content-Type': 'application/json' }).end('{"error":"unavailable","message":"test"}');
      return;
    }
    const body = Buffer.concat(chunks).toString('utf8');
    held.set(JSON.parse(body).patientId, response);
    parentPort.postMessage({ type: 'lookup', arrivedAt, body });
  });
});
parentPort.on('message', (message) => {
  if (message.type === 'answer') {
    const response = held.get(message.patientId);
    held.delete(message.patientId);
    if (response && !response.destroyed) response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ rows: message.rows }));
  }
  if (message.type === 'close') {
    server.closeAllConnections();
    server.close(() => parentPort.close());
  }
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ type: 'listening', port: server.address().port }));
`;

interface Lookup {
  arrivedAt: number;
  body: string;
}

describe('the history lookup at check time', { timeout: 60_000 }, () => {
  let hub: Worker;
  let url: string;
  const lookups: Lookup[] = [];
  let onLookup: (() => void) | null = null;

  before(async () => {
    hub = new Worker(HELD_HUB, { eval: true });
    hub.on('message', (message: { type: string; port?: number } & Lookup) => {
      if (message.type === 'lookup') {
        lookups.push({ arrivedAt: message.arrivedAt, body: message.body });
        onLookup?.();
      }
    });
    const port = await new Promise<number>((resolve) => hub.once('message', (message: { port: number }) => resolve(message.port)));
    url = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    const exited = new Promise((resolve) => hub.once('exit', resolve));
    hub.postMessage({ type: 'close' });
    await exited;
  });

  const nextLookup = (): Promise<Lookup> =>
    new Promise((resolve) => {
      const seen = lookups.length;
      onLookup = () => {
        if (lookups.length > seen) resolve(lookups[seen]!);
      };
    });
  const answer = (patientId: string, rows: unknown[] = []): void => hub.postMessage({ type: 'answer', patientId, rows });

  /** How long each ledger read takes (0: as it comes; more: a busy disk). */
  let slowReadMs = 0;

  /** An agent with this hub and a HIS connected to it, its ledger reads recorded with the time each began. */
  async function withAgent(budgetMs: number, run: (his: HisClient, reads: number[]) => Promise<void>): Promise<void> {
    slowReadMs = 0;
    const dir = temporaryDir();
    const agent = await startAgent({ dataDir: dir.path, port: 0, token: TOKEN, hub: { url, credential: 'agent1.secret-secret-secret-1234', budgetMs }, log: () => undefined });
    const reads: number[] = [];
    const store = agent.store;
    const priorItems = store.priorItems.bind(store);
    store.priorItems = (patientId, since) => {
      reads.push(Date.now());
      for (const until = Date.now() + slowReadMs; Date.now() < until; );
      return priorItems(patientId, since);
    };
    try {
      const his = await HisClient.connect(agent.port);
      try {
        await run(his, reads);
      } finally {
        await his.close();
      }
    } finally {
      await agent.stop();
      dir.remove();
    }
  }

  test('the lookup leaves before the ledger is read: a slow read and the round trip overlap; the ledger is read once', async () => {
    await withAgent(30_000, async (his, reads) => {
      // A first check opens the connection to the hub, kept alive from then on, as on a ward PC.
      const first = nextLookup();
      his.send(repeatCheck('lookup-0', 'P-LOOKUP-0'));
      await first;
      answer('P-LOOKUP-0');
      await his.next((frame) => frame.type === 'verdict' && frame.id === 'lookup-0');
      slowReadMs = 1_000;
      reads.length = 0;
      const lookup = nextLookup();
      his.send(repeatCheck('lookup-1', 'P-LOOKUP-1'));
      const arrived = await lookup;
      assert.equal((JSON.parse(arrived.body) as { patientId: string }).patientId, 'P-LOOKUP-1');
      assert.equal(reads.length, 1);
      // The hub had the request while the 1 s read was still going on.
      assert.ok(arrived.arrivedAt < reads[0]! + 800, `request arrived ${arrived.arrivedAt - reads[0]!} ms after the read began`);
      answer('P-LOOKUP-1');
      const verdict = await his.next((frame) => frame.type === 'verdict' && frame.id === 'lookup-1');
      assert.deepEqual(verdict.historySources, ['ledger', 'hub']);
      assert.equal(reads.length, 1, 'the ledger is read once per check');
      // The read is the agent's own work and counts.
      assert.ok((verdict.elapsedMs as number) > 900, `elapsedMs ${String(verdict.elapsedMs)}`);
    });
  });

  test('elapsedMs counts the agent’s own work, not the wait for the hub', async () => {
    await withAgent(30_000, async (his) => {
      const lookup = nextLookup();
      const sentAt = Date.now();
      his.send(repeatCheck('lookup-2', 'P-LOOKUP-2'));
      await lookup;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      answer('P-LOOKUP-2');
      const verdict = await his.next((frame) => frame.type === 'verdict' && frame.id === 'lookup-2');
      const waited = Date.now() - sentAt;
      assert.deepEqual(verdict.historySources, ['ledger', 'hub']);
      assert.ok(waited >= 1_000, `the verdict waited for the hub (${waited} ms)`);
      assert.ok((verdict.elapsedMs as number) < waited - 800, `elapsedMs ${String(verdict.elapsedMs)} of a ${waited} ms wait`);
    });
  });

  test('a hub that keeps the lookup past the budget is left behind: the verdict comes from the ledger alone', async () => {
    await withAgent(100, async (his, reads) => {
      const lookup = nextLookup();
      his.send(repeatCheck('lookup-3', 'P-LOOKUP-3'));
      await lookup;
      const verdict = await his.next((frame) => frame.type === 'verdict' && frame.id === 'lookup-3');
      assert.deepEqual(verdict.historySources, ['ledger']);
      assert.equal(reads.length, 1);
      // Answered after the verdict went out: nothing changes, nothing breaks.
      answer('P-LOOKUP-3');
    });
  });
});
