/**
 * Test support for the hub: hub processes started through the real command line, and event
 * builders shaped like what the agent's outbox sends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { HubEvent } from '../app/core/protocol/hub';

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
