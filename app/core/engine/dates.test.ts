import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addDays, ageAt, dayNumber, daysBetween } from './dates';

test('age in whole years turns on the birthday itself', () => {
  assert.equal(ageAt('2008-11-24', '2026-11-23'), 17);
  assert.equal(ageAt('2008-11-24', '2026-11-24'), 18);
  assert.equal(ageAt('2008-11-24', '2026-11-25'), 18);
  assert.equal(ageAt('2026-11-24', '2026-11-24'), 0);
});

test('born on 29 February: 1 March in common years, the day itself in leap years', () => {
  assert.equal(ageAt('2012-02-29', '2030-02-28'), 17);
  assert.equal(ageAt('2012-02-29', '2030-03-01'), 18);
  assert.equal(ageAt('2012-02-29', '2032-02-28'), 19);
  assert.equal(ageAt('2012-02-29', '2032-02-29'), 20);
});

test('calendar arithmetic crosses months, years and leap days', () => {
  assert.equal(addDays('2026-11-20', 30), '2026-12-20');
  assert.equal(addDays('2028-02-28', 1), '2028-02-29');
  assert.equal(addDays('2026-12-31', 1), '2027-01-01');
  assert.equal(addDays('2026-01-01', -1), '2025-12-31');
  assert.equal(daysBetween('2026-11-20', '2026-11-24'), 4);
  assert.equal(daysBetween('2026-11-24', '2026-11-20'), -4);
  assert.equal(dayNumber('1970-01-02'), 1);
});
