/**
 * Test support for the hub: hub processes started through the real command line, and event
 * builders shaped like what the agent's outbox sends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { HubEvent } from '../app/core/protocol/hub';
import { example } from './support';

const root = join(__dirname, '..');

export interface HubProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Runs `rxgate hub` as its own process on a free loopback port; resolves when it listens. */
export function startHubProcess(databaseUrl: string, keyFile: string, extra: string[] = []): Promise<HubProcess> {
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'rxgate.js'), 'hub', '--port', '0', '--key-file', keyFile, ...extra],
    // The connection string goes through the environment, as docs/hub.md recommends.
    { env: { ...process.env, RXGATE_HUB_DATABASE: databaseUrl }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /院端中心已启动: (\S+)/.exec(output);
      if (match) {
        child.stdout!.off('data', onData);
        child.stdout!.on('data', (more: Buffer) => (output += more.toString()));
        resolve({
          url: match[1]!,
          child,
          output: () => output,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`hub exited with ${code} before listening:\n${output}`)));
  });
}

let counter = 0;

/** A unique event id, as the outbox would make one. */
export function eventId(prefix = 'e'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

export function orderEvent(
  seq: number,
  options: { checkId: string; patientId: string; date: string; code: string; name: string; dept: [string, string]; doctor: [string, string]; days?: number; id?: string },
): HubEvent {
  return {
    id: options.id ?? eventId('order'),
    seq,
    at: new Date().toISOString(),
    type: 'order',
    order: {
      checkId: options.checkId,
      patientId: options.patientId,
      visitId: `v-${options.checkId}`,
      items: [
        {
          rxId: `${options.checkId}#1`,
          code: options.code,
          name: options.name,
          category: 'drug',
          date: options.date,
          days: options.days ?? 7,
          qty: 1,
          deptCode: options.dept[0],
          deptName: options.dept[1],
          doctorCode: options.doctor[0],
          doctorName: options.doctor[1],
          channel: 'insured',
        },
      ],
    },
  };
}

export function decisionEvent(
  seq: number,
  options: {
    checkId: string;
    patientId: string;
    ruleId: string;
    action?: 'continue' | 'attest' | 'selfpay';
    reason?: string;
    dept: [string, string];
    doctor: [string, string];
    itemName?: string;
    at?: string;
  },
): HubEvent {
  return {
    id: eventId('decision'),
    seq,
    at: options.at ?? new Date().toISOString(),
    type: 'decision',
    decision: {
      checkId: options.checkId,
      patientId: options.patientId,
      outcome: 'proceed',
      source: 'popup',
      dept: { code: options.dept[0], name: options.dept[1] },
      doctor: { code: options.doctor[0], name: options.doctor[1] },
      findings: [{ findingId: 'f1', ruleId: options.ruleId, kind: 'repeat', level: 'warn' }],
      actions: [
        {
          findingId: 'f1',
          ruleId: options.ruleId,
          level: 'warn',
          line: '1',
          itemName: options.itemName ?? '氨氯地平片',
          action: options.action ?? 'continue',
          reason: options.reason,
        },
      ],
    },
  };
}

export function statusEvent(seq: number, pcName: string, agentVersion: string, rulesVersion: number, ruleIds?: string[]): HubEvent {
  return {
    id: eventId('status'),
    seq,
    at: new Date().toISOString(),
    type: 'status',
    status: {
      pcName,
      agentVersion,
      rulesVersion,
      lastSync: { result: 'updated', at: new Date().toISOString() },
      outboxBacklog: 0,
      ruleIds,
    },
  };
}

export function headEvent(seq: number, head: { seq: number; hash: string; previous?: { seq: number; hash: string } }): HubEvent {
  return { id: eventId('head'), seq, at: new Date().toISOString(), type: 'audit-head', head };
}

/** A native check of `patientId` on 11-28 in 心内科 by 王医生, with no history from the HIS. */
export function repeatCheck(id: string, patientId: string): Record<string, unknown> {
  const message = example('check-repeat.json');
  return {
    ...message,
    id,
    ui: 'none',
    patient: { ...(message.patient as object), id: patientId },
    visit: { ...(message.visit as object), id: `V-${id}`, date: '2026-11-28', dept: { code: '0402', name: '心内科' }, doctor: { code: 'D019', name: '王医生' } },
    items: (message.items as Array<Record<string, unknown>>).map((item) => ({ ...item, days: 7 })),
    history: [],
  };
}

/** A national 3101 request: amlodipine for `patientId`, 7 days from 11-28, 心内科 王医生. */
export function request3101(msgid: string, patientId: string): Record<string, unknown> {
  const message = example('request-3101.json');
  const data = (message.input as { data: Record<string, unknown> }).data;
  const [patient] = data.patient_dtos as Array<Record<string, unknown>>;
  const [encounter] = patient!.fsi_encounter_dtos as Array<Record<string, unknown>>;
  const [order] = encounter!.fsi_order_dtos as Array<Record<string, unknown>>;
  const amlodipine = {
    ...order,
    hilist_code: 'XC08CAA053A001010100001',
    hilist_name: '氨氯地平片',
    hosplist_name: '氨氯地平片',
    cnt: 1,
    pric: 30.2,
    sumamt: 30.2,
    drord_begn_date: '2026-11-28 09:10:00',
    drord_stop_date: '2026-12-05 09:10:00',
    drord_dept_codg: '0402',
    drord_dept_name: '心内科',
    drord_dr_codg: 'D019',
    drord_dr_name: '王医生',
  };
  const visit = {
    ...encounter,
    adm_date: '2026-11-28 09:00:00',
    adm_dept_codg: '0402',
    adm_dept_name: '心内科',
    dr_codg: 'D019',
    dscg_main_dise_codg: 'I10.x00',
    dscg_main_dise_name: '原发性高血压',
    fsi_diagnose_dtos: [{ dise_id: '1', inout_dise_type: '1', maindise_flag: '1', dias_srt_no: '1', dise_codg: 'I10.x00', dise_name: '原发性高血压', dise_date: '2026-11-28 09:05:00' }],
    fsi_order_dtos: [amlodipine],
  };
  return { ...message, msgid, input: { data: { ...data, task_id: `t-${msgid}`, patient_dtos: [{ ...patient, patn_id: patientId, fsi_encounter_dtos: [visit] }] } } };
}
