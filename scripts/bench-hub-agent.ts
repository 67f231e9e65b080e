/**
 * An agent as its own process for scripts/bench-hub-check.ts: started with or without the hub,
 * reporting its port over the IPC channel once it listens, stopped by the message 'stop'.
 *
 *   node --import tsx scripts/bench-hub-agent.ts DATA_DIR TOKEN [HUB_URL CREDENTIAL]
 */
import { Agent } from '../app/core/agent';

const [dataDir, token, hubUrl, credential] = process.argv.slice(2);
if (!dataDir || !token || !process.send) {
  console.error('usage: (forked) bench-hub-agent.ts DATA_DIR TOKEN [HUB_URL CREDENTIAL]');
  process.exit(2);
}

Agent.start({
  dataDir,
  port: 0,
  token,
  // The default budget, as a ward PC runs it.
  hub: hubUrl && credential ? { url: hubUrl, credential } : undefined,
  log: () => undefined,
}).then(
  (agent) => {
    process.send!({ port: agent.port });
    process.on('message', (message) => {
      if (message === 'stop') void agent.stop().then(() => process.exit(0));
    });
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
