/**
 * Calendar arithmetic on `YYYY-MM-DD` dates. The engine takes its "today" from the visit date
 * of the check, never from the clock, so a verdict can be reproduced from the audit trail.
 */

const millisecondsPerDay = 86_400_000;

/** Days since 1970-01-01 of a `YYYY-MM-DD` date, read as a calendar day (no time zone). */
export function dayNumber(date: string): number {
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / millisecondsPerDay;
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
