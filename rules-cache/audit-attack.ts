/**
 * What someone who can edit the database behind the agent's back would do: open it directly
 * (its triggers dropped) and change it; and, not being able to read the key file, after changing
 * an audit record recompute every hash from there on with plain SHA-256, as the chain was hashed
 * before it was keyed. The integrity tests and `npm run reliability` use these to show that such
 * changes are found; nothing in the product calls them.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { auditHash, GENESIS_HASH } from './audit-hash';

/** Opens a stopped agent's database as an outsider would, without its guard triggers, and lets `change` edit it. */
export function tamperWithDatabase(dataDir: string, change: (raw: Database.Database) => void): void {
  const raw = new Database(join(dataDir, 'rxgate.db'));
  try {
    raw.exec('DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;');
    change(raw);
  } finally {
    raw.close();
  }
}

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
