/**
 * The rule engine's public surface: pure functions over a compiled rule library, a check and
 * the patient's earlier prescriptions.
 */
export { evaluate, type EngineVerdict } from './evaluate';
export { mergeHistory, type PriorPrescription } from './history';
export { UNREGISTERED_CHRONIC_RULE_ID } from './chronic';
export type { FailedRequirement } from './indication';
export type { EarlierPrescription } from './repeat';
export { ageAt } from './dates';
