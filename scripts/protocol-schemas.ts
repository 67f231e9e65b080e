/**
 * Writes docs/schemas/*.schema.json from the zod schemas the agent validates with, and the
 * error-code table of docs/protocol.md from the one table in the code, so the published
 * reference is generated, not hand-kept. `--check` fails when docs are stale.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Ack, Cancel, Check, Commit, Decision, ErrorReply, StatusRequest, Verdict, DoctorChoice } from '../app/core/protocol/messages';
import { Nhsa3101, Nhsa3103, NhsaResponse } from '../app/core/protocol/nhsa';
import { StatusReply } from '../app/core/protocol/ui';
import { Rule } from '../rules-cache/model';
import { errorCodeTable } from '../app/core/protocol/error-codes';

const schemas: Record<string, { schema: z.ZodType; io: 'input' | 'output'; title: string }> = {
  check: { schema: Check, io: 'input', title: 'check (HIS → agent)' },
  verdict: { schema: Verdict, io: 'output', title: 'verdict (agent → HIS)' },
  decision: { schema: Decision, io: 'output', title: 'decision (agent → HIS)' },
  commit: { schema: Commit, io: 'input', title: 'commit (HIS → agent)' },
  cancel: { schema: Cancel, io: 'input', title: 'cancel (HIS → agent)' },
  status: { schema: StatusRequest, io: 'input', title: 'status request (HIS → agent)' },
  'status-reply': { schema: StatusReply, io: 'output', title: 'status reply (agent → HIS)' },
  ack: { schema: Ack, io: 'output', title: 'ack: the answer to commit and cancel (agent → HIS)' },
  error: { schema: ErrorReply, io: 'output', title: 'error (agent → HIS)' },
  'doctor-choice': { schema: DoctorChoice, io: 'input', title: "the doctor's choice (UI → agent)" },
  'nhsa-3101': { schema: Nhsa3101, io: 'input', title: '3101/3102 request envelope (as RxGate reads it)' },
  'nhsa-3103': { schema: Nhsa3103, io: 'input', title: '3103 feedback envelope (as RxGate reads it)' },
  'nhsa-response': { schema: NhsaResponse, io: 'output', title: 'the response envelope RxGate answers 3101/3102/3103 with' },
  rule: { schema: Rule, io: 'input', title: 'rule (JSON form)' },
};

export function renderSchemas(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, { schema, io, title }] of Object.entries(schemas)) {
    const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
    json.title = title;
    json.$id = `https://rxgate.local/schemas/${name}.schema.json`;
    files[`${name}.schema.json`] = `${JSON.stringify(json, null, 2)}\n`;
  }
  return files;
}

const PROTOCOL_DOC = join(__dirname, '..', 'docs', 'protocol.md');
const TABLE_START = '<!-- error-codes:start (generated from app/core/protocol/error-codes.ts by npm run schemas) -->';
const TABLE_END = '<!-- error-codes:end -->';

/** docs/protocol.md with its error-code table regenerated. */
export function renderProtocolDoc(current = readFileSync(PROTOCOL_DOC, 'utf8')): string {
  const start = current.indexOf(TABLE_START);
  const end = current.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error('docs/protocol.md has lost its error-code markers');
  return `${current.slice(0, start + TABLE_START.length)}\n${errorCodeTable()}\n${current.slice(end)}`;
}

if (require.main === module) {
  const directory = join(__dirname, '..', 'docs', 'schemas');
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [file, text] of Object.entries(renderSchemas())) {
    const path = join(directory, file);
    if (check) {
      if (!existsSync(path) || readFileSync(path, 'utf8') !== text) {
        console.error(`stale: docs/schemas/${file}`);
        stale += 1;
      }
    } else writeFileSync(path, text);
  }
  const protocolDoc = renderProtocolDoc();
  if (check) {
    if (readFileSync(PROTOCOL_DOC, 'utf8') !== protocolDoc) {
      console.error('stale: docs/protocol.md (error codes)');
      stale += 1;
    }
  } else writeFileSync(PROTOCOL_DOC, protocolDoc);
  if (stale) process.exit(1);
}
