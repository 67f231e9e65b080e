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

test('day numbers agree with Date.UTC on every day from 1600 to 2400', () => {
  const millisecondsPerDay = 86_400_000;
  const first = Date.UTC(1600, 0, 1) / millisecondsPerDay;
  const last = Date.UTC(2400, 11, 31) / millisecondsPerDay;
  let compared = 0;
  for (let day = first; day <= last; day += 1) {
    const date = new Date(day * millisecondsPerDay).toISOString().slice(0, 10);
    if (dayNumber(date) !== day) assert.fail(`${date}: ${dayNumber(date)}, expected ${day}`);
    compared += 1;
  }
  assert.equal(compared, last - first + 1);
  // Other shapes go the Date.UTC way, as before: not a day.
  assert.ok(Number.isNaN(dayNumber('1970-1-2')));
});
