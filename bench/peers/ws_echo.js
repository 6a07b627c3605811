#!/usr/bin/env node
// Echo server on the `ws` package, the usual Node.js WebSocket server: the
// peer bench/side_by_side.sh compares ringcast with. Every message comes back
// whole with its opcode (text stays text, binary stays binary), as ringcast's
// /echo does. Any path is accepted.
//
//   node bench/peers/ws_echo.js PORT [HOST]      (PORT 0 picks a free one)
//
// Prints "listening on HOST:PORT" on stderr once it accepts. Defaults of `ws`
// otherwise: no permessage-deflate (ringcast offers none either), and the
// optional native helpers (bufferutil, utf-8-validate) are not installed, as
// with a plain `npm install ws`; ws then masks in JS and validates UTF-8
// with Node's buffer.isUtf8.
'use strict';

const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] ?? 8080);
const host = process.argv[3] ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`ws_echo.js: bad port ${process.argv[2]}; usage: node ws_echo.js PORT [HOST]`);
  process.exit(2);
}

const wss = new WebSocketServer({ host, port, perMessageDeflate: false, backlog: 4096 });

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});

wss.on('listening', () => {
  const a = wss.address();
  console.error(`listening on ${a.address}:${a.port}`);
});

wss.on('error', (err) => {
  console.error(`ws_echo.js: ${err.message}`);
  process.exit(1);
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
