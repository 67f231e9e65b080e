/**
 * Rule packs on disk: keys, build, sign, publish, verify and offline import. Every refusal is
 * checked by its code, because status, the CLI and docs/operations.md all key off the code.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fs, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { RuleLibraryError, validateRules, type Rule } from './model';
import {
  PackError,
  buildPack,
  canonicalJson,
  generateKeyPair,
  keyId,
  publishPack,
  readPackFile,
  signManifest,
  verifyManifest,
  verifyPack,
  type PackErrorCode,
  type VerifiedManifest,
} from './pack';

const root = mkdtempSync(join(tmpdir(), 'rxgate-pack-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let folderCount = 0;
function folder(name: string): string {
  folderCount += 1;
  return join(root, `${folderCount}-${name}`);
}

const rawRules = [
  { id: 'IND-0001', kind: 'indication', level: 'block', title: '紫龙金片限肺癌', drugs: ['ZA12AAZ017'], require: { diagnoses: ['C34'] } },
  { id: 'CHR-0001', kind: 'chronic', level: 'block', title: '高血压门诊慢特病用药范围', disease: { code: 'M03900', name: '高血压', diagnoses: ['I10'] }, allow: ['XC09', 'XC08'] },
  { id: 'REP-0001', kind: 'repeat', level: 'warn', title: '重复开药' },
  { id: 'DAY-0001', kind: 'days', level: 'warn', title: '门诊处方不超过7天', maxDays: 7, scope: { visitTypes: ['outpatient'] } },
  { id: 'HRB-0001', kind: 'herbal', level: 'warn', title: '中药饮片不超过20味', maxItems: 20 },
];
const { rules } = validateRules(rawRules);
assert.equal(rules.length, rawRules.length);

const keys = (async () => ({ current: await generateKeyPair(folder('current')), next: await generateKeyPair(folder('next')), stranger: await generateKeyPair(folder('stranger')) }))();
const privatePem = async (which: 'current' | 'next' | 'stranger') => readFileSync((await keys)[which].privateKeyPath, 'utf8');
const createdAt = '2025-01-01T00:00:00.000Z';
const expiresAt = '2030-01-01T00:00:00.000Z';
const duringValidity = Date.parse('2025-06-01T00:00:00Z');

async function expectCode(promise: Promise<unknown> | (() => unknown), code: PackErrorCode): Promise<PackError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    assert.ok(error instanceof PackError, `expected PackError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, /[\u4e00-\u9fff]/, 'message is written for people, in Chinese');
    return error;
  }
  assert.fail(`expected PackError ${code}, nothing was thrown`);
}

async function built(version = 2, overrides: { minAgentVersion?: string; signer?: 'current' | 'next' | 'stranger'; packId?: string } = {}) {
  const outDir = folder(`pack-v${version}`);
  const pack = await buildPack({
    rules,
    privateKeyPem: await privatePem(overrides.signer ?? 'current'),
    version,
    createdAt,
    expiresAt,
    minAgentVersion: overrides.minAgentVersion,
    packId: overrides.packId,
    outDir,
  });
  return { ...pack, outDir, manifestBytes: readFileSync(pack.manifestPath), signature: readFileSync(pack.signaturePath, 'utf8'), packBytes: readFileSync(pack.packPath) };
}

/** Signs a hand-made manifest around arbitrary pack bytes: how a broken or hostile publisher looks. */
async function signedAround(packBytes: Buffer, options: { uncompressedSize: number; ruleCount?: number; extra?: Record<string, unknown> }) {
  const pem = await privatePem('current');
  const hash = createHash('sha256').update(packBytes).digest('hex');
  const manifest = {
    format: 1,
    packId: 'handmade',
    version: 2,
    createdAt,
    expiresAt,
    keyId: keyId(pem),
    pack: { file: `packs/${hash}.pack`, encoding: 'gzip', sha256: hash, size: packBytes.byteLength, uncompressedSize: options.uncompressedSize },
    ruleCount: options.ruleCount ?? 0,
    counts: {},
    ...options.extra,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return verifyManifest(bytes, signManifest(bytes, pem), [(await keys).current.publicKeyPem]);
}

const verifyOptions = { activeVersion: 1, now: duringValidity, agentVersion: '1.0.0' };

test('generateKeyPair writes an owner-only private key from the first byte and never overwrites it', async () => {
  const outDir = folder('keygen');
  // A permissive umask shows the mode comes from open(), not from the process's umask.
  const previousUmask = process.umask(0);
  let generated;
  try {
    generated = await generateKeyPair(outDir);
  } finally {
    process.umask(previousUmask);
  }
  if (process.platform !== 'win32') assert.equal(statSync(generated.privateKeyPath).mode & 0o777, 0o600);
  assert.match(readFileSync(generated.privateKeyPath, 'utf8'), /BEGIN PRIVATE KEY/);
  assert.match(generated.publicKeyPem, /BEGIN PUBLIC KEY/);
  assert.equal(readFileSync(generated.publicKeyPath, 'utf8'), generated.publicKeyPem);
  assert.match(generated.keyId, /^[0-9a-f]{16}$/);
  assert.equal(keyId(generated.publicKeyPem), generated.keyId);
  assert.equal(keyId(readFileSync(generated.privateKeyPath, 'utf8')), generated.keyId, 'a private key names the same id');

  const before = readFileSync(generated.privateKeyPath, 'utf8');
  await expectCode(generateKeyPair(outDir), 'key_exists');
  assert.equal(readFileSync(generated.privateKeyPath, 'utf8'), before);
});

test('a built pack has a signed manifest that names the pack by hash, size and counts, and verifies', async () => {
  const pack = await built(2);
  const { manifest } = pack;
  assert.equal(manifest.format, 1);
  assert.equal(manifest.version, 2);
  assert.equal(manifest.createdAt, createdAt);
  assert.equal(manifest.expiresAt, expiresAt);
  assert.equal(manifest.keyId, (await keys).current.keyId);
  assert.equal(manifest.pack.sha256, createHash('sha256').update(pack.packBytes).digest('hex'));
  assert.equal(manifest.pack.size, pack.packBytes.byteLength);
  assert.equal(manifest.pack.file, `packs/${manifest.pack.sha256}.pack`);
  assert.equal(pack.packPath, join(pack.outDir, manifest.pack.file));
  assert.deepEqual(manifest.counts, { indication: 1, chronic: 1, repeat: 1, days: 1, herbal: 1, limit: 0 });
  assert.equal(manifest.ruleCount, 5);
  assert.match(manifest.packId, /^rxgate-v2-[0-9a-f]{12}$/);
  assert.deepEqual(JSON.parse(pack.manifestBytes.toString('utf8')), manifest);

  const verified = verifyManifest(pack.manifestBytes, pack.signature, [(await keys).current.publicKeyPem]);
  const library = await verifyPack(verified, pack.packBytes, verifyOptions);
  assert.equal(library.version, 2);
  assert.equal(library.source, 'pack');
  assert.equal(library.publishedAt, createdAt);
  assert.equal(library.expiresAt, expiresAt);
  assert.deepEqual(library.rules, rules);
});

test('the same rules always make the same pack bytes, whatever the key order', async () => {
  const reordered = rules.map((rule) => Object.fromEntries(Object.entries(rule).reverse()) as Rule);
  const first = await buildPack({ rules, privateKeyPem: await privatePem('current'), version: 3, createdAt, expiresAt, outDir: folder('same-a') });
  const second = await buildPack({ rules: reordered, privateKeyPem: await privatePem('current'), version: 3, createdAt, expiresAt, outDir: folder('same-b') });
  assert.equal(first.manifest.pack.sha256, second.manifest.pack.sha256);
  assert.equal(canonicalJson({ b: 1, a: [{ d: undefined, c: 2 }] }), '{"a":[{"c":2}],"b":1}');
});

test('expiry defaults to 90 days; a bare date means the end of that day, China time', async () => {
  const pem = await privatePem('current');
  const defaulted = await buildPack({ rules, privateKeyPem: pem, version: 4, createdAt, outDir: folder('expiry-default') });
  assert.equal(Date.parse(defaulted.manifest.expiresAt) - Date.parse(createdAt), 90 * 24 * 60 * 60 * 1000);
  const dated = await buildPack({ rules, privateKeyPem: pem, version: 4, createdAt, expiresAt: '2025-12-31', outDir: folder('expiry-date') });
  assert.equal(dated.manifest.expiresAt, '2025-12-31T15:59:59.999Z');
  await expectCode(buildPack({ rules, privateKeyPem: pem, version: 4, createdAt, expiresAt: '2024-12-31', outDir: folder('expiry-before') }), 'expired');
  await expectCode(buildPack({ rules, privateKeyPem: pem, version: 0, createdAt, outDir: folder('version-zero') }), 'bad_manifest');
});

test('buildPack refuses rules that agents would refuse, naming the rule', async () => {
  const broken = [...rules, { ...rules[0]!, level: 'loud' } as unknown as Rule];
  await assert.rejects(
    buildPack({ rules: broken, privateKeyPem: await privatePem('current'), version: 5, outDir: folder('broken') }),
    (error: unknown) => error instanceof RuleLibraryError && error.problems.some((problem) => problem.ruleId === 'IND-0001' && problem.field === 'level'),
  );
});

test('verifyManifest: key rotation, unknown key, tampering, garbage signature, oversized manifest, newer format', async () => {
  const { current, next, stranger } = await keys;
  const byNext = await built(6, { signer: 'next' });
  assert.equal(verifyManifest(byNext.manifestBytes, byNext.signature, [current.publicKeyPem, next.publicKeyPem]).keyId, next.keyId);

  const byStranger = await built(6, { signer: 'stranger' });
  const unknown = await expectCode(() => verifyManifest(byStranger.manifestBytes, byStranger.signature, [current.publicKeyPem, next.publicKeyPem]), 'unknown_key');
  assert.ok(unknown.message.includes(stranger.keyId));

  const pack = await built(6);
  const tampered = Buffer.from(pack.manifestBytes.toString('utf8').replace('"version": 6', '"version": 60'));
  await expectCode(() => verifyManifest(tampered, pack.signature, [current.publicKeyPem]), 'bad_signature');
  await expectCode(() => verifyManifest(pack.manifestBytes, 'not a signature', [current.publicKeyPem]), 'bad_signature');
  await expectCode(() => verifyManifest(Buffer.alloc(300 * 1024, 32), pack.signature, [current.publicKeyPem]), 'too_large');
  await expectCode(() => verifyManifest(pack.manifestBytes, pack.signature, ['-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n']), 'bad_key');

  const pem = await privatePem('current');
  const future = Buffer.from(JSON.stringify({ format: 2, keyId: current.keyId }));
  await expectCode(() => verifyManifest(future, signManifest(future, pem), [current.publicKeyPem]), 'agent_too_old');
  const nonsense = Buffer.from(JSON.stringify({ format: 1, keyId: current.keyId, version: 'two' }));
  await expectCode(() => verifyManifest(nonsense, signManifest(nonsense, pem), [current.publicKeyPem]), 'bad_manifest');
  const pointsElsewhere = Buffer.from(pack.manifestBytes.toString('utf8').replace(`"packs/${pack.manifest.pack.sha256}.pack"`, '"../../etc/passwd"'));
  await expectCode(() => verifyManifest(pointsElsewhere, signManifest(pointsElsewhere, pem), [current.publicKeyPem]), 'bad_manifest');
});

test('verifyPack refuses in its documented order, each fault with its own code', async () => {
  const pack = await built(2, { minAgentVersion: '2.0.0' });
  const manifest = verifyManifest(pack.manifestBytes, pack.signature, [(await keys).current.publicKeyPem]);
  const ok = { activeVersion: 1, now: duringValidity, agentVersion: '2.0.0' };

  await expectCode(verifyPack(manifest, pack.packBytes, { ...ok, maxBytes: 16 }), 'too_large');
  // Size comes before version: both are wrong here.
  await expectCode(verifyPack(manifest, pack.packBytes, { ...ok, maxBytes: 16, activeVersion: 9 }), 'too_large');
  await expectCode(verifyPack(manifest, pack.packBytes, { ...ok, activeVersion: 2 }), 'not_newer');
  await expectCode(verifyPack(manifest, pack.packBytes, { ...ok, activeVersion: 3 }), 'not_newer');
  // Version comes before expiry.
  await expectCode(verifyPack(manifest, pack.packBytes, { ...ok, activeVersion: 3, now: Date.parse(expiresAt) }), 'not_newer');
  await expectCode(verifyPack(manifest, pack.packBytes, { ...ok, now: Date.parse(expiresAt) }), 'expired');
  await expectCode(verifyPack(manifest, pack.packBytes, { ...ok, agentVersion: '1.9.9' }), 'agent_too_old');
  await expectCode(verifyPack(manifest, pack.packBytes.subarray(0, pack.packBytes.byteLength - 10), ok), 'truncated');
  const flipped = Buffer.from(pack.packBytes);
  flipped[flipped.byteLength - 1] = flipped[flipped.byteLength - 1]! ^ 0xff;
  await expectCode(verifyPack(manifest, flipped, ok), 'hash_mismatch');
  await expectCode(verifyPack(manifest, Buffer.concat([pack.packBytes, Buffer.from([0])]), ok), 'hash_mismatch');

  const library = await verifyPack(manifest, pack.packBytes, ok);
  assert.equal(library.rules.length, rules.length);
});

test('a signed pack that is not gzip, not JSON, not a pack, or holds invalid rules is refused', async () => {
  const garbage = Buffer.from('this is not gzip at all');
  await expectCode(verifyPack(await signedAround(garbage, { uncompressedSize: 100 }), garbage, verifyOptions), 'corrupt');

  const notJson = gzipSync('{"format":1,');
  await expectCode(verifyPack(await signedAround(notJson, { uncompressedSize: 12 }), notJson, verifyOptions), 'corrupt');

  const wrongShape = gzipSync('{"format":1,"version":2}');
  await expectCode(verifyPack(await signedAround(wrongShape, { uncompressedSize: 24 }), wrongShape, verifyOptions), 'corrupt');

  const badUtf8 = gzipSync(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
  await expectCode(verifyPack(await signedAround(badUtf8, { uncompressedSize: 4 }), badUtf8, verifyOptions), 'corrupt');

  const invalidText = canonicalJson({ format: 1, version: 2, rules: [{ id: 'X', kind: 'days', level: 'warn', title: 't', maxDays: -1 }] });
  const invalid = gzipSync(invalidText);
  const refused = await expectCode(
    verifyPack(await signedAround(invalid, { uncompressedSize: Buffer.byteLength(invalidText), ruleCount: 1 }), invalid, verifyOptions),
    'invalid_rules',
  );
  assert.match(refused.message, /maxDays/);

  // Decompressed as it is parsed: damage deep inside the compressed stream, after megabytes of
  // good rules, and a body shorter or longer than declared are still refused as a whole.
  const manyText = canonicalJson({
    format: 1,
    version: 2,
    rules: Array.from({ length: 20_000 }, (_, index) => ({ id: `R${index}`, kind: 'repeat', level: 'warn', title: `重复开药 ${index} ${createHash('sha256').update(String(index)).digest('hex')}` })),
  });
  const many = gzipSync(manyText);
  const damaged = Buffer.from(many);
  for (let offset = Math.floor(damaged.length * 0.8); offset < Math.floor(damaged.length * 0.8) + 64; offset += 1) damaged[offset] = damaged[offset]! ^ 0x5a;
  const refusedDamage = await expectCode(
    verifyPack(await signedAround(damaged, { uncompressedSize: Buffer.byteLength(manyText), ruleCount: 20_000 }), damaged, verifyOptions),
    'corrupt',
  );
  assert.match(refusedDamage.message, /无法解压|不是有效/);
  for (const declared of [Buffer.byteLength(manyText) + 1, Buffer.byteLength(manyText) - 1]) {
    await expectCode(verifyPack(await signedAround(many, { uncompressedSize: declared, ruleCount: 20_000 }), many, verifyOptions), declared > Buffer.byteLength(manyText) ? 'corrupt' : 'too_large');
  }
  assert.equal((await verifyPack(await signedAround(many, { uncompressedSize: Buffer.byteLength(manyText), ruleCount: 20_000 }), many, verifyOptions)).rules.length, 20_000);

  const miscountedText = canonicalJson({ format: 1, version: 2, rules: [] });
  const miscounted = gzipSync(miscountedText);
  await expectCode(verifyPack(await signedAround(miscounted, { uncompressedSize: Buffer.byteLength(miscountedText), ruleCount: 3 }), miscounted, verifyOptions), 'corrupt');
});

test('pack bodies parse rule by rule exactly as JSON.parse would, and no more leniently', async () => {
  const tricky = validateRules([
    { id: 'T-1', kind: 'herbal', level: 'warn', title: '含 "引号", 逗号, 括号 ]} {[ 与 \\ 反斜杠', maxItems: 20, basis: 'a\\",\\' },
    { id: 'T-2', kind: 'days', level: 'block', title: '换行\n和 emoji 🙂', maxDays: 3 },
  ]).rules;
  assert.equal(tricky.length, 2);
  const pack = await buildPack({ rules: tricky, privateKeyPem: await privatePem('current'), version: 2, createdAt, expiresAt, outDir: folder('tricky') });
  const manifest = verifyManifest(readFileSync(pack.manifestPath), readFileSync(pack.signaturePath, 'utf8'), [(await keys).current.publicKeyPem]);
  assert.deepEqual((await verifyPack(manifest, readFileSync(pack.packPath), verifyOptions)).rules, tricky);

  const cases: Array<[string, number, PackErrorCode | 'ok']> = [
    ['{"format":1,"rules":[],"version":2}', 0, 'ok'],
    // Another tool's layout (whitespace, other key order) is still read, by one plain parse.
    ['{ "version": 2, "format": 1, "rules": [ {"id":"A","kind":"repeat","level":"warn","title":"t"} ] }', 1, 'ok'],
    ['{"format":1,"rules":[,],"version":2}', 0, 'corrupt'],
    ['{"format":1,"rules":[{"id":"A","kind":"repeat","level":"warn","title":"t"},],"version":2}', 1, 'corrupt'],
    ['{"format":1,"rules":[{"id":"A","kind":"repeat","level":"warn","title":"t"}}],"version":2}', 1, 'corrupt'],
    ['{"format":1,"rules":[{"id":"A","kind":"repeat","level":"warn","title":"t"}],"version":2}garbage', 1, 'corrupt'],
    ['{"format":1,"rules":[{"id":"A","kind":"repeat","level":"warn","title":"t"}],"version":3}', 1, 'corrupt'],
    ['{"format":1,"rules":[{"id":"A","kind":"repeat","level":"warn","title":"t"}', 1, 'corrupt'],
    [
      '{"format":1,"rules":[{"id":"A","kind":"repeat","level":"warn","title":"t"},{"id":"A","kind":"repeat","level":"warn","title":"again"}],"version":2}',
      2,
      'invalid_rules',
    ],
  ];
  for (const [text, ruleCount, expected] of cases) {
    const bytes = gzipSync(text);
    const signed = await signedAround(bytes, { uncompressedSize: Buffer.byteLength(text), ruleCount });
    if (expected === 'ok') assert.equal((await verifyPack(signed, bytes, verifyOptions)).rules.length, ruleCount, text);
    else await expectCode(verifyPack(signed, bytes, verifyOptions), expected);
  }
});

test('a zip bomb stops at the declared size instead of filling memory', async () => {
  // 64 MiB of zeros compress to about 64 KiB; the manifest claims 1 KiB.
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  const before = process.memoryUsage().rss;
  await expectCode(verifyPack(await signedAround(bomb, { uncompressedSize: 1024 }), bomb, verifyOptions), 'too_large');
  assert.ok(process.memoryUsage().rss - before < 48 * 1024 * 1024, 'decompression stopped early');
  // A manifest claiming more than the agent accepts is refused before any decompression.
  await expectCode(verifyPack(await signedAround(bomb, { uncompressedSize: 1024 }), bomb, { ...verifyOptions, maxUncompressedBytes: 512 }), 'too_large');
});

test('publishPack lays out a content-addressed pack under rxgate/ and only moves forward', async () => {
  const www = folder('www');
  const v2 = await built(2);
  const published = await publishPack(v2.outDir, www, { publicKeys: [(await keys).current.publicKeyPem] });
  assert.equal(published.unchanged, false);
  assert.equal(published.manifestPath, join(www, 'rxgate', 'manifest.json'));
  assert.deepEqual(readFileSync(join(www, 'rxgate', 'manifest.json')), v2.manifestBytes);
  assert.equal(readFileSync(join(www, 'rxgate', 'manifest.json.sig'), 'utf8'), v2.signature);
  assert.deepEqual(readFileSync(join(www, 'rxgate', 'packs', `${v2.manifest.pack.sha256}.pack`)), v2.packBytes);

  assert.equal((await publishPack(v2.outDir, www)).unchanged, true, 'publishing the same pack twice is harmless');
  await expectCode(publishPack((await built(1)).outDir, www), 'not_newer');
  // Ed25519 signatures are deterministic, so only a different manifest makes a different v2.
  await expectCode(publishPack((await built(2, { packId: 'another-v2' })).outDir, www), 'not_newer');

  const v3 = await built(3);
  await publishPack(v3.outDir, www);
  assert.deepEqual(readFileSync(join(www, 'rxgate', 'manifest.json')), v3.manifestBytes);
  const files = (await fs.readdir(join(www, 'rxgate', 'packs'))).sort();
  assert.deepEqual(files, [`${v2.manifest.pack.sha256}.pack`, `${v3.manifest.pack.sha256}.pack`].sort(), 'the previous pack stays for agents mid-download; no temporary files remain');
  assert.deepEqual((await fs.readdir(join(www, 'rxgate'))).sort(), ['manifest.json', 'manifest.json.sig', 'packs']);

  const v4 = await built(4);
  await fs.writeFile(v4.packPath, Buffer.concat([v4.packBytes, Buffer.from('x')]));
  await expectCode(publishPack(v4.outDir, www), 'hash_mismatch');
  const v5 = await built(5, { signer: 'stranger' });
  await expectCode(publishPack(v5.outDir, www, { publicKeys: [(await keys).current.publicKeyPem] }), 'unknown_key');
  assert.deepEqual(readFileSync(join(www, 'rxgate', 'manifest.json')), v3.manifestBytes, 'refused packs change nothing');
});

test('publishPack checks the published manifest with the pack key: a tampered one is reported and replaced', async () => {
  const www = folder('www-tampered');
  const v4 = await built(4);
  await publishPack(v4.outDir, www);
  const publishedManifest = join(www, 'rxgate', 'manifest.json');
  // Someone "fixes" the version on the server by hand: the signature no longer matches.
  await fs.writeFile(publishedManifest, readFileSync(publishedManifest, 'utf8').replace('"version": 4', '"version": 40'));

  const again = await publishPack(v4.outDir, www);
  assert.equal(again.unchanged, false);
  assert.match(again.replacedUntrusted ?? '', /未通过签名校验.*清单签名无效/);
  assert.deepEqual(readFileSync(publishedManifest), v4.manifestBytes, 'the signed manifest is back');
  assert.equal((await publishPack(v4.outDir, www)).unchanged, true, 'once repaired, publishing again changes nothing');
  await expectCode(publishPack((await built(3)).outDir, www), 'not_newer');

  // With keys given, the same check uses them; a manifest signed by a key not given is not trusted either.
  const www2 = folder('www-other-key');
  await publishPack((await built(9, { signer: 'stranger' })).outDir, www2);
  const replaced = await publishPack((await built(5)).outDir, www2, { publicKeys: [(await keys).current.publicKeyPem] });
  assert.match(replaced.replacedUntrusted ?? '', /未知密钥/);
  assert.equal(JSON.parse(readFileSync(join(www2, 'rxgate', 'manifest.json'), 'utf8')).version, 5);
});

test('publishPack refuses a pack whose public.pem is not the key that signed it', async () => {
  const v6 = await built(6);
  await fs.copyFile((await keys).stranger.publicKeyPath, join(v6.outDir, 'public.pem'));
  await expectCode(publishPack(v6.outDir, folder('www-wrong-key')), 'bad_key');
});

test('readPackFile imports a pack directory, a published folder or a manifest path, verified as sync does', async () => {
  const www = folder('import-www');
  const pack = await built(7);
  await publishPack(pack.outDir, www);
  const options = { ...verifyOptions, publicKeys: [(await keys).current.publicKeyPem] };
  for (const path of [pack.outDir, www, join(www, 'rxgate'), join(www, 'rxgate', 'manifest.json'), join(www, 'rxgate', pack.manifest.pack.file)]) {
    const read = await readPackFile(path, options);
    assert.equal(read.library.version, 7, path);
    assert.equal(read.library.source, 'pack');
    assert.equal(read.manifest.packId, pack.manifest.packId);
  }
  await expectCode(readPackFile(pack.outDir, { ...options, activeVersion: 7 }), 'not_newer');
  await expectCode(readPackFile(pack.outDir, { ...options, publicKeys: [(await keys).next.publicKeyPem] }), 'unknown_key');
  await expectCode(readPackFile(folder('nothing-here'), options), 'not_found');
  const empty = folder('empty');
  await fs.mkdir(empty);
  await expectCode(readPackFile(empty, options), 'not_found');

  // A copy where the pack file went missing or was cut short is named as such.
  await fs.writeFile(pack.packPath, pack.packBytes.subarray(0, 20));
  await expectCode(readPackFile(pack.outDir, options), 'truncated');
  await fs.rm(pack.packPath);
  await expectCode(readPackFile(pack.outDir, options), 'not_found');
});

test('verifyPack accepts only what verifyManifest produced (checked by the type checker)', async () => {
  const pack = await built(8);
  // @ts-expect-error a well-formed but unverified manifest is not a VerifiedManifest
  const unverified: VerifiedManifest = pack.manifest;
  assert.equal(unverified.version, 8);
});
