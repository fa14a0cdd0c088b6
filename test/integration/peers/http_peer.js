// http_peer.js: the HTTP(S) server the HTTP client's integration test talks
// to.  Usage: node http_peer.js CERT KEY WRONG_CERT WRONG_KEY
// Listens on 127.0.0.1, free ports, and prints {"http":p,"https":p,
// "wrong":p} on one line; "wrong" serves a certificate for another name.
// Exits when its stdin closes, so it never outlives the test.
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');

const [certFile, keyFile, wrongCertFile, wrongKeyFile] = process.argv.slice(2);
let nextSocket = 1;

function json(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function handle(req, res) {
  const url = new URL(req.url, 'http://x');
  const sock = req.socket;
  const n = Number(url.searchParams.get('n') || 0);
  if (sock.dropNext) {
    // The client reused a connection we "closed": answer nothing.
    sock.destroy();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    switch (url.pathname) {
      case '/hello':
        return json(res, 200, { ok: true, socket: sock.peerId });
      case '/echo':
        return json(res, 200, {
          method: req.method,
          url: req.url,
          headers: req.headers,
          body,
          socket: sock.peerId,
        });
      case '/status':
        return json(res, n, { status: n });
      case '/chunked':
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('first,');
        setTimeout(() => {
          res.write('second,');
          res.end('third');
        }, 10);
        return;
      case '/big':
        res.writeHead(200, { 'Content-Length': n });
        return res.end(Buffer.alloc(n, 'b'));
      case '/bigchunked':
        res.writeHead(200);
        for (let i = 0; i < n; i += 1000)
          res.write(Buffer.alloc(Math.min(1000, n - i), 'c'));
        return res.end();
      case '/slow':
        return setTimeout(() => json(res, 200, { socket: sock.peerId }), n);
      case '/idle-close':
        // Answer, then drop the idle keep-alive connection.
        json(res, 200, { socket: sock.peerId });
        return setTimeout(() => sock.destroy(), 30);
      case '/drop-next':
        json(res, 200, { socket: sock.peerId });
        sock.dropNext = true;
        return;
      case '/garbage':
        sock.end('HTTP/1.1 200 OK\r\nContent-Length: zz\r\n\r\n');
        return;
      case '/eof':
        sock.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n' +
                 'all of this until the end');
        return;
      case '/nothing':
        sock.destroy();
        return;
      default:
        return json(res, 404, { error: 'not found' });
    }
  });
}

function tag(server) {
  server.on('connection', (s) => { s.peerId = nextSocket++; });
  // The TLS socket the request sees wraps the TCP one.
  server.on('secureConnection', (s) => { s.peerId = nextSocket++; });
  server.keepAliveTimeout = 10000;
  return server;
}

const plain = tag(http.createServer(handle));
const secure = tag(https.createServer(
  { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, handle));
const wrong = tag(https.createServer(
  { cert: fs.readFileSync(wrongCertFile), key: fs.readFileSync(wrongKeyFile) },
  handle));

let pending = 3;
const ports = {};
for (const [name, srv] of [['http', plain], ['https', secure], ['wrong', wrong]]) {
  srv.listen(0, '127.0.0.1', () => {
    ports[name] = srv.address().port;
    if (--pending === 0)
      process.stdout.write(JSON.stringify(ports) + '\n');
  });
}

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
