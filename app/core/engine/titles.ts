/**
 * The ordering doctor's title (职称) as HIS send it: the national code (`231` 主任医师 … `235`
 * 医士), the words, or a level `1`–`5` (1 正高 … 5 士级; `reverseLevels` for HIS that number
 * the other way round).
 */
import type { DoctorTitle } from '../../../rules-cache/model';

const byLevel: readonly DoctorTitle[] = ['chief', 'associateChief', 'attending', 'physician', 'assistant'];

const byCode: Readonly<Record<string, DoctorTitle>> = {
  '231': 'chief',
  '232': 'associateChief',
  '233': 'attending',
  '234': 'physician',
  '235': 'assistant',
};

/** Words, longest first so that 副主任医师 is not read as 主任医师. */
const byWords: ReadonlyArray<readonly [string, DoctorTitle]> = [
  ['副主任医师', 'associateChief'],
  ['副主任', 'associateChief'],
  ['副高', 'associateChief'],
  ['主任医师', 'chief'],
  ['主任', 'chief'],
  ['正高', 'chief'],
  ['主治医师', 'attending'],
  ['主治', 'attending'],
  ['中级', 'attending'],
  ['住院医师', 'physician'],
  ['医师', 'physician'],
  ['师级', 'physician'],
  ['医士', 'assistant'],
  ['士级', 'assistant'],
];

/**
 * A title numbered 1–5 the other way round (5 正高 … 1 士级, as some HIS number them) as the
 * national code, so that the engine reads it one way only; anything else as it came.
 */
export function reversedLevelAsCode(title: string | number): string | number {
  const text = String(title).normalize('NFKC').trim();
  if (!/^[1-5]$/.test(text)) return title;
  const level = parseDoctorTitle(text, true)!;
  return Object.entries(byCode).find(([, value]) => value === level)![0];
}

/** Parses a title; undefined when absent or not recognised (the condition is then attested). */
export function parseDoctorTitle(title: string | number | undefined, reverseLevels = false): DoctorTitle | undefined {
  if (title === undefined) return undefined;
  const text = String(title).normalize('NFKC').replace(/\s+/g, '');
  if (/^[1-5]$/.test(text)) {
    const index = Number(text) - 1;
    return byLevel[reverseLevels ? byLevel.length - 1 - index : index];
  }
  const coded = byCode[text];
  if (coded) return coded;
  if (/^(?:chief|associateChief|attending|physician|assistant)$/.test(text)) return text as DoctorTitle;
  for (const [words, value] of byWords) if (text === words || text.startsWith(words)) return value;
  return undefined;
}
