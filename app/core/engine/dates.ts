/**
 * Calendar arithmetic on `YYYY-MM-DD` dates. The engine takes its "today" from the visit date
 * of the check, never from the clock, so a verdict can be reproduced from the audit trail.
 */

const millisecondsPerDay = 86_400_000;

const ZERO = 48;
const HYPHEN = 45;

function digits(text: string, from: number, count: number): number {
  let value = 0;
  for (let index = from; index < from + count; index += 1) value = value * 10 + (text.charCodeAt(index) - ZERO);
  return value;
}

/**
 * Days since 1970-01-01 of a `YYYY-MM-DD` date, read as a calendar day (no time zone).
 *
 * Worked out in integers from the digits: the engine asks this for every dated history line
 * of every check, and cutting the date into substrings and going through `Date.UTC` made
 * garbage and a boxed number each time. The count of days from a March-based year (the leap
 * day last) is the usual civil-calendar arithmetic; anything not shaped `YYYY-MM-DD` takes the
 * `Date.UTC` way.
 */
export function dayNumber(date: string): number {
  if (date.length !== 10 || date.charCodeAt(4) !== HYPHEN || date.charCodeAt(7) !== HYPHEN) {
    return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / millisecondsPerDay;
  }
  const month = digits(date, 5, 2);
  const year = digits(date, 0, 4) - (month <= 2 ? 1 : 0);
  const era = Math.floor(year / 400);
  const yearOfEra = year - era * 400;
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + digits(date, 8, 2) - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  // 719,468 days from 0000-03-01 to 1970-01-01.
  return era * 146_097 + dayOfEra - 719_468;
}

/** The `YYYY-MM-DD` date of a day number. */
export function dateOfDay(day: number): string {
  return new Date(day * millisecondsPerDay).toISOString().slice(0, 10);
}

/** The date `days` after `date` (negative goes back). */
export function addDays(date: string, days: number): string {
  return dateOfDay(dayNumber(date) + days);
}

/** Whole days from `from` to `to`: positive when `to` is later. */
export function daysBetween(from: string, to: string): number {
  return dayNumber(to) - dayNumber(from);
}

/**
 * Age in whole years (周岁) on a date: the years completed, so a patient is 18 from the
 * 18th birthday itself. Someone born on 29 February completes a year on 1 March in a common
 * year, because 28 February still comes before the birthday.
 */
export function ageAt(birthDate: string, on: string): number {
  const years = Number(on.slice(0, 4)) - Number(birthDate.slice(0, 4));
  const birthdayReached = on.slice(5) >= birthDate.slice(5);
  return birthdayReached ? years : years - 1;
}
