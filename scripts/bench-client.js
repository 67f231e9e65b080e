'use strict';
// The latency client of `npm run bench`, in a process of its own with a small heap. Run from the
// bench's process, which holds two 100,000-rule libraries, its own collections landed inside the
// timed round trips, and parsing each verdict there made more of them: the agent's blocks caught
// more of both than the floor's. Same frames to the agent and the floor, in alternating blocks.
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

process.once('message', async ({ agentUrl, floorUrl, framesFile, checks, block, warmup }) => {
  try {
    const frames = JSON.parse(readFileSync(framesFile, 'utf8'));
    const [agent, floor] = await Promise.all([connect(agentUrl), connect(floorUrl)]);
    for (let index = 0; index < warmup; index += 1) {
      await exchange(agent, frames[index % frames.length]);
      await exchange(floor, frames[index % frames.length]);
    }
    const agentMs = [];
    const floorMs = [];
    const insideMs = [];
    for (let done = 0; done < checks; done += block) {
      for (let index = done; index < Math.min(checks, done + block); index += 1) {
        const { ms, reply } = await exchange(agent, frames[index % frames.length]);
        agentMs.push(ms);
        insideMs.push(insideOf(reply));
      }
      for (let index = done; index < Math.min(checks, done + block); index += 1) {
        floorMs.push((await exchange(floor, frames[index % frames.length])).ms);
      }
    }
    agent.close();
    floor.close();
    process.send({ agentMs, floorMs, insideMs }, () => process.exit(0));
  } catch (error) {
    process.send({ error: String(error && error.stack ? error.stack : error) }, () => process.exit(1));
  }
});
