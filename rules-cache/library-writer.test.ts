/** The apply worker stages exactly the validated library, through a real worker thread and file; activation makes it the active one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STAGE_SLICE, stageLibraryInWorker } from './library-writer';
import { validateRules } from './model';
import { openStore } from './store';

function temporaryFile(context: { after: (fn: () => void) => void }): string {
  const directory = mkdtempSync(join(tmpdir(), 'rxgate-writer-test-'));
  context.after(() => rmSync(directory, { recursive: true, force: true }));
  return join(directory, 'cache.db');
}

/** Stages through the worker, then activates here as the agent's writer does. */
async function stageAndActivate(file: string, ...args: Parameters<typeof stageLibraryInWorker> extends [string, ...infer Rest] ? Rest : never) {
  const libraryId = await stageLibraryInWorker(file, ...args);
  const store = openStore(file);
  try {
    // Staged but not yet active: invisible to checks.
    assert.equal(store.libraryInfo().active?.version === args[0].version && store.libraryInfo().active?.source === args[0].source, false);
    return store.activateStagedLibrary(libraryId);
  } finally {
    store.close();
  }
}

test('a library staged by the worker reads back as the same rules once activated, with its header, meta and audit record', async (context) => {
  const file = temporaryFile(context);
  openStore(file).close();
  const { rules } = validateRules([
    { id: 'A-1', kind: 'indication', level: 'block', title: '限肺癌', drugs: ['ZA12AAZ017'], require: { diagnoses: ['C34'] } },
    { id: 'A-2', kind: 'repeat', level: 'warn', title: '重复开药' },
    { id: 'A-3', kind: 'herbal', level: 'warn', title: '超20味', maxItems: 20 },
  ]);
  const info = await stageAndActivate(file, { version: 9, source: 'pack', expiresAt: '2027-01-01T00:00:00.000Z', rules }, { packId: 'p-9' });
  assert.equal(info.version, 9);
  assert.deepEqual(info.counts, { indication: 1, repeat: 1, herbal: 1 });
  const store = openStore(file);
  try {
    const active = store.activeLibrary();
    assert.deepEqual(active?.library.rules, rules);
    assert.equal(active?.info.expiresAt, '2027-01-01T00:00:00.000Z');
    assert.deepEqual(active?.info.meta, { packId: 'p-9' });
    const [record] = store.recentAudit(1, 'rules');
    assert.deepEqual(record?.data, { version: 9, source: 'pack', ruleCount: 3, meta: { packId: 'p-9' } });
    assert.equal(store.verifyAudit().ok, true);
  } finally {
    store.close();
  }
});

test('an empty library is written as empty, not as one blank rule', async (context) => {
  const file = temporaryFile(context);
  openStore(file).close();
  const info = await stageAndActivate(file, { version: 2, source: 'pack', rules: [] }, {});
  assert.equal(info.ruleCount, 0);
  const store = openStore(file);
  try {
    assert.deepEqual(store.activeLibrary()?.library.rules, []);
  } finally {
    store.close();
  }
});

test('a staging that is incomplete or abandoned is never activated', async (context) => {
  const file = temporaryFile(context);
  const store = openStore(file);
  try {
    const { rules } = validateRules(
      Array.from({ length: STAGE_SLICE + 5 }, (_, index) => ({ id: `R-${index}`, kind: 'repeat', level: 'warn', title: `重复 ${index}` })),
    );
    const libraryId = store.beginStagedLibrary({
      version: 3,
      source: 'pack',
      ruleCount: rules.length,
      counts: { repeat: rules.length },
      digest: store.libraryDigest(rules.map((rule) => JSON.stringify(rule))),
    });
    store.stageRules(libraryId, 0, rules.slice(0, STAGE_SLICE).map((rule) => ({ ruleId: rule.id, kind: rule.kind, body: JSON.stringify(rule) })));
    assert.throws(() => store.activateStagedLibrary(libraryId), /不完整/);
    assert.equal(store.libraryInfo().active, null);
    assert.equal(store.retireAbandonedStaging(), 1);
    assert.throws(() => store.activateStagedLibrary(libraryId), /不存在或已被放弃/);
    let deleted = 0;
    for (let step = store.purgeRetiredLibrariesBatch(400); step > 0; step = store.purgeRetiredLibrariesBatch(400)) deleted += step;
    assert.equal(deleted, STAGE_SLICE + 1, 'every staged row, then the library row itself');
  } finally {
    store.close();
  }
});

test('the digest over the encoded bodies is the digest over the bodies one by one', { timeout: 10_000 }, (context) => {
  const store = openStore(temporaryFile(context));
  try {
    const bodies = ['{"id":"A","title":"限肺癌"}', '{"id":"B","title":"超\\n20味 ✓"}', ''];
    const text = Buffer.from(bodies.map((body) => `${body}\n`).join(''), 'utf8');
    assert.equal(store.libraryDigestOfText([text]), store.libraryDigest(bodies));
    // Cut anywhere, even inside a character, the pieces are the same bytes.
    assert.equal(store.libraryDigestOfText([text.subarray(0, 17), text.subarray(17, 18), text.subarray(18)]), store.libraryDigest(bodies));
    assert.notEqual(store.libraryDigestOfText([text.subarray(1)]), store.libraryDigest(bodies));
  } finally {
    store.close();
  }
});
