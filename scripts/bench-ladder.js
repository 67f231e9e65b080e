'use strict';
// The ladder of `npm run bench`: where the agent's time over the floor goes. One process that
// holds the same compiled 100,000-rule index as the agent and answers each frame with only part
// of the agent's work, chosen by the URL's path; each step adds one part to the one before:
//
//   /parse     the floor's own code (parse the frame, answer a small reply), in this process
//   /validate  + the agent's validation of the check (the protocol's schema)
//   /engine    + the engine: the rules and the check's own history (a small reply still)
//   /verdict   + the verdict itself as the reply, as the agent sends it
//   /ledger    + this PC's ledger for the patient, read and merged as the agent does
//
// What the agent does beyond the last step (held checks for commit and the popup, the audit
// trail, counters, the connection's checks) is the agent's row against the last.
// Started from the compiled dist/, like the agent, on the agent's database once it has stopped.
const { join } = require('node:path');
const { WebSocketServer } = require('ws');

const [distDir, databaseFile] = process.argv.slice(2);
const { openStore } = require(join(distDir, 'rules-cache', 'store.js'));
const { compileRules } = require(join(distDir, 'rules-cache', 'compile.js'));
const { parseCheck } = require(join(distDir, 'app', 'core', 'protocol', 'messages.js'));
const { evaluate, mergeHistory } = require(join(distDir, 'app', 'core', 'engine', 'index.js'));
const { historySince } = require(join(distDir, 'app', 'core', 'check-service.js'));

/** The steps in order, each with what the bench prints for it. */
const STEPS = [
  { step: 'parse', label: 'parse + small answer, in a process holding the rules' },
  { step: 'validate', label: '+ validation of the check' },
  { step: 'engine', label: "+ the engine (rules, the check's history)" },
  { step: 'verdict', label: '+ the verdict as the reply' },
  { step: 'ledger', label: '+ the ledger read and merged' },
];

const store = openStore(databaseFile);
const active = store.activeLibrary();
if (!active) throw new Error(`no active rule library in ${databaseFile}`);
const compiled = compileRules(active.library);

function small(id, result) {
  return JSON.stringify({ type: 'verdict', id, result, findings: [] });
}

/** One frame answered with the work up to `step`. */
function answer(step, data) {
  const message = JSON.parse(data.toString('utf8'));
  if (step === 'parse') return small(message.id, 'pass');
  const parsed = parseCheck(message);
  if (!parsed.success) throw new Error(`a bench frame failed validation: ${parsed.error.message}`);
  const check = parsed.data;
  if (step === 'validate') return small(check.id, 'pass');
  const ledger = step === 'ledger' ? store.priorItems(check.patient.id, historySince(check.visit.date)) : [];
  const verdict = evaluate(compiled, check, mergeHistory(check.history, ledger));
  return step === 'engine' ? small(check.id, verdict.result) : JSON.stringify(verdict);
}

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024 }, () => {
  process.send({ port: server.address().port, steps: STEPS });
});
server.on('connection', (socket, request) => {
  const step = (request.url ?? '').slice(1);
  if (!STEPS.some((known) => known.step === step)) {
    socket.close(1008, `unknown step ${step}`);
    return;
  }
  socket.on('message', (data) => {
    try {
      socket.send(answer(step, data));
    } catch (error) {
      // The bench stops on the first failure rather than timing a step that did not do its work.
      console.error(error);
      process.exit(1);
    }
  });
});
process.on('message', (message) => {
  if (message === 'stop') {
    store.close();
    server.close(() => process.exit(0));
  }
});
