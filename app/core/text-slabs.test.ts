import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TextSlabs } from './text-slabs';

test('copies read back exactly, share slabs without overlapping, and a slab that is full is not written past', () => {
  const slabs = new TextSlabs(64);
  const texts = ['', '{"名称":"紫龙金片"}', 'a'.repeat(64), '限定肺癌患者 😀', 'x'.repeat(10), 'y'.repeat(30), '末'.repeat(21), 'b'.repeat(65)];
  const copies = texts.map((text) => slabs.copy(text));
  // Read after every copy is made, so that a later copy overwriting an earlier one would show.
  assert.deepEqual(copies.map((copy) => copy.toString('utf8')), texts);
  assert.deepEqual(copies.map((copy) => copy.length), texts.map((text) => Buffer.byteLength(text)));
  // 64 full bytes leave no room in the first slab; the three after them share the next one
  // (the last, 30 bytes in the 31 left, only once measured: at 3 bytes a unit it would not
  // fit), and the 63-byte text does not fit beside them.
  assert.equal(copies[0]!.buffer, copies[1]!.buffer);
  assert.equal(copies[3]!.buffer, copies[4]!.buffer);
  assert.equal(copies[4]!.buffer, copies[5]!.buffer);
  assert.notEqual(copies[2]!.buffer, copies[3]!.buffer);
  assert.notEqual(copies[5]!.buffer, copies[6]!.buffer);
});
