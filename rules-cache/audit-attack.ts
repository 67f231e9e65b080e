/**
 * What someone who can edit the database but not read the key file would do after changing an
 * audit record: recompute every hash from there on with plain SHA-256, as the chain was hashed
 * before it was keyed. The integrity tests and `npm run reliability` use it to show that such a
 * rewrite is found; nothing in the product calls it.
 */
import type Database from 'better-sqlite3';
import { auditHash, GENESIS_HASH } from './audit-hash';

export function rehashWithoutKey(raw: Database.Database, fromSeq: number): void {
  const rows = raw.prepare('SELECT seq, at, type, check_id, patient_key, data FROM audit WHERE seq >= ? ORDER BY seq').all(fromSeq) as Array<{
    seq: number;
    at: string;
    type: string;
    check_id: string | null;
    patient_key: string | null;
    data: string;
  }>;
  let prev = (raw.prepare('SELECT hash FROM audit WHERE seq = ?').pluck().get(fromSeq - 1) as string | undefined) ?? GENESIS_HASH;
  const update = raw.prepare('UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?');
  for (const row of rows) {
    const data = JSON.parse(row.data) as Record<string, unknown>;
    const hash = auditHash(prev, { seq: row.seq, at: row.at, type: row.type, checkId: row.check_id, patientKey: row.patient_key, data });
    update.run(prev, hash, row.seq);
    prev = hash;
  }
}
