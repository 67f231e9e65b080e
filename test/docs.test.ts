/** The published JSON Schemas are generated from the code's schemas and must not drift. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSchemas } from '../scripts/protocol-schemas';

test('docs/schemas matches the schemas the agent validates with', () => {
  for (const [file, text] of Object.entries(renderSchemas())) {
    const published = readFileSync(join(__dirname, '..', 'docs', 'schemas', file), 'utf8');
    assert.equal(published, text, `docs/schemas/${file} is stale: run npm run schemas`);
  }
});
