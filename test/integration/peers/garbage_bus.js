// garbage_bus.js: a fake EXP server whose socket events are malformed on
// purpose, for the channel layer's tests.  Anyone logs in (organization
// "scala"); on every "subscribe" it answers with broken "subscribed" events
// first, then the proper one, and then, for a channel named "garbage", sends
// broken broadcasts followed by two good ones ({"good":1}, then one without
// payload).  The first "subscribe" naming a channel called "deaf-once" gets
// no acknowledgement for it, as if the server had lost it.  For a channel
// named "odd" it writes raw Socket.IO frames, past socket.io's encoder:
// payloads nested 999 (fine), 1001 and 5000 deep, one that holds together
// but is no JSON, then a good one ({"good":1}).  For a channel named
// "empty-name" it broadcasts one event named "" and then one named "e";
// for "long-id", one whose id is 3001 bytes long and then one more.
// Usage: node garbage_bus.js; prints "listening <origin>".
'use strict';

const http = require('http');
const { Server } = require('socket.io');

let origin = '';
const ignored = new Set(); // "deaf-once" ids whose first subscribe was lost

function channelName(id) {
  try {
    return JSON.parse(Buffer.from(String(id), 'base64').toString())[1];
  } catch (e) {
    return undefined;
  }
}

function auth() {
  return {
    token: 'garbage-token',
    expiration: Date.now() + 3600 * 1000,
    restrictedToken: 'garbage-restricted',
    api: { host: origin },
    network: { host: origin },
    identity: { type: 'user', organization: 'scala', uuid: 'user', username: 'u' },
  };
}

// GET /api/tiny-objects: 30 MiB of {} in an array, what costs cJSON most.
function tinyObjects(res) {
  const n = Math.floor((30 * 1024 * 1024 - 2) / 3);
  const chunk = Buffer.from('{},'.repeat(65536));
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 2 + 3 * n - 1 });
  res.write('[');
  let left = n;
  const more = () => {
    while (left > 65536) {
      left -= 65536;
      if (!res.write(chunk)) return res.once('drain', more);
    }
    res.end('{},'.repeat(left - 1) + '{}]');
    return undefined;
  };
  more();
}

const server = http.createServer((req, res) => {
  req.resume();
  if (req.url === '/api/tiny-objects') return tinyObjects(res);
  req.on('end', () => {
    const ok = req.url === '/api/auth/login' || req.url === '/api/auth/token';
    const body = JSON.stringify(ok ? auth() : { code: 'not.found', message: 'No such route.' });
    res.writeHead(ok ? 200 : 404, { 'Content-Type': 'application/json' });
    res.end(body);
  });
});

const io = new Server(server, { allowEIO3: true, transports: ['websocket'] });
io.on('connection', (socket) => {
  socket.on('subscribe', (ids) => {
    if (Array.isArray(ids)) {
      ids = ids.filter((id) => {
        if (channelName(id) !== 'deaf-once' || ignored.has(id)) return true;
        ignored.add(id);
        return false;
      });
    }
    socket.emit('subscribed', 'not an array');
    socket.emit('subscribed', { ids });
    socket.emit('subscribed');
    socket.emit('subscribed', [1, null, {}, ['x'], 'unknown-id']);
    socket.emit('subscribed', [42].concat(ids));
    socket.emit('channels', ids);
    socket.emit('unheard-of', 1, 2, 3);
    if (!Array.isArray(ids)) return;
    for (const id of ids) {
      const name = JSON.parse(Buffer.from(String(id), 'base64').toString())[1];
      if (name === 'odd') {
        const raw = (bid, payload) => socket.conn.write('2' +
          `["broadcast",{"id":"${bid}","name":"e","channel":${JSON.stringify(id)},"payload":${payload}}]`);
        const deep = (d) => '['.repeat(d) + ']'.repeat(d);
        raw('d999', deep(999));
        raw('d1001', deep(1001));
        raw('d5000', deep(5000));
        raw('bad', '{"a":tru,"b":[}]');
        raw('g1', '{"good":1}');
        continue;
      }
      if (name === 'long-id') {
        socket.emit('broadcast', { id: 'L'.repeat(3001), name: 'e', channel: id, payload: 1 });
        socket.emit('broadcast', { id: 'after', name: 'e', channel: id, payload: 2 });
        continue;
      }
      if (name === 'empty-name') {
        socket.emit('broadcast', { id: 'n1', name: '', channel: id, payload: 1 });
        socket.emit('broadcast', { id: 'n2', name: 'e', channel: id, payload: 2 });
        continue;
      }
      if (name !== 'garbage') continue;
      socket.emit('broadcast');
      socket.emit('broadcast', 'a string');
      socket.emit('broadcast', 42);
      socket.emit('broadcast', [id, 'e']);
      socket.emit('broadcast', {});
      socket.emit('broadcast', { id: 7, name: 'e', channel: id, payload: 1 });
      socket.emit('broadcast', { id: 'x', name: 7, channel: id, payload: 1 });
      socket.emit('broadcast', { id: 'x', name: 'e', channel: { id }, payload: 1 });
      socket.emit('broadcast', { id: 'x', name: 'e', channel: 'other', payload: 1 });
      socket.emit('broadcast', { id: 'x', name: 'other', channel: id, payload: 1 });
      socket.emit('broadcast', { id: 'g1', name: 'e', channel: id, payload: { good: 1 }, extra: [1] });
      socket.emit('broadcast', { id: 'g2', name: 'e', channel: id });
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  origin = `http://127.0.0.1:${server.address().port}`;
  process.stdout.write(`listening ${origin}\n`);
});
process.on('SIGTERM', () => { io.close(); server.close(); process.exit(0); });
