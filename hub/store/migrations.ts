/**
 * The hub's PostgreSQL schema, as numbered migrations recorded in `hub_migrations`.
 *
 * Append-only: a released migration is never edited; a change is a new entry at the end.
 * Several hub processes may start together on one database, so `migrate` holds a session
 * advisory lock while it looks and applies: the first migrates, the others wait and then find
 * nothing to do. Each migration runs in its own transaction with its bookkeeping row.
 */
import type { Pool } from 'pg';

export interface HubMigration {
  version: number;
  name: string;
  sql: string;
}

/** An arbitrary constant naming the hub's migration lock among the database's advisory locks. */
const MIGRATION_LOCK = 73_101_103;

export const HUB_MIGRATIONS: readonly HubMigration[] = [
  {
    version: 1,
    name: 'agents, enrolment, events, ledger, decisions, anchors, console users and audit',
    sql: `
      -- Small settings; the fingerprint of the patient-id key lives here, so a hub started
      -- with another key refuses to run instead of writing hashes nobody can match.
      CREATE TABLE hub_settings (
        key text PRIMARY KEY,
        value text NOT NULL
      );

      CREATE TABLE agents (
        id text PRIMARY KEY,
        -- SHA-256 of the 32-byte random secret: a fast hash is enough for a secret that
        -- cannot be guessed, and every agent request checks it.
        secret_hash bytea NOT NULL,
        pc_name text NOT NULL,
        enrolled_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz,
        last_seen timestamptz,
        last_seq bigint NOT NULL DEFAULT 0,
        agent_version text,
        rules_version integer,
        sync_result text,
        sync_message text,
        sync_at timestamptz,
        outbox_backlog integer,
        anchor_state text NOT NULL DEFAULT 'none' CHECK (anchor_state IN ('none', 'ok', 'truncated', 'rewritten')),
        anchor_detail text,
        anchor_flagged_at timestamptz
      );

      CREATE TABLE enrolment_codes (
        code_hash bytea PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        created_by text NOT NULL,
        used_at timestamptz,
        agent_id text REFERENCES agents (id)
      );

      -- Every event id ever accepted per agent: the idempotency record.
      CREATE TABLE agent_events (
        agent_id text NOT NULL REFERENCES agents (id),
        event_id text NOT NULL,
        seq bigint NOT NULL,
        type text NOT NULL,
        at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (agent_id, event_id)
      );

      -- Committed prescription lines from every PC. patient_key is HMAC-SHA256 of the patient
      -- id with the hub's key; the plain id is never stored.
      CREATE TABLE ledger (
        id bigserial PRIMARY KEY,
        patient_key bytea NOT NULL,
        date date NOT NULL,
        agent_id text NOT NULL REFERENCES agents (id),
        check_id text NOT NULL,
        rx_id text NOT NULL,
        code text,
        hosp_code text,
        name text,
        category text NOT NULL,
        days integer,
        qty double precision,
        amount double precision,
        dept_code text,
        dept_name text,
        doctor_code text,
        doctor_name text,
        channel text NOT NULL,
        recorded_at timestamptz NOT NULL,
        -- Also the index for replacing a check's lines when its order is recorded again.
        UNIQUE (agent_id, check_id, rx_id)
      );
      -- The history lookup walks this index backwards from the newest date. Retention's daily
      -- DELETE by date scans the table instead of every ingest keeping a date index up to date.
      CREATE INDEX ledger_patient_date ON ledger (patient_key, date DESC);

      -- Findings that fired on a check a decision answered: rule activity.
      CREATE TABLE findings (
        agent_id text NOT NULL,
        event_id text NOT NULL,
        finding_id text NOT NULL,
        rule_id text NOT NULL,
        kind text NOT NULL,
        level text NOT NULL,
        at timestamptz NOT NULL,
        PRIMARY KEY (agent_id, event_id, finding_id)
      );
      CREATE INDEX findings_rule_at ON findings (rule_id, at);

      -- One row per action on a finding: overrides and attestations are reviewed here.
      CREATE TABLE decisions (
        id bigserial PRIMARY KEY,
        agent_id text NOT NULL REFERENCES agents (id),
        event_id text NOT NULL,
        check_id text NOT NULL,
        at timestamptz NOT NULL,
        kind text NOT NULL CHECK (kind IN ('override', 'attestation', 'selfpay', 'remove')),
        rule_id text NOT NULL,
        finding_id text NOT NULL,
        level text NOT NULL,
        line text NOT NULL,
        item_code text,
        item_name text,
        reason text,
        source text,
        patient_key bytea,
        dept_code text,
        dept_name text,
        doctor_code text,
        doctor_name text,
        reviewed_at timestamptz,
        reviewed_by text,
        review_note text
      );
      CREATE INDEX decisions_at ON decisions (at);
      CREATE INDEX decisions_rule_at ON decisions (rule_id, at);

      -- The series of audit-chain heads each agent sent.
      CREATE TABLE audit_anchors (
        agent_id text NOT NULL REFERENCES agents (id),
        seq bigint NOT NULL,
        hash text NOT NULL,
        at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (agent_id, seq)
      );

      -- Rules in the libraries agents run, so the console can list rules that never fire.
      CREATE TABLE rule_catalogue (
        rule_id text PRIMARY KEY,
        rules_version integer NOT NULL,
        seen_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE users (
        id serial PRIMARY KEY,
        username text NOT NULL UNIQUE,
        password_hash text NOT NULL,
        role text NOT NULL CHECK (role IN ('reviewer', 'admin')),
        created_at timestamptz NOT NULL DEFAULT now(),
        disabled_at timestamptz
      );

      CREATE TABLE sessions (
        token_hash bytea PRIMARY KEY,
        user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        csrf_token text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      );

      -- Who looked at or changed what in the console; every read of patient-level rows.
      CREATE TABLE console_audit (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        username text NOT NULL,
        action text NOT NULL,
        detail jsonb NOT NULL
      );
      CREATE INDEX console_audit_user_at ON console_audit (username, at);
    `,
  },
  {
    version: 2,
    name: 'no per-row agent foreign keys on the tables every delivery writes',
    sql: `
      -- Every delivered row checked its agent through a foreign-key trigger: about fifty
      -- lookups of the agents table per batch of twenty events. The batch already holds that
      -- agent's row locked (it exists and is not revoked), and agents are never deleted, so
      -- the checks can never fail; findings never had one, for the same reason.
      ALTER TABLE ledger DROP CONSTRAINT IF EXISTS ledger_agent_id_fkey;
      ALTER TABLE agent_events DROP CONSTRAINT IF EXISTS agent_events_agent_id_fkey;
      ALTER TABLE decisions DROP CONSTRAINT IF EXISTS decisions_agent_id_fkey;
      ALTER TABLE audit_anchors DROP CONSTRAINT IF EXISTS audit_anchors_agent_id_fkey;
    `,
  },
];

/** The schema version this code expects. */
export const HUB_SCHEMA_VERSION = HUB_MIGRATIONS.length;

/**
 * Brings the database to {@link HUB_SCHEMA_VERSION}; returns the versions applied by this call
 * (empty when another process had already done it). Refuses a database newer than this code.
 */
export async function migrate(pool: Pool): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS hub_migrations (
           version integer PRIMARY KEY,
           name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const applied = await client.query<{ version: number }>('SELECT version FROM hub_migrations ORDER BY version');
      const current = applied.rows.reduce((highest, row) => Math.max(highest, row.version), 0);
      if (current > HUB_SCHEMA_VERSION) {
        throw new Error(`数据库结构版本 ${current} 比本程序支持的 ${HUB_SCHEMA_VERSION} 新: 请升级 RxGate 院端中心`);
      }
      const done: number[] = [];
      for (const migration of HUB_MIGRATIONS.slice(current)) {
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO hub_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
        done.push(migration.version);
      }
      return done;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
