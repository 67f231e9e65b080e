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

test('a slab is written again only once every copy cut from it has been released', () => {
  const slabs = new TextSlabs(64);
  const first = slabs.copy('a'.repeat(30));
  const second = slabs.copy('b'.repeat(30));
  const third = slabs.copy('c'.repeat(30)); // does not fit beside them: a second slab
  assert.equal(first.buffer, second.buffer);
  assert.notEqual(third.buffer, first.buffer);

  slabs.release(first);
  // Half given back is not enough: the next slab is a new one, and `second` is untouched.
  const fourth = slabs.copy('d'.repeat(40));
  assert.notEqual(fourth.buffer, first.buffer);
  assert.equal(second.toString(), 'b'.repeat(30));

  slabs.release(second);
  const fifth = slabs.copy('e'.repeat(40)); // the third slab is 40 bytes full: the emptied first one
  assert.equal(fifth.buffer, first.buffer);
  assert.equal(fifth.toString(), 'e'.repeat(40));
  assert.deepEqual([third, fourth].map((copy) => copy.toString()), ['c'.repeat(30), 'd'.repeat(40)]);
});

test('a copy that is never released is never written over, however many others come and go', () => {
  const slabs = new TextSlabs(256);
  const kept = slabs.copy('保留的文本 kept');
  const slabsSeen = new Set<ArrayBufferLike>();
  // Each copy is given back five copies later, often after its slab has filled up, as held
  // checks are: so slabs are emptied both while current and after.
  const window: Array<{ copy: Buffer; text: string }> = [];
  for (let index = 0; index < 5000; index += 1) {
    const text = `text ${index} ${'x'.repeat(index % 90)}`;
    const copy = slabs.copy(text);
    slabsSeen.add(copy.buffer);
    window.push({ copy, text });
    for (const held of window) assert.equal(held.copy.toString(), held.text);
    assert.equal(kept.toString(), '保留的文本 kept', `copy ${index} wrote over a copy still held`);
    if (window.length > 5) slabs.release(window.shift()!.copy);
  }
  // About a thousand slabs' worth of text went through a handful of slabs, used again and again.
  assert.ok(slabsSeen.size <= 8, `${slabsSeen.size} slabs made`);
  // A text too long for a slab has a buffer of its own, and giving it back changes nothing.
  const long = slabs.copy('y'.repeat(300));
  slabs.release(long);
  assert.equal(long.toString(), 'y'.repeat(300));
  assert.equal(kept.toString(), '保留的文本 kept');
});
