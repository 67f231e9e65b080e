'use strict';
// The latency client of `npm run bench`, in a process of its own with a small heap. Run from the
// bench's process, which holds two 100,000-rule libraries, its own collections landed inside the
// timed round trips, and parsing each verdict there made more of them: the agent's blocks caught
// more of both than the floor's. Same frames to every target (the agent and the floor, or the
// steps of the ladder), in alternating blocks.
const { readFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');
const { WebSocket } = require('ws');

const ELAPSED = Buffer.from('"elapsedMs":');

/** The verdict's `elapsedMs`, read from the reply's bytes without parsing the whole reply. */
function insideOf(reply) {
  const at = reply.lastIndexOf(ELAPSED);
  if (at < 0) throw new Error(`a reply without elapsedMs: ${reply.subarray(0, 200).toString()}`);
  const start = at + ELAPSED.length;
  let end = start;
  while (end < reply.length && reply[end] !== 0x2c && reply[end] !== 0x7d) end += 1;
  return Number(reply.subarray(start, end).toString());
}

function connect(url) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends one frame and resolves with the milliseconds until the reply, and the reply. */
function exchange(socket, frame) {
  return new Promise((resolve) => {
    const begin = performance.now();
    socket.once('message', (data) => resolve({ ms: performance.now() - begin, reply: data }));
    socket.send(frame);
  });
}

/**
 * Drives each target in turn, a block of checks at a time, with the same frames: `targets` are
 * `{ name, url, inside }`, where `inside` reads the verdict's own elapsedMs from each reply.
 */
process.once('message', async ({ targets, framesFile, checks, block, warmup }) => {
  try {
    const frames = JSON.parse(readFileSync(framesFile, 'utf8'));
    const sockets = await Promise.all(targets.map((target) => connect(target.url)));
    for (let index = 0; index < warmup; index += 1) {
      for (const socket of sockets) await exchange(socket, frames[index % frames.length]);
    }
    const samples = Object.fromEntries(targets.map((target) => [target.name, []]));
    const inside = Object.fromEntries(targets.filter((target) => target.inside).map((target) => [target.name, []]));
    for (let done = 0; done < checks; done += block) {
      for (const [which, target] of targets.entries()) {
        for (let index = done; index < Math.min(checks, done + block); index += 1) {
          const { ms, reply } = await exchange(sockets[which], frames[index % frames.length]);
          samples[target.name].push(ms);
          if (target.inside) inside[target.name].push(insideOf(reply));
        }
      }
    }
    for (const socket of sockets) socket.close();
    process.send({ samples, inside }, () => process.exit(0));
  } catch (error) {
    process.send({ error: String(error && error.stack ? error.stack : error) }, () => process.exit(1));
  }
});
