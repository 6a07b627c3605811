#!/usr/bin/env node
// A trivial upstream for ringcast's route forwarding (bench/backends.sh):
// Node's own `http` module, keep-alive, no npm dependencies. Every POST is
// answered 200 with
//
//   {"type":"response","message":"ok","interview_id":"..."}
//
// where interview_id is copied from the request when it has one: ringcast
// forwards {connection_id, identity, request_id, route, endpoint, message},
// so it is looked for in `message` first, then at the top level. Anything
// else (GET, ...) gets 405. Counts go to stderr on SIGINT/SIGTERM.
//
//   node bench/peers/upstream.js PORT [HOST]      (PORT 0 picks a free one)
//
// Prints "listening on HOST:PORT" on stderr once it accepts.
'use strict';

const http = require('http');

const port = Number(process.argv[2] ?? 7070);
const host = process.argv[3] ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`upstream.js: bad port ${process.argv[2]}; usage: node upstream.js PORT [HOST]`);
  process.exit(2);
}

const MAX_BODY = 1 << 20;
let answered = 0, refused = 0, badJson = 0;

function interviewId(text) {
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    ++badJson;
    return undefined;
  }
  if (v && typeof v === 'object') {
    if (v.message && typeof v.message === 'object' && typeof v.message.interview_id === 'string')
      return v.message.interview_id;
    if (typeof v.interview_id === 'string') return v.interview_id;
  }
  return undefined;
}

const server = http.createServer({ keepAlive: true }, (req, res) => {
  if (req.method !== 'POST') {
    ++refused;
    res.writeHead(405, { 'Content-Type': 'application/json', Allow: 'POST' });
    res.end('{"error":"POST only"}');
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) {
      ++refused;
      res.writeHead(413, { 'Content-Type': 'application/json', Connection: 'close' });
      res.end('{"error":"body too large"}');
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => {
    if (size > MAX_BODY) return;
    const answer = { type: 'response', message: 'ok' };
    const id = interviewId(Buffer.concat(chunks).toString('utf8'));
    if (id !== undefined) answer.interview_id = id;
    const body = JSON.stringify(answer);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    ++answered;
  });
});
// Keep idle connections longer than ringcast's pool keeps them (30 s), so
// the pool is the one that closes.
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;
server.maxRequestsPerSocket = 0;
server.listen({ host, port, backlog: 4096 }, () => {
  const a = server.address();
  console.error(`listening on ${a.address}:${a.port}`);
});

function stop() {
  console.error(`upstream.js: answered ${answered}, refused ${refused}, bodies that were not JSON ${badJson}`);
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
