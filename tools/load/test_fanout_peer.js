// A stand-in for ringcast's envelope endpoint, to test `ringcast-load
// fanout` (and echo) against another WebSocket implementation (node `ws`).
// Not part of any build. Usage:
//   cd /tmp/wspeer && npm install ws
//   NODE_PATH=/tmp/wspeer/node_modules node tools/load/test_fanout_peer.js [port]
// Prints "listening on 127.0.0.1:PORT" on stderr. Paths: /api/v1/ws speaks
// the fanout protocol; /echo echoes every message (same opcode), fragmenting
// big ones and pinging now and then, to exercise the client's reader.
// Faults for testing the checker, by environment variable:
//   DROP_EVERY=N     drop every Nth delivery        -> gaps / lost
//   SWAP_EVERY=N     swap every Nth delivery with the next -> reorders
//   ERROR_EVERY=N    answer every Nth publish with an error
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 0);
const dropEvery = Number(process.env.DROP_EVERY || 0);
const swapEvery = Number(process.env.SWAP_EVERY || 0);
const errorEvery = Number(process.env.ERROR_EVERY || 0);

const channels = new Map();  // name -> Set of sockets
let deliveries = 0;
let publishes = 0;
const held = new Map();      // socket -> a delivery held back (SWAP_EVERY)

function deliver(ws, text) {
  deliveries++;
  if (dropEvery && deliveries % dropEvery === 0) return;
  if (swapEvery && deliveries % swapEvery === 0 && !held.has(ws)) {
    held.set(ws, text);
    return;
  }
  ws.send(text);
  const h = held.get(ws);
  if (h !== undefined) {
    held.delete(ws);
    ws.send(h);
  }
}

const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
wss.on('listening', () => console.error(`listening on 127.0.0.1:${wss.address().port}`));
wss.on('connection', (ws, req) => {
  if (req.url === '/echo') {
    let n = 0;
    ws.on('message', (data, isBinary) => {
      // Every 50th echo of a larger message goes out in fragments.
      if (++n % 50 === 0 && data.length > 4) {
        const half = Math.floor(data.length / 2);
        ws.send(data.subarray(0, half), { binary: isBinary, fin: false });
        ws.send(data.subarray(half), { binary: isBinary, fin: true });
      } else {
        ws.send(data, { binary: isBinary });
      }
      if (n % 100 === 0) ws.ping('p' + n);
    });
    return;
  }
  const mine = new Set();
  ws.send(JSON.stringify({ type: 'connected', data: { connection_id: 'x' }, timestamp: new Date().toISOString() }));
  ws.on('message', (data) => {
    let m;
    try { m = JSON.parse(data.toString()); } catch { return ws.send('{"type":"error","data":{"code":"BAD_JSON"}}'); }
    if (m.type === 'subscribe') {
      for (const ch of m.data.channels) {
        if (!channels.has(ch)) channels.set(ch, new Set());
        channels.get(ch).add(ws);
        mine.add(ch);
      }
      ws.send(JSON.stringify({ type: 'subscribed', data: { channels: m.data.channels }, request_id: m.request_id }));
    } else if (m.type === 'publish') {
      publishes++;
      if (errorEvery && publishes % errorEvery === 0) {
        return ws.send(JSON.stringify({ type: 'error', data: { code: 'RATE_LIMITED', message: 'slow down' }, request_id: m.request_id }));
      }
      const ch = m.data.channel;
      // Keys in another order than the tool sends them, on purpose.
      const out = JSON.stringify({ channel: ch, type: m.data.type, timestamp: new Date().toISOString(), data: m.data.data });
      for (const s of channels.get(ch) || []) deliver(s, out);
      ws.send(JSON.stringify({ type: 'published', data: { channel: ch }, request_id: m.request_id }));
    }
  });
  ws.on('close', () => { for (const ch of mine) channels.get(ch)?.delete(ws); held.delete(ws); });
});
