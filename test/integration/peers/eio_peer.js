// eio_peer.js: a fake EXP server for the network tests.  It logs anyone in
// and speaks Engine.IO 3/4 + Socket.IO by hand on a websocket, misbehaving
// on purpose: the login's username names a case ("<kind>#<anything>"), the
// case travels in the token, and the first socket of a case (every socket
// for the version kinds) gets the misbehaviour of its kind; later sockets of
// that case are served properly, so the client's recovery shows.  Usage: node eio_peer.js
// Prints "listening <origin>" like test/server/main.js (its arguments are
// ignored; SIGTERM ends it).
'use strict';

const http = require('http');
const { WebSocketServer } = require('ws');

const TOKEN_PREFIX = 'peer-secret-token.';
let origin = '';
const seen = new Map(); // case -> sockets so far

function auth(name) {
  return {
    token: TOKEN_PREFIX + name,
    expiration: Date.now() + 3600 * 1000,
    restrictedToken: 'peer-restricted',
    api: { host: origin },
    network: { host: origin },
    identity: { type: 'user', organization: 'scala', uuid: 'user', username: name },
  };
}

function json(res, status, obj) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

function handle(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/api/auth/login') {
      let body = {};
      try { body = JSON.parse(Buffer.concat(chunks).toString()); } catch (e) { /* empty */ }
      return json(res, 200, auth(String(body.username || 'good')));
    }
    if (req.url === '/api/auth/token') {
      const bearer = String(req.headers.authorization || '');
      return json(res, 200, auth(bearer.slice(bearer.indexOf(TOKEN_PREFIX) + TOKEN_PREFIX.length)));
    }
    return json(res, 404, { code: 'not.found', message: 'No such route.' });
  });
}

// An unmasked server frame: opcode with FIN (and rsv bits), payload.
function frame(first, payload) {
  const p = Buffer.from(payload);
  let head;
  if (p.length < 126) {
    head = Buffer.from([first, p.length]);
  } else {
    head = Buffer.alloc(4);
    head[0] = first;
    head[1] = 126;
    head.writeUInt16BE(p.length, 2);
  }
  return Buffer.concat([head, p]);
}

function openPacket(id, interval, timeout, v3) {
  const o = { sid: `sid-${id}`, upgrades: [], pingInterval: interval, pingTimeout: timeout };
  if (!v3) o.maxPayload = 1000000;
  return '0' + JSON.stringify(o);
}

// Writes bytes one at a time, each in its own TCP segment.
function trickle(sock, bytes, done) {
  let i = 0;
  const next = () => {
    if (i >= bytes.length || sock.destroyed) return done && done();
    sock.write(bytes.subarray(i, i + 1));
    i++;
    setTimeout(next, 1);
  };
  next();
}

// A proper session, with hooks for the cases that break it on purpose.
function serve(ws, sock, v3, c, first) {
  const kind = c.replace(/#.*$/, '');
  // pause: quick pings, and the first socket's events echoed 300 ms late,
  // into the client's pause.
  const fast = kind === 'fast-ping' || kind === 'pause';
  const silent = kind === 'silent' && first;
  const interval = fast || silent ? 150 : 25000;
  const timeout = fast || silent ? 150 : 20000;
  let pinger = null;
  let holed = false; // blackhole: neither reads nor writes any more
  const send = (s) => !holed && ws.readyState === ws.OPEN && ws.send(s);
  const connected = () => {
    if (v3) send('40');
    else send(`40{"sid":"nsp-${Date.now()}"}`);
    if (!first) return;
    switch (kind) {
      case 'bad-utf8': sock.write(frame(0x81, Buffer.from([0x34, 0x32, 0xff, 0xfe]))); break;
      case 'rsv': sock.write(frame(0xc1, '42["x"]')); break;
      case 'binary': sock.write(frame(0x82, Buffer.from([1, 2, 3]))); break;
      case 'bad-opcode': sock.write(frame(0x83, 'x')); break;
      case 'huge-length':
        sock.write(Buffer.from([0x81, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
        break;
      case 'eio-unknown': send('9hello'); break;
      case 'bad-json': send('42["broadcast",{'); break;
      case 'no-name': send('42[1,2]'); break;
      case 'sio-binary': send('451-["x",{"_placeholder":true,"num":0}]'); break;
      case 'close-frame': ws.close(1001, 'going away'); break;
      case 'eio-close': send('1'); break;
      case 'sio-disconnect': send('41'); break;
      case 'drop': setTimeout(() => sock.destroy(), 50); break;
      case 'blackhole':
        // The TCP connection stays open, nothing moves on it: not even the
        // answers to the client's websocket pings.
        setTimeout(() => { holed = true; sock.pause(); clearInterval(pinger); }, 100);
        break;
      case 'deaf': {
        // Stops reading and floods pings: the pongs pile up on the client.
        const ping = frame(0x89, 'p'.repeat(125));
        const burst = Buffer.concat(Array(1000).fill(ping));
        sock.pause();
        for (let i = 0; i < 240; i++) sock.write(burst);
        setTimeout(() => sock.destroy(), 8000);
        break;
      }
      default: break;
    }
  };
  ws.on('message', (data, isBinary) => {
    const s = isBinary ? '' : data.toString();
    if (s === '40' && !v3) {
      if (kind === 'connect-error' && first) send('44{"message":"Invalid token."}');
      else connected();
    } else if (s === '2' && v3) {
      if (!silent) send('3');
    } else if (s.startsWith('42')) {
      let ev;
      try { ev = JSON.parse(s.slice(2)); } catch (e) { return ws.close(1003); }
      if (ev[0] === 'subscribe') send('42' + JSON.stringify(['subscribed', ev[1]]));
      else if (kind === 'pause' && first) setTimeout(() => send('42' + JSON.stringify(ev)), 300);
      else send('42' + JSON.stringify(ev));
    }
  });
  ws.on('close', () => clearInterval(pinger));
  const open = openPacket(seen.get(c), interval, timeout, v3);
  // Engine.IO 3 servers connect the default namespace unasked.
  const afterOpen = () => {
    if (!v3) return;
    if (kind === 'connect-error' && first) send('44"Invalid token."');
    else connected();
  };
  if (kind === 'split' && first) {
    // Byte by byte: every read holds a piece of a frame.
    trickle(sock, frame(0x81, open), afterOpen);
  } else if (kind === 'fragmented' && first) {
    // In two fragments with a ping between them.
    const half = Math.floor(open.length / 2);
    sock.write(Buffer.concat([frame(0x01, open.slice(0, half)), frame(0x89, 'ping'),
      frame(0x80, open.slice(half))]));
    afterOpen();
  } else {
    send(open);
    afterOpen();
  }
  if (!v3 && !silent) pinger = setInterval(() => send('2'), interval);
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const server = http.createServer(handle);

server.on('upgrade', (req, sock, head) => {
  const url = new URL(req.url, origin);
  const token = url.searchParams.get('token') || '';
  const c = token.startsWith(TOKEN_PREFIX) ? token.slice(TOKEN_PREFIX.length) : 'good';
  const kind = c.replace(/#.*$/, '');
  const eio = url.searchParams.get('EIO');
  const n = (seen.get(c) || 0) + 1;
  const first = n === 1;
  seen.set(c, n);
  const refuse = (status, text) => {
    sock.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Type: text/html\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  };
  if (url.pathname !== '/socket.io/' || url.searchParams.get('transport') !== 'websocket') {
    return refuse(404, 'no such path');
  }
  if (kind === 'v3-only' && eio === '4') return refuse(400, 'Unsupported protocol version');
  if (kind === 'v4-only' && eio === '3') return refuse(400, 'Unsupported protocol version');
  if (kind === 'refuse-all') return refuse(400, 'Unsupported protocol version');
  if (first) {
    switch (kind) {
      case 'forbidden': return refuse(403, 'Forbidden');
      case 'garbage-http': return sock.end('NOT HTTP AT ALL\r\n\r\n');
      case 'hang': return undefined; // never answers
      case 'eof-handshake': return sock.end('HTTP/1.1 101 Switching');
      default: break;
    }
  }
  wss.handleUpgrade(req, sock, head, (ws) => {
    // Socket.IO 2 answers an Engine.IO 4 client as Engine.IO 3 would.
    const sio2 = kind === 'sio2' && eio === '4';
    const v3 = eio === '3' || sio2;
    if (first && kind === 'no-open') {
      ws.send('40');
      return;
    }
    if (first && kind === 'bad-open') {
      ws.send('0{"sid":""}');
      return;
    }
    serve(ws, sock, v3, c, first);
  });
});

server.listen(0, '127.0.0.1', () => {
  origin = `http://127.0.0.1:${server.address().port}`;
  process.stdout.write(`listening ${origin}\n`);
});
process.on('SIGTERM', () => process.exit(0));
