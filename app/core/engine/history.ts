/**
 * The patient's earlier prescriptions as the engine sees them: what the HIS sent with the
 * check and what this PC's ledger recorded, merged into one de-duplicated list.
 */
import { normalizeCode } from '../../../rules-cache/model';
import type { LedgerItem } from '../../../rules-cache/store-contract';
import type { HistoryEntry } from '../protocol/messages';

/** One earlier prescription line, from either source. */
export interface PriorPrescription {
  /** The prescription (line) id: the HIS's own, or `checkId#line` for ledger rows. */
  rxId?: string;
  /** National code, normalised. */
  code?: string;
  /** Hospital code, normalised. */
  hospCode?: string;
  name?: string;
  /** `drug`, `herbal`, … where known (the ledger knows, the HIS history does not say). */
  category?: string;
  /** The day the supply starts, `YYYY-MM-DD`. */
  date: string;
  days?: number;
  qty?: number;
  amount?: number;
  deptCode?: string;
  deptName?: string;
  doctorCode?: string;
  doctorName?: string;
  /** The visit the line belonged to, where known: per-visit and per-admission counts. */
  visitId?: string;
  /** HIS entries without a channel are taken as insured: that is what a HIS sends by default. */
  channel: 'insured' | 'selfpay';
  /** Where the line came from, shown in the popup so the doctor knows whom to ask. */
  source: 'history' | 'ledger';
}

function priorFromHistory(entry: HistoryEntry): PriorPrescription {
  return {
    rxId: entry.rxId,
    code: entry.code,
    hospCode: entry.hospCode === undefined ? undefined : normalizeCode(entry.hospCode),
    name: entry.name,
    date: entry.date,
    days: entry.days,
    qty: entry.qty,
    amount: entry.amount,
    deptCode: entry.dept?.code,
    deptName: entry.dept?.name,
    doctorCode: entry.doctor?.code,
    doctorName: entry.doctor?.name,
    visitId: entry.visitId,
    channel: entry.channel ?? 'insured',
    source: 'history',
  };
}

/**
 * The visit of a ledger row: the agent writes its rxId as `visitId/checkId#line`. The
 * store contract's plain `checkId#line` carries none.
 */
function ledgerVisitId(rxId: string): string | undefined {
  const slash = rxId.indexOf('/');
  return slash > 0 ? rxId.slice(0, slash) : undefined;
}

function priorFromLedger(item: LedgerItem): PriorPrescription {
  return {
    rxId: item.rxId,
    code: item.code === undefined ? undefined : normalizeCode(item.code),
    hospCode: item.hospCode === undefined ? undefined : normalizeCode(item.hospCode),
    name: item.name,
    category: item.category,
    date: item.date,
    days: item.days,
    qty: item.qty,
    amount: item.amount,
    deptCode: item.deptCode,
    deptName: item.deptName,
    doctorCode: item.doctorCode,
    doctorName: item.doctorName,
    visitId: ledgerVisitId(item.rxId),
    channel: item.channel,
    source: 'ledger',
  };
}

/** Two figures agree unless both sides know them and they differ. */
function agree(a: number | undefined, b: number | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/** Whether two lines are about the same item: the national code, else the hospital code. */
function sameItem(a: PriorPrescription, b: PriorPrescription): boolean {
  return a.code !== undefined || b.code !== undefined ? a.code === b.code : a.hospCode === b.hospCode;
}

/** Fills what the HIS left out from the ledger's copy of the same line. */
function completed(history: PriorPrescription, ledger: PriorPrescription): PriorPrescription {
  return {
    rxId: history.rxId,
    code: history.code,
    hospCode: history.hospCode ?? ledger.hospCode,
    name: history.name ?? ledger.name,
    category: history.category ?? ledger.category,
    date: history.date,
    days: history.days ?? ledger.days,
    qty: history.qty ?? ledger.qty,
    amount: history.amount ?? ledger.amount,
    deptCode: history.deptCode ?? ledger.deptCode,
    deptName: history.deptName ?? ledger.deptName,
    doctorCode: history.doctorCode ?? ledger.doctorCode,
    doctorName: history.doctorName ?? ledger.doctorName,
    visitId: history.visitId ?? ledger.visitId,
    channel: history.channel,
    source: history.source,
  };
}

/**
 * Merges the history the HIS sent with the ledger's rows into one list: the HIS entries in
 * the order sent, then the ledger rows the HIS did not know about. The order only breaks ties
 * (the engine names the earlier prescription with the most supply left), so it is not sorted.
 *
 * The same line reaches RxGate twice when this PC committed an order that the HIS now sends
 * back as history. A ledger row is the same line as a HIS entry when
 * - both carry the same rxId for the same item (an rxId alone is not enough: many HIS use one
 *   prescription number for every drug on it), or
 * - the ids differ (the HIS numbers its prescriptions, the ledger uses `checkId#line`) but the
 *   item (national code, else hospital code), the date, and the days and quantity (where both
 *   sides know them) agree.
 * Each HIS entry absorbs at most one ledger row, and entries within one source are never
 * merged with each other: the HIS may rightly list the same drug twice on one day (two
 * departments), and the ledger already keeps one row per rxId. The HIS entry wins, as the
 * system of record; fields it lacks are filled from the ledger.
 */
export function mergeHistory(fromCheck: readonly HistoryEntry[], fromLedger: readonly LedgerItem[]): PriorPrescription[] {
  const merged = fromCheck.map(priorFromHistory);
  if (fromLedger.length === 0) return merged;
  const rows = fromLedger.map(priorFromLedger);

  // HIS entries by item (national code, else hospital code): a ledger row only ever looks at
  // the few entries of its own drug, so only the ledger's drugs are indexed.
  const itemKey = (prior: PriorPrescription) => prior.code ?? prior.hospCode;
  const byItem = new Map<string, number[]>();
  for (const row of rows) byItem.set(itemKey(row) ?? '', []);
  merged.forEach((prior, index) => {
    const key = itemKey(prior);
    if (key !== undefined) byItem.get(key)?.push(index);
  });
  const absorbed = new Set<number>();
  const fromLedgerOnly: PriorPrescription[] = [];

  for (const row of rows) {
    const candidates = byItem.get(itemKey(row) ?? '')!;
    const open = (index: number) => !absorbed.has(index) && sameItem(merged[index]!, row);
    let match = row.rxId === undefined ? undefined : candidates.find((index) => open(index) && merged[index]!.rxId === row.rxId);
    match ??= candidates.find(
      (index) =>
        open(index) &&
        merged[index]!.date === row.date &&
        agree(merged[index]!.days, row.days) &&
        agree(merged[index]!.qty, row.qty),
    );
    if (match === undefined) {
      fromLedgerOnly.push(row);
    } else {
      absorbed.add(match);
      merged[match] = completed(merged[match]!, row);
    }
  }
  return fromLedgerOnly.length === 0 ? merged : merged.concat(fromLedgerOnly);
}
