/**
 * The hub's data layer: every SQL statement the hub runs is in this folder, parameterised.
 * Statements on the hot paths (authentication, ingest, history) are named, so PostgreSQL
 * prepares each once per pooled connection. The store holds no state of its own beyond the
 * pool: any number of hub processes may share one database.
 */
import { timingSafeEqual } from 'node:crypto';
import { Pool, type PoolClient, type QueryConfig } from 'pg';
import type { AnchorState, DecisionAction, HubEvent, HubHistoryRow, StatusPayload } from '../../app/core/protocol/hub';
import { migrate } from './migrations';

export interface HubStoreOptions {
  /** Largest number of connections this process opens (default 10). */
  maxConnections?: number;
}

/** An event after the server turned its patient id into the keyed hash. */
export interface KeyedEvent {
  event: HubEvent;
  patientKey: Buffer | null;
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  lastSeq: number;
  anchor: { state: AnchorState; seq?: number; detail?: string };
}

/** Rows removed by {@link HubStore.purge}, per table. */
export interface PurgeCounts {
  ledger: number;
  events: number;
  decisions: number;
  findings: number;
  consoleAudit: number;
  anchors: number;
  sessions: number;
}

export interface FleetRow {
  agentId: string;
  pcName: string;
  enrolledAt: string;
  revokedAt: string | null;
  lastSeen: string | null;
  agentVersion: string | null;
  rulesVersion: number | null;
  syncResult: string | null;
  syncMessage: string | null;
  syncAt: string | null;
  outboxBacklog: number | null;
  anchorState: AnchorState;
  anchorDetail: string | null;
  anchorSeq: number | null;
}

export interface DecisionFilter {
  from?: string;
  to?: string;
  ruleId?: string;
  dept?: string;
  doctor?: string;
  kinds?: string[];
  reviewed?: boolean;
  limit?: number;
}

export interface DecisionRow {
  id: number;
  at: string;
  kind: string;
  ruleId: string;
  level: string;
  itemName: string | null;
  itemCode: string | null;
  reason: string | null;
  deptName: string | null;
  deptCode: string | null;
  doctorName: string | null;
  doctorCode: string | null;
  pcName: string;
  checkId: string;
  /** The first 8 hex digits of the patient's keyed hash: enough to group rows, not to identify. */
  patientRef: string | null;
  reviewedAt: string | null;
  reviewedBy: string | null;
  reviewNote: string | null;
}

export interface RuleActivityRow {
  ruleId: string;
  findings: number;
  overrides: number;
  attestations: number;
  selfpay: number;
  /** Findings per day over the window, oldest first. */
  trend: number[];
}

export interface RankingRow {
  code: string | null;
  name: string | null;
  dept: string | null;
  overrides: number;
  attestations: number;
  findings: number;
}

export interface UserRow {
  id: number;
  username: string;
  passwordHash: string;
  role: 'reviewer' | 'admin';
  disabled: boolean;
}

export interface SessionRow {
  userId: number;
  username: string;
  role: 'reviewer' | 'admin';
  csrfToken: string;
}

const statements = {
  // Locks the agent's row (batches of one agent apply one after another, whichever hub process
  // got them) and records the batch's event ids in one round trip; the ids already recorded
  // come back absent from `fresh`.
  beginBatch: `WITH agent AS (
                 SELECT last_seq, revoked_at IS NOT NULL AS revoked, anchor_state, anchor_detail,
                   (SELECT max(seq) FROM audit_anchors x WHERE x.agent_id = agents.id) AS anchor_seq,
                   (SELECT hash FROM audit_anchors x WHERE x.agent_id = agents.id ORDER BY seq DESC LIMIT 1) AS anchor_hash
                 FROM agents WHERE id = $1 AND secret_hash = $3 FOR UPDATE
               ), recorded AS (
                 INSERT INTO agent_events (agent_id, event_id, seq, type, at)
                 SELECT $1, e.id, e.seq, e.type, e.at FROM jsonb_to_recordset($2::jsonb) AS e(id text, seq bigint, type text, at timestamptz)
                 WHERE EXISTS (SELECT 1 FROM agent WHERE NOT agent.revoked)
                 ON CONFLICT DO NOTHING RETURNING event_id
               )
               SELECT agent.*, ARRAY(SELECT event_id FROM recorded) AS fresh FROM agent`,
  // Everything else a batch writes, in one statement. The DELETE removes only lines the new
  // order no longer has, so it never touches a row the upsert writes in the same statement.
  writeBatch: `WITH gone AS (
                 DELETE FROM ledger WHERE agent_id = $1 AND check_id = ANY($2::text[]) AND NOT (rx_id = ANY($3::text[]))
               ), written AS (
                 INSERT INTO ledger (patient_key, date, agent_id, check_id, rx_id, code, hosp_code, name, category, days, qty,
                   amount, dept_code, dept_name, doctor_code, doctor_name, channel, recorded_at)
                 SELECT decode(r.patient_key, 'hex'), r.date, $1, r.check_id, r.rx_id, r.code, r.hosp_code, r.name, r.category,
                   r.days, r.qty, r.amount, r.dept_code, r.dept_name, r.doctor_code, r.doctor_name, r.channel, r.recorded_at
                 FROM jsonb_to_recordset($4::jsonb) AS r(patient_key text, date date, check_id text, rx_id text, code text,
                   hosp_code text, name text, category text, days integer, qty double precision, amount double precision,
                   dept_code text, dept_name text, doctor_code text, doctor_name text, channel text, recorded_at timestamptz)
                 ON CONFLICT (agent_id, check_id, rx_id) DO UPDATE SET patient_key = EXCLUDED.patient_key, date = EXCLUDED.date,
                   code = EXCLUDED.code, hosp_code = EXCLUDED.hosp_code, name = EXCLUDED.name,
                   category = EXCLUDED.category, days = EXCLUDED.days, qty = EXCLUDED.qty, amount = EXCLUDED.amount,
                   dept_code = EXCLUDED.dept_code, dept_name = EXCLUDED.dept_name, doctor_code = EXCLUDED.doctor_code,
                   doctor_name = EXCLUDED.doctor_name, channel = EXCLUDED.channel, recorded_at = EXCLUDED.recorded_at
               ), fired AS (
                 INSERT INTO findings (agent_id, event_id, finding_id, rule_id, kind, level, at)
                 SELECT $1, f.event_id, f.finding_id, f.rule_id, f.kind, f.level, f.at
                 FROM jsonb_to_recordset($5::jsonb) AS f(event_id text, finding_id text, rule_id text, kind text, level text, at timestamptz)
                 ON CONFLICT DO NOTHING
               ), decided AS (
                 INSERT INTO decisions (agent_id, event_id, check_id, at, kind, rule_id, finding_id, level, line, item_code,
                   item_name, reason, source, patient_key, dept_code, dept_name, doctor_code, doctor_name)
                 SELECT $1, d.event_id, d.check_id, d.at, d.kind, d.rule_id, d.finding_id, d.level, d.line, d.item_code,
                   d.item_name, d.reason, d.source, decode(d.patient_key, 'hex'), d.dept_code, d.dept_name, d.doctor_code, d.doctor_name
                 FROM jsonb_to_recordset($6::jsonb) AS d(event_id text, check_id text, at timestamptz, kind text, rule_id text,
                   finding_id text, level text, line text, item_code text, item_name text, reason text, source text,
                   patient_key text, dept_code text, dept_name text, doctor_code text, doctor_name text)
               ), anchored AS (
                 INSERT INTO audit_anchors (agent_id, seq, hash, at)
                 SELECT $1, a.seq, a.hash, a.at FROM jsonb_to_recordset($11::jsonb) AS a(seq bigint, hash text, at timestamptz)
                 ON CONFLICT DO NOTHING
               )
               UPDATE agents SET last_seen = now(), last_seq = GREATEST(last_seq, $7), anchor_state = $8, anchor_detail = $9,
                 anchor_flagged_at = CASE WHEN $8 IN ('truncated', 'rewritten') AND anchor_state NOT IN ('truncated', 'rewritten')
                                     THEN now() ELSE anchor_flagged_at END,
                 pc_name = COALESCE($10::jsonb ->> 'pcName', pc_name),
                 agent_version = COALESCE($10::jsonb ->> 'agentVersion', agent_version),
                 rules_version = CASE WHEN $10::jsonb IS NULL THEN rules_version ELSE ($10::jsonb ->> 'rulesVersion')::integer END,
                 sync_result = CASE WHEN $10::jsonb IS NULL THEN sync_result ELSE $10::jsonb ->> 'syncResult' END,
                 sync_message = CASE WHEN $10::jsonb IS NULL THEN sync_message ELSE $10::jsonb ->> 'syncMessage' END,
                 sync_at = CASE WHEN $10::jsonb IS NULL THEN sync_at ELSE ($10::jsonb ->> 'syncAt')::timestamptz END,
                 outbox_backlog = CASE WHEN $10::jsonb IS NULL THEN outbox_backlog ELSE ($10::jsonb ->> 'outboxBacklog')::integer END
               WHERE id = $1 RETURNING last_seq`,
  catalogue: `INSERT INTO rule_catalogue (rule_id, rules_version) SELECT unnest($1::text[]), $2
              ON CONFLICT (rule_id) DO UPDATE SET rules_version = EXCLUDED.rules_version, seen_at = now()
              WHERE rule_catalogue.rules_version <= EXCLUDED.rules_version`,
  anchorAt: 'SELECT hash FROM audit_anchors WHERE agent_id = $1 AND seq = $2',
  // The caller's credential and the patient's rows in one round trip: the lookup runs inside
  // the agent's check budget. Rows come only when the secret matches and the agent is not revoked.
  history: `SELECT a.secret_hash, a.revoked_at IS NOT NULL AS revoked, h.*
            FROM agents a LEFT JOIN LATERAL (
              SELECT l.rx_id, l.code, l.hosp_code, l.name, l.category, to_char(l.date, 'YYYY-MM-DD') AS date, l.days, l.qty,
                     l.amount, l.dept_code, l.dept_name, l.doctor_code, l.doctor_name, l.channel, l.check_id, l.recorded_at, p.pc_name
              FROM ledger l JOIN agents p ON p.id = l.agent_id
              WHERE l.patient_key = $3 AND l.date >= $4 ORDER BY l.date DESC, l.id DESC LIMIT $5
            ) h ON a.revoked_at IS NULL AND a.secret_hash = $2
            WHERE a.id = $1`,
} as const;

function named(name: keyof typeof statements, values: unknown[]): QueryConfig {
  return { name: `hub_${name}`, text: statements[name], values };
}

function isoOrNull(value: Date | null): string | null {
  return value ? value.toISOString() : null;
}

/** PostgreSQL-backed storage for the hub. */
export class HubStore {
  private constructor(private readonly pool: Pool) {}

  /** Connects and brings the schema up to date (safe with several hubs starting at once). */
  static async open(connectionString: string, options: HubStoreOptions = {}): Promise<HubStore> {
    const pool = new Pool({ connectionString, max: options.maxConnections ?? 10, application_name: 'rxgate-hub' });
    // An idle connection the server dropped must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
    try {
      await migrate(pool);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new HubStore(pool);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Records the fingerprint of the patient-id key on first start; afterwards, false when a
   * process brings a different key (its hashes would never match the stored ones).
   */
  async checkKeyFingerprint(fingerprint: string): Promise<boolean> {
    await this.pool.query("INSERT INTO hub_settings (key, value) VALUES ('patient_key_fingerprint', $1) ON CONFLICT DO NOTHING", [fingerprint]);
    const result = await this.pool.query<{ value: string }>("SELECT value FROM hub_settings WHERE key = 'patient_key_fingerprint'");
    return result.rows[0]?.value === fingerprint;
  }

  // ---- enrolment and identity -------------------------------------------------------------

  async createEnrolmentCode(codeHash: Buffer, expiresAt: Date, createdBy: string): Promise<void> {
    await this.pool.query('INSERT INTO enrolment_codes (code_hash, expires_at, created_by) VALUES ($1, $2, $3)', [codeHash, expiresAt, createdBy]);
  }

  /**
   * Spends a one-time code and creates the agent in one transaction; false when the code is
   * unknown, used or expired (the row lock makes two agents racing for one code get one win).
   */
  async enrolAgent(codeHash: Buffer, agent: { id: string; secretHash: Buffer; pcName: string; agentVersion: string }): Promise<boolean> {
    return this.transaction(async (client) => {
      const code = await client.query(
        'SELECT 1 FROM enrolment_codes WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now() FOR UPDATE',
        [codeHash],
      );
      if (code.rowCount === 0) return false;
      await client.query('INSERT INTO agents (id, secret_hash, pc_name, agent_version) VALUES ($1, $2, $3, $4)', [
        agent.id,
        agent.secretHash,
        agent.pcName,
        agent.agentVersion,
      ]);
      await client.query('UPDATE enrolment_codes SET used_at = now(), agent_id = $2 WHERE code_hash = $1', [codeHash, agent.id]);
      return true;
    });
  }

  /** Revokes an agent; false when there is no such agent. */
  async revokeAgent(agentId: string): Promise<boolean> {
    const result = await this.pool.query('UPDATE agents SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1', [agentId]);
    return result.rowCount === 1;
  }

  // ---- ingest -----------------------------------------------------------------------------

  /**
   * Stores a batch in one transaction, in order, skipping event ids already stored. The agent
   * row is locked for the batch, so two hub processes given overlapping batches from one agent
   * (a retry racing the original) apply each event once and in order. `secretHash` is checked in
   * the statement that takes the lock: `unknown` when no agent has that id and secret.
   */
  async ingest(agentId: string, secretHash: Buffer, events: KeyedEvent[]): Promise<IngestResult | 'unknown' | 'revoked'> {
    return this.transaction(async (client) => {
      const begun = await client.query<{
        last_seq: string;
        revoked: boolean;
        anchor_state: AnchorState;
        anchor_detail: string | null;
        anchor_seq: string | null;
        anchor_hash: string | null;
        fresh: string[];
      }>(
        named('beginBatch', [
          agentId,
          JSON.stringify(events.map(({ event }) => ({ id: event.id, seq: event.seq, type: event.type, at: event.at }))),
          secretHash,
        ]),
      );
      // The credential is checked in the same statement: no row, no such agent with that secret
      // (and nothing was recorded for it).
      const agent = begun.rows[0];
      if (!agent) return 'unknown';
      if (agent.revoked) return 'revoked';
      const fresh = new Set(agent.fresh);
      const accepted = events.filter(({ event }) => fresh.has(event.id));
      let anchorState: AnchorState = agent.anchor_state;
      let anchorDetail = agent.anchor_detail;
      let anchored = agent.anchor_seq === null ? null : { seq: Number(agent.anchor_seq), hash: agent.anchor_hash! };
      // Heads that extend the series are written with the rest of the batch, in writeBatch.
      const newAnchors = new Map<number, { hash: string; at: string }>();
      for (const { event } of accepted) {
        if (event.type !== 'audit-head') continue;
        const verdict = await this.applyHead(client, agentId, event.head, event.at, anchorState, anchored, newAnchors);
        anchorState = verdict.state;
        anchorDetail = verdict.detail ?? null;
        anchored = verdict.anchored;
      }
      const status = latestStatus(accepted);
      if (status?.ruleIds?.length && status.rulesVersion !== null) {
        await client.query(named('catalogue', [status.ruleIds, status.rulesVersion]));
      }
      const orders = orderRows(accepted);
      const { findings, decisions } = decisionRows(accepted);
      const maxSeq = events.reduce((highest, { event }) => Math.max(highest, event.seq), 0);
      const written = await client.query<{ last_seq: string }>(
        named('writeBatch', [
          agentId,
          orders.checkIds,
          orders.rxIds,
          JSON.stringify(orders.rows),
          JSON.stringify(findings),
          JSON.stringify(decisions),
          maxSeq,
          anchorState,
          anchorDetail,
          status
            ? JSON.stringify({
                pcName: status.pcName,
                agentVersion: status.agentVersion,
                rulesVersion: status.rulesVersion,
                syncResult: status.lastSync?.result ?? null,
                syncMessage: status.lastSync?.message ?? status.lastSync?.code ?? null,
                syncAt: status.lastSync?.at ?? null,
                outboxBacklog: status.outboxBacklog,
              })
            : null,
          JSON.stringify([...newAnchors].map(([seq, anchor]) => ({ seq, hash: anchor.hash, at: anchor.at }))),
        ]),
      );
      return {
        accepted: accepted.length,
        duplicates: events.length - accepted.length,
        lastSeq: Number(written.rows[0]!.last_seq),
        anchor: { state: anchorState, seq: anchored?.seq, detail: anchorDetail ?? undefined },
      };
    });
  }

  /**
   * Compares a new chain head with what the agent anchored before. A head whose seq went back
   * means records were removed (truncated); the same seq with another hash, or a `previous`
   * that no longer matches the anchored hash, means records were changed (rewritten). A flag
   * stays until an admin clears it; a flagged head is not added to the series. A head that
   * extends the series goes into `newAnchors`, which the batch's last statement writes.
   */
  private async applyHead(
    client: PoolClient,
    agentId: string,
    head: { seq: number; hash: string; previous?: { seq: number; hash: string } },
    at: string,
    current: AnchorState,
    last: { seq: number; hash: string } | null,
    newAnchors: Map<number, { hash: string; at: string }>,
  ): Promise<{ state: AnchorState; detail?: string; anchored: { seq: number; hash: string } | null }> {
    const flagged = current === 'truncated' || current === 'rewritten';
    const flag = (state: AnchorState, detail: string) => ({ state: flagged ? current : state, detail, anchored: last });
    if (last && head.seq < last.seq) return flag('truncated', `审计记录从第 ${last.seq} 条退回到第 ${head.seq} 条`);
    const sameSeqHash = last && head.seq === last.seq ? last.hash : null;
    if (sameSeqHash !== null && sameSeqHash !== head.hash) return flag('rewritten', `第 ${head.seq} 条审计记录的哈希与已锚定的不同`);
    if (head.previous) {
      const hash = newAnchors.get(head.previous.seq)?.hash ?? (await client.query<{ hash: string }>(named('anchorAt', [agentId, head.previous.seq]))).rows[0]?.hash;
      if (hash !== undefined && hash !== head.previous.hash) {
        return flag('rewritten', `第 ${head.previous.seq} 条审计记录已被改写`);
      }
    }
    if (flagged) return { state: current, anchored: last };
    if ((!last || head.seq > last.seq) && !newAnchors.has(head.seq)) newAnchors.set(head.seq, { hash: head.hash, at });
    return { state: 'ok', anchored: last && head.seq <= last.seq ? last : { seq: head.seq, hash: head.hash } };
  }

  /** Clears an anchor flag after IT has looked into it; the series starts afresh. */
  async clearAnchor(agentId: string): Promise<boolean> {
    return this.transaction(async (client) => {
      const updated = await client.query(
        "UPDATE agents SET anchor_state = 'none', anchor_detail = NULL, anchor_flagged_at = NULL WHERE id = $1",
        [agentId],
      );
      await client.query('DELETE FROM audit_anchors WHERE agent_id = $1', [agentId]);
      return updated.rowCount === 1;
    });
  }

  async anchorSeries(agentId: string): Promise<Array<{ seq: number; hash: string }>> {
    const result = await this.pool.query<{ seq: string; hash: string }>(
      'SELECT seq, hash FROM audit_anchors WHERE agent_id = $1 ORDER BY seq',
      [agentId],
    );
    return result.rows.map((row) => ({ seq: Number(row.seq), hash: row.hash }));
  }

  // ---- history ----------------------------------------------------------------------------

  /**
   * The patient's rows from every PC, newest first, for an agent presenting `secretHash`;
   * 'unknown' when there is no such agent or the secret is wrong, 'revoked' when revoked.
   */
  async history(
    agentId: string,
    secretHash: Buffer,
    patientKey: Buffer,
    since: string,
    limit: number,
  ): Promise<HubHistoryRow[] | 'unknown' | 'revoked'> {
    const result = await this.pool.query<HistoryDbRow & { secret_hash: Buffer; revoked: boolean }>(
      named('history', [agentId, secretHash, patientKey, since, limit]),
    );
    const first = result.rows[0];
    if (!first || !sameBytes(first.secret_hash, secretHash)) return 'unknown';
    if (first.revoked) return 'revoked';
    return result.rows.filter((row) => row.rx_id !== null).map(historyRow);
  }

  /** Counts for tests and the fleet page. */
  async ledgerCount(): Promise<number> {
    const result = await this.pool.query<{ count: string }>('SELECT count(*) FROM ledger');
    return Number(result.rows[0]!.count);
  }

  async eventCount(agentId?: string): Promise<number> {
    const result = agentId
      ? await this.pool.query<{ count: string }>('SELECT count(*) FROM agent_events WHERE agent_id = $1', [agentId])
      : await this.pool.query<{ count: string }>('SELECT count(*) FROM agent_events');
    return Number(result.rows[0]!.count);
  }

  /**
   * Deletes what is past its cut-off (hub/retention.ts): ledger rows dated before
   * `ledgerBefore` and the event ids received before it; decisions and findings before
   * `decisionsBefore`; console audit entries before `consoleAuditBefore`; anchors received
   * before the ledger cut-off except each agent's newest, which the next head is compared with;
   * expired sessions. Each table in its own statement, so no long transaction holds locks.
   */
  async purge(cutoffs: { ledgerBefore: string; decisionsBefore: Date; consoleAuditBefore: Date }): Promise<PurgeCounts> {
    const count = async (text: string, values: unknown[]): Promise<number> => (await this.pool.query(text, values)).rowCount ?? 0;
    return {
      ledger: await count('DELETE FROM ledger WHERE date < $1', [cutoffs.ledgerBefore]),
      events: await count('DELETE FROM agent_events WHERE received_at < $1::date', [cutoffs.ledgerBefore]),
      decisions: await count('DELETE FROM decisions WHERE at < $1', [cutoffs.decisionsBefore]),
      findings: await count('DELETE FROM findings WHERE at < $1', [cutoffs.decisionsBefore]),
      consoleAudit: await count('DELETE FROM console_audit WHERE at < $1', [cutoffs.consoleAuditBefore]),
      anchors: await count(
        `DELETE FROM audit_anchors x WHERE x.received_at < $1::date
           AND x.seq < (SELECT max(y.seq) FROM audit_anchors y WHERE y.agent_id = x.agent_id)`,
        [cutoffs.ledgerBefore],
      ),
      sessions: await count('DELETE FROM sessions WHERE expires_at < now()', []),
    };
  }

  // ---- console: review, activity, ranking, fleet ------------------------------------------

  async decisions(filter: DecisionFilter): Promise<DecisionRow[]> {
    const result = await this.pool.query<DecisionDbRow>(
      `SELECT d.id, d.at, d.kind, d.rule_id, d.level, d.item_name, d.item_code, d.reason, d.dept_name, d.dept_code,
              d.doctor_name, d.doctor_code, a.pc_name, d.check_id, substr(encode(d.patient_key, 'hex'), 1, 8) AS patient_ref,
              d.reviewed_at, d.reviewed_by, d.review_note
       FROM decisions d JOIN agents a ON a.id = d.agent_id
       WHERE ($1::timestamptz IS NULL OR d.at >= $1)
         AND ($2::timestamptz IS NULL OR d.at < $2)
         AND ($3::text IS NULL OR d.rule_id = $3)
         AND ($4::text IS NULL OR d.dept_code = $4 OR d.dept_name = $4)
         AND ($5::text IS NULL OR d.doctor_code = $5 OR d.doctor_name = $5)
         AND d.kind = ANY($6::text[])
         AND ($7::boolean IS NULL OR (d.reviewed_at IS NOT NULL) = $7)
       ORDER BY d.at DESC, d.id DESC LIMIT $8`,
      [
        filter.from ?? null,
        filter.to ?? null,
        filter.ruleId ?? null,
        filter.dept ?? null,
        filter.doctor ?? null,
        filter.kinds ?? ['override', 'attestation'],
        filter.reviewed ?? null,
        filter.limit ?? 1000,
      ],
    );
    return result.rows.map((row) => ({
      id: Number(row.id),
      at: row.at.toISOString(),
      kind: row.kind,
      ruleId: row.rule_id,
      level: row.level,
      itemName: row.item_name,
      itemCode: row.item_code,
      reason: row.reason,
      deptName: row.dept_name,
      deptCode: row.dept_code,
      doctorName: row.doctor_name,
      doctorCode: row.doctor_code,
      pcName: row.pc_name,
      checkId: row.check_id,
      patientRef: row.patient_ref,
      reviewedAt: isoOrNull(row.reviewed_at),
      reviewedBy: row.reviewed_by,
      reviewNote: row.review_note,
    }));
  }

  async reviewDecision(id: number, username: string, note: string): Promise<boolean> {
    const result = await this.pool.query(
      'UPDATE decisions SET reviewed_at = now(), reviewed_by = $2, review_note = $3 WHERE id = $1',
      [id, username, note],
    );
    return result.rowCount === 1;
  }

  /**
   * Per rule over [from, to): findings, overrides, attestations and self-pay switches, with a
   * daily trend of findings; rules in the catalogue that never fired come with zeros.
   */
  async ruleActivity(from: string, to: string): Promise<RuleActivityRow[]> {
    const result = await this.pool.query<{
      rule_id: string;
      findings: string;
      overrides: string;
      attestations: string;
      selfpay: string;
      trend: number[] | null;
    }>(
      `WITH days AS (
         SELECT generate_series(date_trunc('day', $1::timestamptz), date_trunc('day', $2::timestamptz - interval '1 microsecond'), interval '1 day') AS day
       ),
       fired AS (
         SELECT rule_id, date_trunc('day', at) AS day, count(*) AS n FROM findings WHERE at >= $1 AND at < $2 GROUP BY 1, 2
       ),
       acted AS (
         SELECT rule_id,
                count(*) FILTER (WHERE kind = 'override') AS overrides,
                count(*) FILTER (WHERE kind = 'attestation') AS attestations,
                count(*) FILTER (WHERE kind = 'selfpay') AS selfpay
         FROM decisions WHERE at >= $1 AND at < $2 GROUP BY rule_id
       ),
       rules AS (
         SELECT rule_id FROM rule_catalogue UNION SELECT rule_id FROM fired UNION SELECT rule_id FROM acted
       )
       SELECT r.rule_id,
              COALESCE((SELECT sum(n) FROM fired f WHERE f.rule_id = r.rule_id), 0) AS findings,
              COALESCE(a.overrides, 0) AS overrides, COALESCE(a.attestations, 0) AS attestations, COALESCE(a.selfpay, 0) AS selfpay,
              (SELECT array_agg(COALESCE(f.n, 0)::integer ORDER BY d.day) FROM days d
                 LEFT JOIN fired f ON f.rule_id = r.rule_id AND f.day = d.day) AS trend
       FROM rules r LEFT JOIN acted a ON a.rule_id = r.rule_id
       ORDER BY findings DESC, r.rule_id`,
      [from, to],
    );
    return result.rows.map((row) => ({
      ruleId: row.rule_id,
      findings: Number(row.findings),
      overrides: Number(row.overrides),
      attestations: Number(row.attestations),
      selfpay: Number(row.selfpay),
      trend: row.trend ?? [],
    }));
  }

  /** Doctors or departments ranked by overrides over [from, to). */
  async ranking(by: 'doctor' | 'dept', from: string, to: string): Promise<RankingRow[]> {
    const result = await this.pool.query<{ code: string | null; name: string | null; dept: string | null; overrides: string; attestations: string; findings: string }>(
      `SELECT CASE WHEN $3 THEN COALESCE(doctor_code, doctor_name) ELSE COALESCE(dept_code, dept_name) END AS code,
              max(CASE WHEN $3 THEN doctor_name ELSE dept_name END) AS name,
              max(dept_name) AS dept,
              count(*) FILTER (WHERE kind = 'override') AS overrides,
              count(*) FILTER (WHERE kind = 'attestation') AS attestations,
              count(DISTINCT (agent_id, event_id, finding_id)) AS findings
       FROM decisions WHERE at >= $1 AND at < $2
       GROUP BY 1 ORDER BY overrides DESC, attestations DESC, code LIMIT 100`,
      [from, to, by === 'doctor'],
    );
    return result.rows.map((row) => ({
      code: row.code,
      name: row.name,
      dept: row.dept,
      overrides: Number(row.overrides),
      attestations: Number(row.attestations),
      findings: Number(row.findings),
    }));
  }

  /** Every agent, the ones not seen for longest first (never seen before all). */
  async fleet(): Promise<FleetRow[]> {
    const result = await this.pool.query<FleetDbRow>(
      `SELECT a.*, (SELECT max(seq) FROM audit_anchors x WHERE x.agent_id = a.id) AS anchor_seq
       FROM agents a ORDER BY a.revoked_at IS NOT NULL, a.last_seen ASC NULLS FIRST, a.pc_name`,
    );
    return result.rows.map((row) => ({
      agentId: row.id,
      pcName: row.pc_name,
      enrolledAt: row.enrolled_at.toISOString(),
      revokedAt: isoOrNull(row.revoked_at),
      lastSeen: isoOrNull(row.last_seen),
      agentVersion: row.agent_version,
      rulesVersion: row.rules_version,
      syncResult: row.sync_result,
      syncMessage: row.sync_message,
      syncAt: isoOrNull(row.sync_at),
      outboxBacklog: row.outbox_backlog,
      anchorState: row.anchor_state,
      anchorDetail: row.anchor_detail,
      anchorSeq: row.anchor_seq === null ? null : Number(row.anchor_seq),
    }));
  }

  // ---- console: users, sessions, audit ----------------------------------------------------

  async addUser(username: string, passwordHash: string, role: 'reviewer' | 'admin'): Promise<void> {
    await this.pool.query('INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3)', [username, passwordHash, role]);
  }

  async setPassword(username: string, passwordHash: string): Promise<boolean> {
    const result = await this.pool.query('UPDATE users SET password_hash = $2 WHERE username = $1', [username, passwordHash]);
    return result.rowCount === 1;
  }

  async userByName(username: string): Promise<UserRow | null> {
    const result = await this.pool.query<{ id: number; username: string; password_hash: string; role: 'reviewer' | 'admin'; disabled: boolean }>(
      'SELECT id, username, password_hash, role, disabled_at IS NOT NULL AS disabled FROM users WHERE username = $1',
      [username],
    );
    const row = result.rows[0];
    return row ? { id: row.id, username: row.username, passwordHash: row.password_hash, role: row.role, disabled: row.disabled } : null;
  }

  async users(): Promise<Array<{ username: string; role: string; createdAt: string; disabled: boolean }>> {
    const result = await this.pool.query<{ username: string; role: string; created_at: Date; disabled: boolean }>(
      'SELECT username, role, created_at, disabled_at IS NOT NULL AS disabled FROM users ORDER BY username',
    );
    return result.rows.map((row) => ({ username: row.username, role: row.role, createdAt: row.created_at.toISOString(), disabled: row.disabled }));
  }

  async createSession(tokenHash: Buffer, userId: number, csrfToken: string, expiresAt: Date): Promise<void> {
    await this.pool.query('DELETE FROM sessions WHERE expires_at < now()');
    await this.pool.query('INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)', [
      tokenHash,
      userId,
      csrfToken,
      expiresAt,
    ]);
  }

  async session(tokenHash: Buffer): Promise<SessionRow | null> {
    const result = await this.pool.query<{ user_id: number; username: string; role: 'reviewer' | 'admin'; csrf_token: string }>(
      `SELECT s.user_id, u.username, u.role, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id
       WHERE s.token_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL`,
      [tokenHash],
    );
    const row = result.rows[0];
    return row ? { userId: row.user_id, username: row.username, role: row.role, csrfToken: row.csrf_token } : null;
  }

  async deleteSession(tokenHash: Buffer): Promise<void> {
    await this.pool.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
  }

  async audit(username: string, action: string, detail: Record<string, unknown>): Promise<void> {
    await this.pool.query('INSERT INTO console_audit (username, action, detail) VALUES ($1, $2, $3)', [username, action, JSON.stringify(detail)]);
  }

  /** Failed logins for `username` in the last `minutes`, counted since its last successful login. */
  async recentFailedLogins(username: string, minutes: number): Promise<number> {
    const result = await this.pool.query<{ count: string }>(
      `SELECT count(*) FROM console_audit
       WHERE username = $1 AND action = 'login-failed' AND at > now() - make_interval(mins => $2)
         AND at > COALESCE((SELECT max(at) FROM console_audit WHERE username = $1 AND action = 'login'), '-infinity')`,
      [username, minutes],
    );
    return Number(result.rows[0]!.count);
  }

  async consoleAudit(limit: number): Promise<Array<{ at: string; username: string; action: string; detail: Record<string, unknown> }>> {
    const result = await this.pool.query<{ at: Date; username: string; action: string; detail: Record<string, unknown> }>(
      'SELECT at, username, action, detail FROM console_audit ORDER BY id DESC LIMIT $1',
      [limit],
    );
    return result.rows.map((row) => ({ at: row.at.toISOString(), username: row.username, action: row.action, detail: row.detail }));
  }
}

/** The ledger rows a batch writes: the newest order event per check wins, as recording an order again does on the agent. */
function orderRows(events: KeyedEvent[]): { checkIds: string[]; rxIds: string[]; rows: Record<string, unknown>[] } {
  const latestByCheck = new Map<string, KeyedEvent>();
  for (const keyed of events) if (keyed.event.type === 'order') latestByCheck.set(keyed.event.order.checkId, keyed);
  const rows: Record<string, unknown>[] = [];
  const rxIds: string[] = [];
  for (const { event, patientKey } of latestByCheck.values()) {
    if (event.type !== 'order' || !patientKey) continue;
    for (const item of event.order.items) {
      rxIds.push(item.rxId);
      rows.push({
        patient_key: patientKey.toString('hex'),
        date: item.date,
        check_id: event.order.checkId,
        rx_id: item.rxId,
        code: item.code ?? null,
        hosp_code: item.hospCode ?? null,
        name: item.name ?? null,
        category: item.category,
        days: item.days ?? null,
        qty: item.qty ?? null,
        amount: item.amount ?? null,
        dept_code: item.deptCode ?? null,
        dept_name: item.deptName ?? null,
        doctor_code: item.doctorCode ?? null,
        doctor_name: item.doctorName ?? null,
        channel: item.channel,
        recorded_at: event.at,
      });
    }
  }
  return { checkIds: [...latestByCheck.keys()], rxIds, rows };
}

/** Findings (every decision, for rule activity) and the reviewable actions (decisions to proceed). */
function decisionRows(events: KeyedEvent[]): { findings: Record<string, unknown>[]; decisions: Record<string, unknown>[] } {
  const findings: Record<string, unknown>[] = [];
  const decisions: Record<string, unknown>[] = [];
  for (const { event, patientKey } of events) {
    if (event.type !== 'decision') continue;
    const decision = event.decision;
    for (const finding of decision.findings) {
      findings.push({ event_id: event.id, finding_id: finding.findingId, rule_id: finding.ruleId, kind: finding.kind, level: finding.level, at: event.at });
    }
    if (decision.outcome !== 'proceed') continue;
    for (const action of decision.actions) {
      decisions.push({
        event_id: event.id,
        check_id: decision.checkId,
        at: event.at,
        kind: decisionKind(action.action),
        rule_id: action.ruleId,
        finding_id: action.findingId,
        level: action.level,
        line: action.line,
        item_code: action.itemCode ?? null,
        item_name: action.itemName ?? null,
        reason: action.reason ?? null,
        source: decision.source ?? null,
        patient_key: patientKey ? patientKey.toString('hex') : null,
        dept_code: decision.dept?.code ?? null,
        dept_name: decision.dept?.name ?? null,
        doctor_code: decision.doctor?.code ?? null,
        doctor_name: decision.doctor?.name ?? null,
      });
    }
  }
  return { findings, decisions };
}

function latestStatus(events: KeyedEvent[]): StatusPayload | undefined {
  let latest: StatusPayload | undefined;
  for (const { event } of events) if (event.type === 'status') latest = event.status;
  return latest;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function decisionKind(action: DecisionAction['action']): string {
  switch (action) {
    case 'continue':
      return 'override';
    case 'attest':
      return 'attestation';
    case 'selfpay':
      return 'selfpay';
    case 'remove':
      return 'remove';
  }
}

interface HistoryDbRow {
  rx_id: string;
  code: string | null;
  hosp_code: string | null;
  name: string | null;
  category: string;
  date: string;
  days: number | null;
  qty: number | null;
  amount: number | null;
  dept_code: string | null;
  dept_name: string | null;
  doctor_code: string | null;
  doctor_name: string | null;
  channel: 'insured' | 'selfpay';
  check_id: string;
  recorded_at: Date;
  pc_name: string;
}

/** Leaves absent fields out rather than sending nulls, so a row reads like the agent's own ledger row. */
function historyRow(row: HistoryDbRow): HubHistoryRow {
  const optional = {
    code: row.code,
    hospCode: row.hosp_code,
    name: row.name,
    days: row.days,
    qty: row.qty,
    amount: row.amount,
    deptCode: row.dept_code,
    deptName: row.dept_name,
    doctorCode: row.doctor_code,
    doctorName: row.doctor_name,
  };
  const present = Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== null));
  return {
    rxId: row.rx_id,
    category: row.category,
    date: row.date,
    channel: row.channel,
    checkId: row.check_id,
    recordedAt: row.recorded_at.toISOString(),
    pcName: row.pc_name,
    ...present,
  };
}

interface DecisionDbRow {
  id: string;
  at: Date;
  kind: string;
  rule_id: string;
  level: string;
  item_name: string | null;
  item_code: string | null;
  reason: string | null;
  dept_name: string | null;
  dept_code: string | null;
  doctor_name: string | null;
  doctor_code: string | null;
  pc_name: string;
  check_id: string;
  patient_ref: string | null;
  reviewed_at: Date | null;
  reviewed_by: string | null;
  review_note: string | null;
}

interface FleetDbRow {
  id: string;
  pc_name: string;
  enrolled_at: Date;
  revoked_at: Date | null;
  last_seen: Date | null;
  agent_version: string | null;
  rules_version: number | null;
  sync_result: string | null;
  sync_message: string | null;
  sync_at: Date | null;
  outbox_backlog: number | null;
  anchor_state: AnchorState;
  anchor_detail: string | null;
  anchor_seq: string | null;
}
