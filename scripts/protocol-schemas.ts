/**
 * Writes docs/schemas/*.schema.json from the zod schemas the agent validates with, so the
 * published reference is generated, not hand-kept. `--check` fails when docs are stale.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Ack, Cancel, Check, Commit, Decision, ErrorReply, StatusRequest, Verdict, DoctorChoice } from '../app/core/protocol/messages';
import { Nhsa3101, Nhsa3103, NhsaResponse } from '../app/core/protocol/nhsa';
import { StatusReply } from '../app/core/protocol/ui';
import { Rule } from '../rules-cache/model';

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
  if (stale) process.exit(1);
}
