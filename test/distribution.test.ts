/**
 * Rule distribution end to end: spreadsheets → signed pack → published folder → a real HTTP
 * server on loopback → the agent syncs it and answers with the new rules, while a HIS keeps
 * checking throughout. And the faults: the last good rules stay, the status names the fault.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, normalize, sep } from 'node:path';
import ExcelJS from 'exceljs';
import { buildPack, generateKeyPair, publishPack } from '../rules-cache/pack';
import { loadRuleSources } from '../rules-cache/sources';
import { wireSync } from '../app/core/sync-wiring';
import { main as cli } from '../app/core/cli';
import { HisClient, example, startTestAgent, temporaryDir } from './support';

const samples = join(__dirname, '..', 'rules-cache', 'sources', 'samples');

/** A static file server over a folder, with ETags, and a switch to misbehave. */
function staticServer(root: string): Promise<{ server: Server; url: string; mode: { value: 'ok' | '500' | 'down' } }> {
  const mode = { value: 'ok' as 'ok' | '500' | 'down' };
  const server = createServer((request, response) => {
    if (mode.value === '500') {
      response.writeHead(500);
      return void response.end('broken');
    }
    const path = normalize(join(root, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)));
    if (!path.startsWith(root + sep) || !existsSync(path) || statSync(path).isDirectory()) {
      response.writeHead(404);
      return void response.end();
    }
    const body = readFileSync(path);
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, { ETag: etag });
      return void response.end();
    }
    response.writeHead(200, { ETag: etag, 'Content-Length': body.length });
    response.end(body);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, mode });
    });
  });
}

/** An extra rule in an XLSX workbook, as the insurance office would add one. */
async function writeWorkbook(file: string): Promise<void> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('限定支付');
  sheet.addRow(['规则编号', '级别', '规则名称', '药品编码', '最大年龄', '政策依据']);
  sheet.addRow(['IND-9001', '拦截', '氨氯地平限儿童(测试规则)', 'XC08CAA053', 17, '测试: 新规则经签名规则包下发']);
  await workbook.xlsx.writeFile(file);
}

describe('sync a signed pack built from CSV and XLSX', () => {
  const dir = temporaryDir('rxgate-dist-');
  let web: Awaited<ReturnType<typeof staticServer>>;
  let publicKeyPem: string;
  let privateKeyPem: string;
  const www = join(dir.path, 'www');

  before(async () => {
    const keys = await generateKeyPair(join(dir.path, 'keys'));
    publicKeyPem = keys.publicKeyPem;
    privateKeyPem = readFileSync(keys.privateKeyPath, 'utf8');
    cpSync(join(samples, 'csv'), join(dir.path, 'sources'), { recursive: true });
    await writeWorkbook(join(dir.path, 'sources', 'extra.xlsx'));
    web = await staticServer(www);
  });
  after(() => {
    web.server.close();
    dir.remove();
  });

  test('the agent applies it while checks keep being answered, and answers with the new rules', async () => {
    const sources = await loadRuleSources([join(dir.path, 'sources')]);
    assert.deepEqual(sources.errors, []);
    assert.ok(sources.rules.some((rule) => rule.id === 'IND-9001'), 'the XLSX rule is read');
    assert.ok(sources.rules.some((rule) => rule.id === 'CHR-0001'), 'the CSV rules are read');
    await buildPack({ rules: sources.rules, privateKeyPem, version: 10, outDir: join(dir.path, 'pack') });
    await publishPack(join(dir.path, 'pack'), www);

    const { agent, stop } = await startTestAgent();
    const his = await HisClient.connect(agent.port);
    const sync = wireSync(agent, { servers: [web.url], publicKeys: [publicKeyPem] })!;
    try {
      const message = example('check-chronic.json');
      message.ui = 'none';
      const before = await his.request({ ...message, id: 'before' }, 'verdict');
      assert.ok(!(before.findings as Array<{ ruleId: string }>).some((finding) => finding.ruleId === 'IND-9001'));

      // A HIS that keeps checking while the pack is fetched, verified and applied.
      let syncing = true;
      const during: Array<{ result: unknown; type: unknown }> = [];
      const checking = (async () => {
        for (let index = 0; syncing; index += 1) {
          const verdict = await his.request({ ...message, id: `during-${index}` });
          during.push({ result: verdict.result, type: verdict.type });
        }
      })();
      const outcome = await agent.syncNow();
      syncing = false;
      await checking;

      assert.equal(agent.rulesStatus()?.version, 10, outcome);
      assert.match(outcome, /10/);
      assert.equal(agent.rulesStatus()?.source, 'pack');
      assert.ok(during.length > 0, 'checks were answered during the sync');
      assert.ok(during.every((entry) => entry.type === 'verdict' && entry.result !== 'unchecked'), JSON.stringify(during.slice(0, 3)));

      const afterSync = await his.request({ ...message, id: 'after' }, 'verdict');
      const finding = (afterSync.findings as Array<{ ruleId: string; lines: string[] }>).find((candidate) => candidate.ruleId === 'IND-9001');
      assert.deepEqual(finding?.lines, ['1'], 'the new rule from the XLSX fires');
      assert.equal(agent.status().sync.state, 'ok');

      // Nothing new: a cheap conditional request, nothing applied.
      assert.match(await agent.syncNow(), /最新|未变|up/i);
      assert.equal(agent.rulesStatus()?.version, 10);

      // Faults leave version 10 active and say what happened.
      web.mode.value = '500';
      await agent.syncNow();
      assert.equal(agent.rulesStatus()?.version, 10);
      assert.equal(agent.status().sync.state, 'failed');
      assert.equal(agent.status().sync.lastErrorCode, 'http_error');
      web.mode.value = 'ok';

      const older = join(dir.path, 'older');
      await buildPack({ rules: sources.rules, privateKeyPem, version: 11, outDir: older });
      const manifestPath = join(www, 'rxgate', 'manifest.json');
      await publishPack(older, www);
      const tampered = readFileSync(manifestPath, 'utf8').replace(/"version":(\s*)11/, (_match, space: string) => `"version":${space}12`);
      assert.notEqual(tampered, readFileSync(manifestPath, 'utf8'));
      writeFileSync(manifestPath, tampered);
      await agent.syncNow();
      assert.equal(agent.rulesStatus()?.version, 10, 'a manifest changed after signing is refused');
      assert.equal(agent.status().sync.lastErrorCode, 'bad_signature');
    } finally {
      await sync.stop();
      await his.close();
      await stop();
    }
  });

  test('a restart keeps the synced library, and rules import takes a pack from a folder (offline ward)', async () => {
    const data = temporaryDir('rxgate-offline-');
    const dataDir = data.path;
    await (await startTestAgent({ dataDir })).stop();
    const keyFile = join(dir.path, 'keys', 'public.pem');
    const pack = join(dir.path, 'pack-offline');
    const sources = await loadRuleSources([join(dir.path, 'sources')]);
    await buildPack({ rules: sources.rules, privateKeyPem, version: 20, outDir: pack });
    const lines: string[] = [];
    const log = console.log;
    console.log = (line: string) => lines.push(line);
    let code: number;
    try {
      code = await cli(['rules', 'import', pack, '--data-dir', dataDir, '--public-key', keyFile]);
    } finally {
      console.log = log;
    }
    assert.equal(code, 0, lines.join('\n'));
    assert.match(lines.join('\n'), /版本 20/);
    const again = await startTestAgent({ dataDir });
    try {
      assert.equal(again.agent.rulesStatus()?.version, 20);
      assert.equal(again.agent.rulesStatus()?.source, 'pack');
      const refusedErrors: string[] = [];
      const error = console.error;
      console.error = (line: string) => refusedErrors.push(line);
      try {
        assert.equal(await cli(['rules', 'import', pack, '--data-dir', dataDir, '--public-key', keyFile]), 1, 'the same version again is refused');
      } finally {
        console.error = error;
      }
      assert.match(refusedErrors.join('\n'), /20/);
    } finally {
      await again.stop();
      data.remove();
    }
  });
});

describe('rules build reports every bad row and builds nothing', () => {
  test('two bad rows in a CSV: both reported with row and column, no pack written', async () => {
    const dir = temporaryDir('rxgate-build-');
    try {
      await generateKeyPair(join(dir.path, 'keys'));
      const csv = ['规则编号,级别,规则名称,药品编码,限定诊断', 'A-1,拦截,好规则,ZA12AAZ017,C34', 'A-2,严重,坏级别,ZA12AAZ017,C34', 'A-3,提醒,坏诊断,ZA12AAZ017,C99-C10'].join('\r\n');
      writeFileSync(join(dir.path, '限定支付.csv'), `\uFEFF${csv}`);
      const errors: string[] = [];
      const error = console.error;
      console.error = (line: string) => errors.push(line);
      let code: number;
      try {
        code = await cli(['rules', 'build', join(dir.path, '限定支付.csv'), '--key', join(dir.path, 'keys', 'private.pem'), '--out', join(dir.path, 'out')]);
      } finally {
        console.error = error;
      }
      assert.equal(code, 1);
      const text = errors.join('\n');
      assert.match(text, /第 3 行/);
      assert.match(text, /第 4 行/);
      assert.match(text, /级别/);
      assert.match(text, /限定诊断/);
      assert.equal(existsSync(join(dir.path, 'out', 'manifest.json')), false);
    } finally {
      dir.remove();
    }
  });
});
