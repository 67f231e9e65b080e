/**
 * `npm run reliability`: tries to break what the agent promises under faults, as an attacker
 * or an unlucky power cut would, and prints what it found.
 *
 *   --rules N    rules in the pack applied while the agent is killed (default 100000)
 *   --kills N    kill -9 rounds, half of them during a rule-pack apply (default 20)
 *
 * 1. kill -9 outside and during applies while a HIS commits as fast as it can: every commit the
 *    agent acknowledged must be in the ledger, with its audit record, and the trail must verify.
 * 2. A check whose id is a lone surrogate ("\ud800"): the trail still verifies.
 * 3. Tampering with the files of a stopped agent: each case and whether the agent notices.
 * 4. The files' modes on POSIX.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { rehashWithoutKey, tamperWithDatabase } from '../rules-cache/audit-attack';
import { openStore } from '../rules-cache/store';
import {
  TOKEN,
  agentStatus,
  commitLoop,
  killHard,
  lostCommits,
  preparePack,
  serveStatic,
  simpleCheck,
  startAgentProcess,
  stopGracefully,
  syncNow,
  SyncEndedFirst,
  untilStaging,
  untilSyncing,
} from './reliability/harness';

const { values } = parseArgs({ options: { rules: { type: 'string', default: '100000' }, kills: { type: 'string', default: '20' } } });
const RULES = Number(values.rules);
const KILLS = Number(values.kills);
const PACK_VERSION = 5;

const work = mkdtempSync(join(tmpdir(), 'rxgate-reliability-'));
const lines: string[] = [];
function say(line: string): void {
  lines.push(line);
  console.log(line);
}

async function untilAcknowledged(loop: { acknowledged: unknown[] }, count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (loop.acknowledged.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${loop.acknowledged.length} commits acknowledged in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function kills(): Promise<void> {
  say(`## 1. kill -9 while a HIS commits (${KILLS} rounds, pack of ${RULES} rules)`);
  const { www, publicKeyPath } = await preparePack(join(work, 'pack'), RULES, PACK_VERSION);
  const web = await serveStatic(www);
  try {
    // How long a full sync takes here, so the kills during an apply land inside it.
    const calibration = join(work, 'calibration');
    const agent = await startAgentProcess(calibration, { server: web.url, publicKeyPath });
    const started = performance.now();
    const result = await syncNow(agent.port);
    const syncMs = performance.now() - started;
    await stopGracefully(agent);
    say(`calibration: one sync of the pack took ${syncMs.toFixed(0)} ms (${result})`);

    let totalAcknowledged = 0;
    let totalLost = 0;
    let duringApply = 0;
    let whileStaging = 0;
    for (let round = 1; round <= KILLS; round += 1) {
      const during = round % 2 === 0;
      const dataDir = join(work, `round-${round}`);
      const agent = await startAgentProcess(dataDir, during ? { server: web.url, publicKeyPath } : {});
      const loop = commitLoop(agent.port, `r${round}`);
      await untilAcknowledged(loop, 20);
      // Kills during a sync cycle through: as soon as it starts; at a random point of writing
      // the pack; at a random time in the window a whole sync takes.
      const mode = during ? (['download', 'staging', 'timed'] as const)[(round / 2) % 3]! : 'idle';
      const killedAt = performance.now();
      const sync = during ? syncNow(agent.port) : undefined;
      let missed = '';
      if (sync && mode !== 'timed') {
        try {
          if (mode === 'download') await untilSyncing(agent.port, sync);
          else await untilStaging(dataDir, Math.floor(RULES * (0.05 + 0.9 * Math.random())), sync);
        } catch (error) {
          // Still a kill with commits under way, only later than meant: the round says so.
          if (!(error instanceof SyncEndedFirst)) throw error;
          missed = ` (${error.message})`;
        }
      } else {
        const delay = mode === 'timed' ? syncMs * Math.random() : 50 + Math.random() * 400;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      const delay = performance.now() - killedAt;
      await killHard(agent);
      await loop.stop();
      const { lost, auditOk, auditReason, killedWhileStaging } = lostCommits(dataDir, loop.acknowledged);
      if (killedWhileStaging) whileStaging += 1;
      const store = openStore(join(dataDir, 'rxgate.db'), { purgeOnOpen: false });
      const version = store.libraryInfo().active?.version;
      store.close();
      // The agent must start again on what the kill left, with its data intact.
      const again = await startAgentProcess(dataDir);
      const status = await agentStatus(again.port);
      await stopGracefully(again);
      const integrity = status.integrity as { ok: boolean; problems: string[] };
      const rulesVersion = (status.rules as { version: number } | null)?.version;
      totalAcknowledged += loop.acknowledged.length;
      totalLost += lost.length;
      if (during && version !== PACK_VERSION) duringApply += 1;
      say(
        `round ${round}: ${mode.padEnd(8)} kill at ${delay.toFixed(0).padStart(5)} ms${missed}; ` +
          `acknowledged ${String(loop.acknowledged.length).padStart(5)}, lost ${lost.length}; ` +
          `pack ${version === PACK_VERSION ? 'was active before the kill' : killedWhileStaging ? 'half written (killed while staging)' : 'not (yet) active'}; ` +
          `audit ${auditOk ? 'verifies' : `BROKEN (${auditReason})`}; restart: rules v${rulesVersion}, integrity ${integrity.ok ? 'ok' : integrity.problems.join('; ')}`,
      );
    }
    say(
      `total: ${KILLS} kills (${duringApply} during a sync before the pack became active, ${whileStaging} of them while the pack was being written), ` +
        `${totalAcknowledged} acknowledged commits, ${totalLost} lost`,
    );
  } finally {
    await web.close();
  }
}

async function surrogate(): Promise<void> {
  say('## 2. a check id that is a lone surrogate');
  const dataDir = join(work, 'surrogate');
  const agent = await startAgentProcess(dataDir);
  const socket = new WebSocket(`ws://127.0.0.1:${agent.port}/v1?token=${TOKEN}`);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const replies: string[] = [];
  socket.on('message', (data) => replies.push(data.toString()));
  const send = (message: unknown) =>
    new Promise<void>((resolve) => {
      const before = replies.length;
      socket.send(JSON.stringify(message));
      const wait = () => (replies.length > before ? resolve() : setTimeout(wait, 5));
      wait();
    });
  await send(simpleCheck('\ud800', 'P-surrogate'));
  await send({ type: 'commit', id: '\ud800' });
  await send(simpleCheck('after-surrogate', 'P-after'));
  socket.close();
  await stopGracefully(agent);
  const store = openStore(join(dataDir, 'rxgate.db'));
  const result = store.verifyAudit();
  store.close();
  say(`replies: ${replies.map((reply) => (JSON.parse(reply) as { type: string }).type).join(', ')}; audit ${result.ok ? `verifies (${result.count} records)` : `BROKEN: ${result.reason}`}`);
}

/** Runs an agent with some history, stops it, lets `tamper` change the files, starts it again. */
async function tamperCase(name: string, tamper: (dataDir: string) => void, expectation: string): Promise<void> {
  const dataDir = join(work, `tamper-${name.replace(/\W+/g, '-')}`);
  const agent = await startAgentProcess(dataDir);
  const loop = commitLoop(agent.port, 't');
  await untilAcknowledged(loop, 600);
  await loop.stop();
  await stopGracefully(agent);
  tamper(dataDir);
  let outcome: string;
  try {
    const again = await startAgentProcess(dataDir, { timeoutMs: 30_000 });
    // The full verification runs in the background after start; give it its moment.
    let status = await agentStatus(again.port);
    for (let tries = 0; tries < 100 && (status.integrity as { audit: { state: string } }).audit.state === 'verifying'; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = await agentStatus(again.port);
    }
    await stopGracefully(again);
    const integrity = status.integrity as { ok: boolean; problems: string[] };
    outcome = integrity.ok ? 'NOT DETECTED (status ok)' : `DETECTED: ${integrity.problems.join(' / ')}`;
  } catch (error) {
    const message = (error as Error).message;
    outcome = /密钥文件/.test(message) ? `DETECTED: the agent refuses to start (${message.split('\n').find((line) => line.includes('密钥文件'))?.trim()})` : `agent did not start: ${message.slice(0, 300)}`;
  }
  say(`${name}: ${outcome}  [${expectation}]`);
}


async function tampering(): Promise<void> {
  say('## 3. tampering with a stopped agent’s files');
  await tamperCase(
    'an audit record edited (pass → block result changed)',
    (dir) => tamperWithDatabase(dir, (raw) => raw.prepare(`UPDATE audit SET data = json_set(data, '$.result', 'block') WHERE seq = (SELECT min(seq) FROM audit WHERE type = 'check')`).run()),
    'found by the start-up or background verification',
  );
  await tamperCase(
    'the last 500 audit records deleted',
    (dir) => tamperWithDatabase(dir, (raw) => raw.prepare('DELETE FROM audit WHERE seq > (SELECT max(seq) - 500 FROM audit)').run()),
    'found through the anchor file (and by the hub once it anchors the head)',
  );
  await tamperCase(
    'one record edited and the chain re-hashed (no key)',
    (dir) =>
      tamperWithDatabase(dir, (raw) => {
        const seq = raw.prepare(`SELECT min(seq) FROM audit WHERE type = 'commit'`).pluck().get() as number;
        raw.prepare(`UPDATE audit SET data = json_set(data, '$.recorded', 0) WHERE seq = ?`).run(seq);
        rehashWithoutKey(raw, seq);
      }),
    'found: the chain is keyed with a key outside the database',
  );
  await tamperCase(
    'one patient’s ledger rows deleted',
    (dir) => tamperWithDatabase(dir, (raw) => raw.prepare('DELETE FROM ledger WHERE patient_key = (SELECT patient_key FROM ledger LIMIT 1)').run()),
    'found by comparing the ledger with the commits in the audit trail (and the hub keeps a copy of every committed order)',
  );
  await tamperCase('the key file deleted', (dir) => unlinkSync(join(dir, 'rxgate.key')), 'the agent refuses a new key rather than orphan the history');
  await tamperCase(
    'a rule disabled inside the database',
    (dir) => tamperWithDatabase(dir, (raw) => raw.prepare(`UPDATE rules SET body = json_set(body, '$.enabled', json('false')) WHERE rowid = (SELECT min(rowid) FROM rules)`).run()),
    'the library is not used; the last good one is, and the status says why',
  );
  await tamperCase(
    'the anchor file moved back',
    (dir) => {
      const path = join(dir, 'audit-head.json');
      const anchor = JSON.parse(readFileSync(path, 'utf8')) as { seq: number };
      writeFileSync(path, JSON.stringify({ ...anchor, seq: anchor.seq - 1 }));
    },
    'found: the anchor carries a MAC',
  );
}

function modes(): void {
  say('## 4. file modes');
  if (process.platform === 'win32') return say('(not POSIX)');
  const dataDir = join(work, 'tamper-a-rule-disabled-inside-the-database');
  say(`data folder: ${(statSync(dataDir).mode & 0o777).toString(8)}`);
  for (const name of readdirSync(dataDir).sort()) {
    const mode = (statSync(join(dataDir, name)).mode & 0o777).toString(8);
    say(`  ${name}: ${mode}`);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  try {
    await kills();
    await surrogate();
    await tampering();
    modes();
    say(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
