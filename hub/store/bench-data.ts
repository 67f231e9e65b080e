/**
 * Bench data for the hub (scripts/bench-hub.ts): ledger rows generated inside PostgreSQL with
 * one generate_series INSERT per chunk, not row by row. Patient keys are computed there too
 * (pgcrypto's HMAC with the hub's key), so lookups through the API find the generated rows.
 */
import { Client } from 'pg';

export interface BenchLedgerOptions {
  rows: number;
  patients: number;
  /** The hub's patient-id key. */
  key: Buffer;
  /** Agents to spread the rows over (they must exist). */
  agentIds: string[];
  /** Rows per INSERT statement. */
  chunk?: number;
  progress?: (done: number) => void;
}

/** Patient n's id in generated data, so the bench can look the same patients up. */
export function benchPatientId(n: number): string {
  return `BP${n}`;
}

export async function fillBenchLedger(connectionString: string, options: BenchLedgerOptions): Promise<void> {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pgcrypto');
    // Building the secondary indexes once at the end is several times faster than keeping them
    // up to date row by row; their definitions are read back from the catalogue, not repeated.
    await client.query("SET maintenance_work_mem = '512MB'");
    const constraints = await client.query<{ name: string; definition: string }>(
      "SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = 'ledger'::regclass AND contype = 'u'",
    );
    const indexes = await client.query<{ name: string; definition: string }>(
      `SELECT i.indexname AS name, i.indexdef AS definition FROM pg_indexes i
       WHERE i.tablename = 'ledger' AND i.indexname <> 'ledger_pkey'
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
    );
    for (const constraint of constraints.rows) await client.query(`ALTER TABLE ledger DROP CONSTRAINT ${quoteIdentifier(constraint.name)}`);
    for (const index of indexes.rows) await client.query(`DROP INDEX ${quoteIdentifier(index.name)}`);
    const chunk = options.chunk ?? 1_000_000;
    for (let start = 1; start <= options.rows; start += chunk) {
      const end = Math.min(options.rows, start + chunk - 1);
      // Rows spread over 180 days and the given agents; patient n = i * 7919 mod patients, so a
      // patient's rows are scattered through the table as real arrivals would be.
      await client.query(
        `INSERT INTO ledger (patient_key, date, agent_id, check_id, rx_id, code, name, category, days, qty, amount,
                             dept_code, dept_name, doctor_code, doctor_name, channel, recorded_at)
         SELECT hmac(convert_to('BP' || ((i * 7919) % $3), 'UTF8'), $4::bytea, 'sha256'),
                current_date - (i % 180)::integer,
                ($5::text[])[1 + (i % array_length($5::text[], 1))],
                'bc' || i, 'bc' || i || '#1',
                'XC08CA' || lpad((i % 500)::text, 4, '0'), '药品' || (i % 500), 'drug', 7 + (i % 24), 1, 12.5,
                'D' || (i % 40), '科室' || (i % 40), 'DR' || (i % 800), '医师' || (i % 800), 'insured', now()
         FROM generate_series($1::bigint, $2::bigint) AS i`,
        [start, end, options.patients, options.key, options.agentIds],
      );
      options.progress?.(end);
    }
    for (const constraint of constraints.rows) {
      await client.query(`ALTER TABLE ledger ADD CONSTRAINT ${quoteIdentifier(constraint.name)} ${constraint.definition}`);
    }
    for (const index of indexes.rows) await client.query(index.definition);
    // A hub's ledger fills over months while autovacuum keeps up with it. Millions of rows
    // inserted in one go are another state: no page is marked all-visible or has its hint
    // bits set, so the first reads write to the table and autovacuum then works through it
    // for minutes while the bench measures. Vacuum now, as autovacuum long since would have,
    // and checkpoint, so the measurement starts from the settled table it means to measure.
    await client.query('VACUUM (ANALYZE) ledger');
    // CHECKPOINT needs a superuser (the throwaway cluster's); on a --database without one, go on.
    await client.query('CHECKPOINT').catch(() => undefined);
  } finally {
    await client.end();
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
