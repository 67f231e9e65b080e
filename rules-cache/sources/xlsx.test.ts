/**
 * exceljs is IT's build-time tool, not shipped to ward PCs: nothing loads it until a workbook
 * is read, and where it is missing `rules build` says what to do instead of crashing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
// The whole command line, loaded as `rxgate` loads it.
import '../../app/core/cli';
import { EXCELJS_MISSING, readWorkbook } from './xlsx';

const sample = join(__dirname, 'samples', 'rules.xlsx');
const loaded = () => Object.keys(require.cache).some((path) => /[\\/]node_modules[\\/]exceljs[\\/]/.test(path));

describe('reading XLSX without shipping exceljs', { timeout: 20_000 }, () => {
  it('the command line loads without exceljs; reading a workbook loads it', async () => {
    assert.equal(loaded(), false, 'starting rxgate (agent, status, his-sim) does not need exceljs');
    const result = await readWorkbook(sample);
    assert.ok(result.ok && result.sheets.length > 0);
    assert.equal(loaded(), true);
  });

  it('a missing exceljs is one clear problem naming what to do', async () => {
    const missing = Object.assign(new Error("Cannot find module 'exceljs'"), { code: 'MODULE_NOT_FOUND' });
    const result = await readWorkbook(sample, () => Promise.reject(missing));
    assert.deepEqual(result, { ok: false, message: EXCELJS_MISSING });
    assert.match(EXCELJS_MISSING, /exceljs.*源码检出.*rules build.*CSV/);
  });
});
