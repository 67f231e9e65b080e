/**
 * What one condition of an indication requirement says about one item: met, to be attested
 * by the doctor (a clinical fact no code shows, or data the check does not carry), or failed
 * with the reason in words.
 */
import type { CompiledRequirement } from '../../../../rules-cache/compile';
import type { EvaluationContext, ItemView } from '../context';

/** One requirement the visit did not meet, as the popup and the audit trail show it. */
export interface FailedRequirement {
  requirement:
    | 'diagnoses'
    | 'gender'
    | 'age'
    | 'visitType'
    | 'insurance'
    | 'hospitalLevel'
    | 'ageDays'
    | 'pregnancy'
    | 'priorDrugs'
    | 'procedures'
    | 'labs'
    | 'prescriber'
    | 'coPrescribed'
    | 'excludeDiagnoses';
  expected: unknown;
  /** What the visit has; null when the check did not say. */
  actual: unknown;
  /** The failure in one plain sentence. */
  text: string;
}

/** What a condition found: failures and texts to attest; neither means it holds. */
export interface ConditionResult {
  readonly failed: FailedRequirement[];
  readonly confirm: string[];
}

/** A condition kind: reads the requirement's fields it knows and adds what it finds. */
export type Condition = (
  requirement: CompiledRequirement,
  view: ItemView,
  context: EvaluationContext,
  result: ConditionResult,
) => void;

/** The comparison each lab operator makes: the result against the rule's value. */
export const labComparisons: Readonly<Record<'<' | '<=' | '>' | '>=', (value: number, limit: number) => boolean>> = {
  '<': (value, limit) => value < limit,
  '<=': (value, limit) => value <= limit,
  '>': (value, limit) => value > limit,
  '>=': (value, limit) => value >= limit,
};

/** A month and day as the doctor reads them: `11月1日`. */
export function shortDate(date: string): string {
  return `${Number(date.slice(5, 7))}月${Number(date.slice(8, 10))}日`;
}
