/** The apply worker writes exactly the validated library, through a real worker thread and file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLibraryInWorker } from './library-writer';
import { validateRules } from './model';
import { openStore } from './store';

function temporaryFile(context: { after: (fn: () => void) => void }): string {
  const directory = mkdtempSync(join(tmpdir(), 'rxgate-writer-test-'));
  context.after(() => rmSync(directory, { recursive: true, force: true }));
  return join(directory, 'cache.db');
}

test('a library written by the worker reads back as the same rules, with its header and meta', async (context) => {
  const file = temporaryFile(context);
  openStore(file).close();
  const { rules } = validateRules([
    { id: 'A-1', kind: 'indication', level: 'block', title: '限肺癌', drugs: ['ZA12AAZ017'], require: { diagnoses: ['C34'] } },
    { id: 'A-2', kind: 'repeat', level: 'warn', title: '重复开药' },
    { id: 'A-3', kind: 'herbal', level: 'warn', title: '超20味', maxItems: 20 },
  ]);
  const info = await writeLibraryInWorker(file, { version: 9, source: 'pack', expiresAt: '2027-01-01T00:00:00.000Z', rules }, { packId: 'p-9' });
  assert.equal(info.version, 9);
  assert.deepEqual(info.counts, { indication: 1, repeat: 1, herbal: 1 });
  const store = openStore(file);
  try {
    const active = store.activeLibrary();
    assert.deepEqual(active?.library.rules, rules);
    assert.equal(active?.info.expiresAt, '2027-01-01T00:00:00.000Z');
    assert.deepEqual(active?.info.meta, { packId: 'p-9' });
  } finally {
    store.close();
  }
});

test('an empty library is written as empty, not as one blank rule', async (context) => {
  const file = temporaryFile(context);
  openStore(file).close();
  const info = await writeLibraryInWorker(file, { version: 2, source: 'pack', rules: [] }, {});
  assert.equal(info.ruleCount, 0);
  const store = openStore(file);
  try {
    assert.deepEqual(store.activeLibrary()?.library.rules, []);
  } finally {
    store.close();
  }
});
