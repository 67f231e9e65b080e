/** The published JSON Schemas are generated from the code's schemas and must not drift. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderProtocolDoc, renderSchemas } from '../scripts/protocol-schemas';

test('docs/schemas matches the schemas the agent validates with', () => {
  for (const [file, text] of Object.entries(renderSchemas())) {
    const published = readFileSync(join(__dirname, '..', 'docs', 'schemas', file), 'utf8');
    assert.equal(published, text, `docs/schemas/${file} is stale: run npm run schemas`);
  }
});

test('the error-code table in docs/protocol.md is the one in the code', () => {
  const published = readFileSync(join(__dirname, '..', 'docs', 'protocol.md'), 'utf8');
  assert.equal(published, renderProtocolDoc(published), 'docs/protocol.md error codes are stale: run npm run schemas');
});
