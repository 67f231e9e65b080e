'use strict';
// The agent as the benchmark's separate process: started from the compiled dist/ as the
// product runs it, reporting when it is ready (listening, rules loaded) over the IPC channel.
const { performance } = require('node:perf_hooks');
const { join } = require('node:path');

const [distDir, dataDir, token, server, publicKeyPem] = process.argv.slice(2);
const { Agent } = require(join(distDir, 'app', 'core', 'agent.js'));
const { wireSync } = require(join(distDir, 'app', 'core', 'sync-wiring.js'));

Agent.start({ dataDir, port: 0, token, log: () => undefined }).then((agent) => {
  // Polling is left to the benchmark, which asks for a sync through the HTTP endpoint.
  if (server) wireSync(agent, { servers: [server], publicKeys: [publicKeyPem], intervalMinutes: 24 * 60 });
  // performance.now() counts from this process's start, so this is the cold start it paid.
  process.send({ port: agent.port, uiToken: agent.uiToken, readyMs: performance.now(), rss: process.memoryUsage().rss });
  process.on('message', (message) => {
    if (message === 'rss') process.send({ rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed });
    if (message === 'stop') agent.stop().then(() => process.exit(0));
  });
}, (error) => {
  console.error(error);
  process.exit(1);
});
