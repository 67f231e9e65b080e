/**
 * The sync client against a real HTTP server on 127.0.0.1 serving a published folder, with a
 * switch for each fault the product promises to survive (product.md quality targets: the last
 * good rules stay active; status says what happened). Nothing here talks to any other address.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { validateRules, type RuleLibrary } from './model';
import { buildPack, generateKeyPair, publishPack, signManifest, type GeneratedKeyPair, type VerifiedManifest } from './pack';
import { createSyncClient, type SyncClient, type SyncOptions, type SyncOutcome, type SyncState } from './sync';

const root = mkdtempSync(join(tmpdir(), 'rxgate-sync-test-'));
let folderCount = 0;
function folder(name: string): string {
  folderCount += 1;
  return join(root, `${folderCount}-${name}`);
}

const { rules } = validateRules([
  { id: 'IND-0001', kind: 'indication', level: 'block', title: '紫龙金片限肺癌', drugs: ['ZA12AAZ017'], require: { diagnoses: ['C34'] } },
  { id: 'DAY-0001', kind: 'days', level: 'warn', title: '门诊处方不超过7天', maxDays: 7 },
]);
const createdAt = '2025-01-01T00:00:00.000Z';
const expiresAt = '2030-01-01T00:00:00.000Z';
const duringValidity = Date.parse('2025-06-01T00:00:00Z');

interface Keys {
  current: GeneratedKeyPair;
  next: GeneratedKeyPair;
  stranger: GeneratedKeyPair;
}
const keysReady: Promise<Keys> = (async () => ({
  current: await generateKeyPair(folder('key-current')),
  next: await generateKeyPair(folder('key-next')),
  stranger: await generateKeyPair(folder('key-stranger')),
}))();
const privatePem = (key: GeneratedKeyPair) => readFileSync(key.privateKeyPath, 'utf8');

/** Builds a pack and publishes it into a fresh web root; returns the root and what was published. */
async function site(version: number, options: { signer?: keyof Keys; expiresAt?: string } = {}) {
  const keys = await keysReady;
  const packDir = folder(`pack-v${version}`);
  const www = folder('www');
  const built = await buildPack({
    rules,
    privateKeyPem: privatePem(keys[options.signer ?? 'current']),
    version,
    createdAt,
    expiresAt: options.expiresAt ?? expiresAt,
    outDir: packDir,
  });
  await publishPack(packDir, www);
  return { www, manifest: built.manifest, packPath: join(www, 'rxgate', built.manifest.pack.file) };
}

/** Publishes a hand-signed manifest around arbitrary pack bytes: a broken publisher. */
async function siteAround(packBytes: Buffer, uncompressedSize: number) {
  const keys = await keysReady;
  const www = folder('www-raw');
  const hash = createHash('sha256').update(packBytes).digest('hex');
  const manifest = {
    format: 1,
    packId: 'handmade',
    version: 2,
    createdAt,
    expiresAt,
    keyId: keys.current.keyId,
    pack: { file: `packs/${hash}.pack`, encoding: 'gzip', sha256: hash, size: packBytes.byteLength, uncompressedSize },
    ruleCount: 0,
    counts: {},
  };
  const bytes = Buffer.from(JSON.stringify(manifest, null, 2));
  await fs.mkdir(join(www, 'rxgate', 'packs'), { recursive: true });
  await fs.writeFile(join(www, 'rxgate', manifest.pack.file), packBytes);
  await fs.writeFile(join(www, 'rxgate', 'manifest.json'), bytes);
  await fs.writeFile(join(www, 'rxgate', 'manifest.json.sig'), signManifest(bytes, privatePem(keys.current)));
  return { www };
}

type Mode = 'ok' | 'not-found' | 'server-error' | 'silent' | 'drop-pack' | 'drip';

/** A static file server for one published folder, with fault switches and a request log. */
interface TestServer {
  url: string;
  root: string;
  mode: Mode;
  /** While set, manifest requests wait for it: lets a test hold an attempt open. */
  hold?: Promise<void>;
  requests: Array<{ method: string; path: string; ifNoneMatch?: string }>;
  reports: Array<Record<string, unknown>>;
  reportArrived: Promise<void>;
  close(): Promise<void>;
}

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
  rmSync(root, { recursive: true, force: true });
});

async function serve(rootDir: string): Promise<TestServer> {
  let reportArrived!: () => void;
  const state: TestServer = {
    url: '',
    root: rootDir,
    mode: 'ok',
    requests: [],
    reports: [],
    reportArrived: new Promise<void>((resolve) => (reportArrived = resolve)),
    close: async () => undefined,
  };
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    const ifNoneMatch = request.headers['if-none-match'];
    state.requests.push({ method: request.method ?? '', path, ...(ifNoneMatch ? { ifNoneMatch } : {}) });
    if (request.method === 'POST' && path === '/report') {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      state.reports.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      response.writeHead(204).end();
      reportArrived();
      return;
    }
    if (state.mode === 'silent') return;
    if (state.mode === 'not-found') return void response.writeHead(404).end('not found');
    if (state.mode === 'server-error') return void response.writeHead(500).end('boom');
    if (path.endsWith('manifest.json') && state.hold) await state.hold;
    const file = normalize(join(state.root, path));
    if (!file.startsWith(state.root + sep)) return void response.writeHead(403).end();
    let body: Buffer;
    try {
      body = await fs.readFile(file);
    } catch {
      return void response.writeHead(404).end('not found');
    }
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    if (ifNoneMatch === etag) return void response.writeHead(304, { ETag: etag }).end();
    if (state.mode === 'drip' && path.endsWith('manifest.json')) {
      // A byte at a time, each well inside the per-request idle timeout, for as long as the
      // client keeps listening.
      response.writeHead(200, { 'Content-Length': body.byteLength, ETag: etag });
      let sent = 0;
      const drip = setInterval(() => {
        if (sent >= body.byteLength || response.destroyed) return clearInterval(drip);
        response.write(body.subarray(sent, sent + 1));
        sent += 1;
      }, 50);
      response.on('close', () => clearInterval(drip));
      return;
    }
    if (state.mode === 'drop-pack' && path.endsWith('.pack')) {
      response.writeHead(200, { 'Content-Length': body.byteLength, ETag: etag });
      response.write(body.subarray(0, Math.floor(body.byteLength / 2)));
      setImmediate(() => response.socket?.destroy());
      return;
    }
    response.writeHead(200, { 'Content-Length': body.byteLength, ETag: etag, 'Content-Type': 'application/octet-stream' }).end(body);
  };
  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  let closed: Promise<void> | undefined;
  state.close = () =>
    (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  servers.push(state);
  return state;
}

/** A port nobody listens on: bound, then released. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/`;
}

interface Harness {
  client: SyncClient;
  applied: Array<{ library: RuleLibrary; manifest: VerifiedManifest }>;
  saved: SyncState[];
  active: { version: number };
}

async function harness(servers: string[], options: Omit<Partial<SyncOptions>, 'activeVersion'> & { activeVersion?: number; keys?: Array<keyof Keys>; state?: SyncState } = {}): Promise<Harness> {
  const keys = await keysReady;
  const { activeVersion: initialVersion, keys: pinned, state, ...rest } = options;
  const active = { version: initialVersion ?? 1 };
  const applied: Harness['applied'] = [];
  const saved: SyncState[] = [];
  const client = createSyncClient({
    servers,
    publicKeys: (pinned ?? ['current', 'next']).map((name) => keys[name].publicKeyPem),
    activeVersion: () => active.version,
    apply: (library, manifest) => {
      applied.push({ library, manifest });
      active.version = library.version;
    },
    loadState: () => state,
    saveState: (next) => {
      saved.push(next);
    },
    timeoutMs: 2_000,
    now: () => duringValidity,
    random: () => 0.5,
    agentVersion: '1.0.0',
    ...rest,
  });
  return { client, applied, saved, active };
}

/** The promise of every fault test: nothing applied, the failure recorded and named. */
function assertRefused(h: Harness, outcome: SyncOutcome, code: string, activeVersion = 1): void {
  assert.equal(outcome.result, 'failed', outcome.message);
  assert.equal(outcome.result === 'failed' ? outcome.code : undefined, code, outcome.message);
  assert.equal(h.applied.length, 0, 'apply is never called on a failure');
  assert.equal(h.active.version, activeVersion, 'the last good rules stay active');
  const status = h.client.status();
  assert.equal(status.state, 'failed');
  assert.equal(status.lastErrorCode, code);
  assert.ok(status.lastResult?.includes(`[${code}]`), status.lastResult);
  assert.ok(status.lastResult?.includes(`当前规则库 v${activeVersion} 保持不变`), status.lastResult);
  assert.ok(status.lastAttemptAt);
  assert.equal(status.lastSuccessAt, undefined);
}

test('success: downloads, verifies and applies a newer pack, and says so', async () => {
  const published = await site(2);
  const server = await serve(published.www);
  const h = await harness([server.url]);
  assert.equal(h.client.status().state, 'idle');
  const outcome = await h.client.syncNow();
  assert.equal(outcome.result, 'applied', outcome.message);
  assert.equal(h.applied.length, 1);
  const [{ library, manifest }] = h.applied as [Harness['applied'][number]];
  assert.equal(library.version, 2);
  assert.equal(library.source, 'pack');
  assert.deepEqual(library.rules, rules);
  assert.equal(manifest.packId, published.manifest.packId);
  const status = h.client.status();
  assert.equal(status.state, 'ok');
  assert.equal(status.configured, true);
  assert.deepEqual(status.servers, [server.url]);
  assert.match(status.lastResult ?? '', /已更新到规则库 v2/);
  assert.equal(status.lastErrorCode, undefined);
  assert.equal(status.lastSuccessAt, new Date(duringValidity).toISOString());
  assert.deepEqual(
    server.requests.map((request) => request.path),
    ['/rxgate/manifest.json', '/rxgate/manifest.json.sig', `/rxgate/${published.manifest.pack.file}`],
  );
  assert.equal(h.saved.at(-1)?.applied?.version, 2);
});

test('304: a second poll sends If-None-Match and does nothing, also after a restart', async () => {
  const server = await serve((await site(2)).www);
  const h = await harness([server.url]);
  assert.equal((await h.client.syncNow()).result, 'applied');
  const second = await h.client.syncNow();
  assert.deepEqual(second.result === 'up_to_date' && second.notModified, true, second.message);
  const manifestRequests = server.requests.filter((request) => request.path === '/rxgate/manifest.json');
  assert.equal(manifestRequests.length, 2);
  assert.ok(manifestRequests[1]!.ifNoneMatch, 'conditional GET');
  assert.equal(server.requests.length, 4, 'no signature or pack request after a 304');
  assert.equal(h.applied.length, 1);
  assert.equal(h.client.status().state, 'ok');

  const restarted = await harness([server.url], { activeVersion: 2, state: h.saved.at(-1) });
  const third = await restarted.client.syncNow();
  assert.equal(third.result === 'up_to_date' && third.notModified, true, third.message);

  // A database restored to an older library must not be fooled by an ETag it no longer matches.
  const restored = await harness([server.url], { activeVersion: 1, state: h.saved.at(-1) });
  assert.equal((await restored.client.syncNow()).result, 'applied');
});

test('equal version: up to date, nothing applied, status says so', async () => {
  const server = await serve((await site(1)).www);
  const h = await harness([server.url]);
  const outcome = await h.client.syncNow();
  assert.equal(outcome.result, 'up_to_date');
  assert.equal(h.applied.length, 0);
  assert.equal(h.client.status().state, 'ok');
  assert.match(h.client.status().lastResult ?? '', /已是最新\(v1/);
});

test('older version: refused as not_newer', async () => {
  const server = await serve((await site(3)).www);
  const h = await harness([server.url], { activeVersion: 5 });
  assertRefused(h, await h.client.syncNow(), 'not_newer', 5);
  assert.match(h.client.status().lastResult ?? '', /低于当前规则库 v5/);
});

test('server down (connection refused): unreachable', async () => {
  const h = await harness([await deadUrl()]);
  const outcome = await h.client.syncNow();
  assertRefused(h, outcome, 'unreachable');
  assert.match(h.client.status().lastResult ?? '', /连接被拒绝/);
});

test('404: not_found', async () => {
  const server = await serve((await site(2)).www);
  server.mode = 'not-found';
  const h = await harness([server.url]);
  assertRefused(h, await h.client.syncNow(), 'not_found');
  assert.match(h.client.status().lastResult ?? '', /HTTP 404/);
});

test('500: http_error', async () => {
  const server = await serve((await site(2)).www);
  server.mode = 'server-error';
  const h = await harness([server.url]);
  assertRefused(h, await h.client.syncNow(), 'http_error');
  assert.match(h.client.status().lastResult ?? '', /HTTP 500/);
});

test('slow server: timeout', async () => {
  const server = await serve((await site(2)).www);
  server.mode = 'silent';
  const h = await harness([server.url], { timeoutMs: 150 });
  assertRefused(h, await h.client.syncNow(), 'timeout');
});

test('slow-drip server: the attempt deadline ends it, and a sync that joins it ends with it', { timeout: 20_000 }, async () => {
  const server = await serve((await site(2)).www);
  server.mode = 'drip';
  const h = await harness([server.url], { timeoutMs: 2_000, attemptDeadlineMs: 600 });
  const first = h.client.syncNow();
  const joined = h.client.syncNow();
  const outcome = await first;
  assertRefused(h, outcome, 'timeout');
  assert.match(outcome.message, /总时限/);
  assert.equal(await joined, outcome);
  assert.equal(h.client.status().state, 'failed');
});

test('truncated pack on the server: truncated', async () => {
  const published = await site(2);
  const bytes = readFileSync(published.packPath);
  await fs.writeFile(published.packPath, bytes.subarray(0, Math.floor(bytes.byteLength / 2)));
  const server = await serve(published.www);
  const h = await harness([server.url]);
  assertRefused(h, await h.client.syncNow(), 'truncated');
});

test('connection lost mid-pack: truncated', async () => {
  const server = await serve((await site(2)).www);
  server.mode = 'drop-pack';
  const h = await harness([server.url]);
  assertRefused(h, await h.client.syncNow(), 'truncated');
});

test('pack replaced by other bytes of the same size: hash_mismatch', async () => {
  const published = await site(2);
  const bytes = Buffer.from(readFileSync(published.packPath));
  bytes[bytes.byteLength - 5] = bytes[bytes.byteLength - 5]! ^ 0xff;
  await fs.writeFile(published.packPath, bytes);
  const server = await serve(published.www);
  const h = await harness([server.url]);
  assertRefused(h, await h.client.syncNow(), 'hash_mismatch');
});

test('manifest edited after signing: bad_signature (after one re-read)', async () => {
  const published = await site(2);
  const manifestPath = join(published.www, 'rxgate', 'manifest.json');
  await fs.writeFile(manifestPath, readFileSync(manifestPath, 'utf8').replace('"expiresAt": "2030', '"expiresAt": "2099'));
  const server = await serve(published.www);
  const h = await harness([server.url]);
  assertRefused(h, await h.client.syncNow(), 'bad_signature');
  assert.equal(server.requests.filter((request) => request.path === '/rxgate/manifest.json').length, 2, 'a torn publish is ruled out by reading again');
  assert.equal(server.requests.filter((request) => request.path.endsWith('.pack')).length, 0, 'an unverified manifest is never followed');
});

test('signed by a key that is not pinned: unknown_key', async () => {
  const server = await serve((await site(2, { signer: 'stranger' })).www);
  const h = await harness([server.url]);
  assertRefused(h, await h.client.syncNow(), 'unknown_key');
  assert.ok(h.client.status().lastResult?.includes((await keysReady).stranger.keyId));
});

test('expired manifest: expired', async () => {
  const server = await serve((await site(2)).www);
  const h = await harness([server.url], { now: () => Date.parse('2031-01-01T00:00:00Z') });
  assertRefused(h, await h.client.syncNow(), 'expired');
  assert.equal(server.requests.filter((request) => request.path.endsWith('.pack')).length, 0, 'an expired pack is not downloaded');
});

test('pack larger than the cap: too_large, without downloading it', async () => {
  const server = await serve((await site(2)).www);
  const h = await harness([server.url], { maxPackBytes: 64 });
  assertRefused(h, await h.client.syncNow(), 'too_large');
  assert.equal(server.requests.filter((request) => request.path.endsWith('.pack')).length, 0);
});

test('signed pack that is not valid gzip: corrupt', async () => {
  const server = await serve((await siteAround(Buffer.from('definitely not gzip'), 100)).www);
  const h = await harness([server.url]);
  assertRefused(h, await h.client.syncNow(), 'corrupt');
});

test('mirror fallback: first server down, second serves the pack', async () => {
  const dead = await deadUrl();
  const server = await serve((await site(2)).www);
  const h = await harness([dead, server.url]);
  const outcome = await h.client.syncNow();
  assert.equal(outcome.result, 'applied', outcome.message);
  assert.equal(outcome.result === 'applied' && outcome.server, server.url);
  assert.equal(h.applied.length, 1);
  assert.equal(h.client.status().state, 'ok');
  assert.match(h.client.status().lastResult ?? '', /unreachable/);
});

test('all mirrors failing: the one that served something wrong names the failure', async () => {
  const dead = await deadUrl();
  const server = await serve((await site(2, { signer: 'stranger' })).www);
  const h = await harness([dead, server.url]);
  const outcome = await h.client.syncNow();
  assertRefused(h, outcome, 'unknown_key');
  assert.equal(outcome.result === 'failed' && outcome.failures.length, 2);
  assert.match(h.client.status().lastResult ?? '', /全部 2 个服务器均失败/);
});

test('key rotation: a pack signed with the pinned next key is accepted', async () => {
  const server = await serve((await site(2, { signer: 'next' })).www);
  const h = await harness([server.url], { keys: ['current', 'next'] });
  const outcome = await h.client.syncNow();
  assert.equal(outcome.result, 'applied', outcome.message);
  assert.equal(h.applied[0]?.manifest.keyId, (await keysReady).next.keyId);
});

test('backoff: each failure doubles the wait up to the cap; success returns to the interval', async () => {
  const server = await serve((await site(2)).www);
  server.mode = 'server-error';
  const h = await harness([server.url], { backoffBaseMs: 60_000, backoffMaxMs: 240_000, intervalMs: 900_000 });
  h.client.start();
  const waits: number[] = [];
  for (let failure = 0; failure < 4; failure += 1) {
    assert.equal((await h.client.syncNow()).result, 'failed');
    waits.push(Date.parse(h.client.status().nextAttemptAt!) - duringValidity);
  }
  // random() is 0.5, so each wait is three quarters of its ceiling.
  assert.deepEqual(waits, [45_000, 90_000, 180_000, 180_000]);
  assert.equal(h.saved.at(-1)?.consecutiveFailures, 4);

  server.mode = 'ok';
  assert.equal((await h.client.syncNow()).result, 'applied');
  assert.equal(Date.parse(h.client.status().nextAttemptAt!) - duringValidity, 900_000);
  assert.equal(h.saved.at(-1)?.consecutiveFailures, 0);
  await h.client.stop();
  assert.equal(h.client.status().nextAttemptAt, undefined);
});

test('single flight: concurrent syncNow calls share one attempt', async () => {
  const server = await serve((await site(2)).www);
  let release!: () => void;
  server.hold = new Promise<void>((resolve) => (release = resolve));
  const h = await harness([server.url]);
  const first = h.client.syncNow();
  const second = h.client.syncNow();
  assert.equal(first, second);
  while (server.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(h.client.status().state, 'syncing');
  const third = h.client.syncNow();
  release();
  const outcomes = await Promise.all([first, second, third]);
  assert.ok(outcomes.every((outcome) => outcome === outcomes[0]));
  assert.equal(outcomes[0]!.result, 'applied');
  assert.equal(server.requests.filter((request) => request.path === '/rxgate/manifest.json').length, 1);
  assert.equal(h.applied.length, 1);
});

test('a shared folder works through a file: URL', async () => {
  const published = await site(2);
  const h = await harness([pathToFileURL(published.www).href]);
  const outcome = await h.client.syncNow();
  assert.equal(outcome.result, 'applied', outcome.message);
  const missing = await harness([pathToFileURL(folder('no-share')).href]);
  assertRefused(missing, await missing.client.syncNow(), 'not_found');
});

test('a shared folder works when written as a folder path instead of a URL', async () => {
  const published = await site(2);
  const h = await harness([published.www]);
  const outcome = await h.client.syncNow();
  assert.equal(outcome.result, 'applied', outcome.message);
});

test('a failing apply leaves the ETag unremembered and is reported as apply_failed', async () => {
  const server = await serve((await site(2)).www);
  const h = await harness([server.url], {
    apply: () => {
      throw new Error('disk full');
    },
  });
  const outcome = await h.client.syncNow();
  assert.equal(outcome.result === 'failed' && outcome.code, 'apply_failed');
  assert.match(h.client.status().lastResult ?? '', /disk full/);
  assert.deepEqual(h.saved.at(-1)?.etags, {});
});

test('after each sync a small status report is POSTed, without patient data', async () => {
  const server = await serve((await site(2)).www);
  const h = await harness([server.url], { reportUrl: `${server.url}report`, agentId: 'ward-3-pc-12' });
  await h.client.syncNow();
  await server.reportArrived;
  await h.client.stop();
  const [report] = server.reports;
  assert.deepEqual(Object.keys(report!).sort(), ['agentId', 'agentVersion', 'at', 'libraryExpired', 'message', 'pinnedKeys', 'result', 'rulesVersion', 'server']);
  assert.equal(report!.agentId, 'ward-3-pc-12');
  assert.equal(report!.result, 'applied');
  assert.equal(report!.rulesVersion, 2);
  assert.deepEqual(report!.pinnedKeys, [(await keysReady).current.keyId, (await keysReady).next.keyId]);
});

test('an expired active library keeps working, and status says so loudly', async () => {
  const server = await serve((await site(1)).www);
  const h = await harness([server.url], { activeExpiresAt: () => '2025-05-01T00:00:00.000Z' });
  assert.equal((await h.client.syncNow()).result, 'up_to_date');
  const status = h.client.status();
  assert.equal(status.state, 'ok');
  assert.equal(status.lastErrorCode, 'library_expired');
  assert.match(status.lastResult ?? '', /^【警告】当前规则库 v1 已于 .* 过期/);
});

test('without servers or keys the client is disabled and never polls', async () => {
  const h = await harness([]);
  h.client.start();
  const outcome = await h.client.syncNow();
  assert.equal(outcome.result, 'disabled');
  const status = h.client.status();
  assert.equal(status.configured, false);
  assert.equal(status.state, 'disabled');
  assert.equal(status.nextAttemptAt, undefined);
  assert.match(status.lastResult ?? '', /未配置规则服务器/);
  assert.throws(() => createSyncClient({ servers: ['ftp://example.invalid/'], publicKeys: [], activeVersion: () => 0, apply: () => undefined }), /只支持/);
});

test('credentials in a server URL never show in status', async () => {
  const h = await harness(['http://user:secret@127.0.0.1:9/rules/']);
  assert.deepEqual(h.client.status().servers, ['http://127.0.0.1:9/rules/']);
});

test('stop() cancels an attempt in progress without applying or recording it', async () => {
  const server = await serve((await site(2)).www);
  let release!: () => void;
  server.hold = new Promise<void>((resolve) => (release = resolve));
  const h = await harness([server.url]);
  h.client.start();
  const pending = h.client.syncNow();
  while (server.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
  await h.client.stop();
  release();
  const outcome = await pending;
  assert.equal(outcome.result === 'failed' && outcome.code, 'cancelled');
  assert.equal(h.applied.length, 0);
  const status = h.client.status();
  assert.equal(status.state, 'idle', 'a cancel says nothing about the server');
  assert.equal(status.nextAttemptAt, undefined, 'a stopped client schedules nothing');
  assert.equal(h.saved.length, 0);
});
