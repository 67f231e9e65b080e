'use strict';
// The transport floor for `npm run bench`: a bare WebSocket server in its own process, with the
// same ws library as the agent, that only parses each frame and answers a small reply. What
// the agent adds on top of this is what the agent costs.
const { WebSocketServer } = require('ws');

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024 }, () => {
  process.send({ port: server.address().port });
});
server.on('connection', (socket) => {
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString('utf8'));
    socket.send(JSON.stringify({ type: 'verdict', id: message.id, result: 'pass', findings: [] }));
  });
});
process.on('message', (message) => {
  if (message === 'rss') process.send({ rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed });
  if (message === 'stop') server.close(() => process.exit(0));
});
