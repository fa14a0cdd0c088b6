// proxy.js: a fault-injection TCP proxy between a client and a server, for
// the fault tests (test/integration/test_faults.c) and the soak.
//
//   node proxy.js --port P --target http://127.0.0.1:T
//
// prints "listening http://127.0.0.1:P" like test/server/main.js and relays
// every connection to the target, byte for byte, until told otherwise.  It
// is steered over its own port: a connection whose first bytes are
// "POST /_fault/" is a command, answered 200 (or 400 for an unknown one)
// and closed, never relayed.  A command sets the fault of every relayed
// connection, the open ones as well as those to come; byte counts start
// when the command arrives (for an open connection) or when the
// connection opens.  "down" is the server-to-client direction.
//
//   /_fault/none                      relay faithfully again
//   /_fault/delay?ms=N                hold every chunk N ms, both ways
//   /_fault/cut?after=N               after N bytes down, reset both sides
//   /_fault/truncate?after=N          after N bytes down, close the client
//                                     side cleanly (FIN) mid-stream
//   /_fault/bytewise                  relay one byte per TCP segment, both ways
//   /_fault/flip?from=N&every=M&mask=X  flip bits X (default 4) of byte N
//                                     down and every Mth one after it
//                                     (M 0: byte N only)
//   /_fault/stall                     new connections are accepted, read and
//                                     never relayed or answered
//   /_fault/blackhole                 the same for the open ones: nothing
//                                     moves either way, nothing is closed,
//                                     and they stay so after the fault ends
//   /_fault/open?expect=N             200 when N relayed connections are
//                                     open, 409 otherwise (leak checks)
//
// SIGTERM ends it.
'use strict';

const net = require('net');

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const target = new URL(arg('--target', 'http://127.0.0.1:9000'));
const port = Number(arg('--port', '0'));

let fault = { kind: 'none' };
const conns = new Set();

function parseCommand(path) {
  const u = new URL(path, 'http://x');
  const kind = u.pathname.slice('/_fault/'.length);
  const num = (k, d) => {
    const v = u.searchParams.get(k);
    return v === null ? d : Number(v);
  };
  switch (kind) {
    case 'none': case 'bytewise': case 'stall': case 'blackhole':
      return { kind };
    case 'delay': return { kind, ms: num('ms', 100) };
    case 'cut': case 'truncate': return { kind, after: num('after', 0) };
    case 'flip':
      return { kind, from: num('from', 0), every: num('every', 0), mask: num('mask', 4) };
    case 'open': return { kind, expect: num('expect', 0) };
    default: return null;
  }
}

// One relayed connection: the client's socket, the server's, and the
// bytes sent down since the fault was set.
class Relay {
  constructor(client, first) {
    this.client = client;
    this.down = 0;
    this.stalled = fault.kind === 'stall' || fault.kind === 'blackhole';
    this.upQueue = Promise.resolve();
    this.downQueue = Promise.resolve();
    conns.add(this);
    client.setNoDelay(true);
    client.on('close', () => this.close());
    client.on('error', () => this.close());
    if (this.stalled) {
      client.on('data', () => {});
      return;
    }
    this.server = net.connect(Number(target.port), target.hostname);
    this.server.setNoDelay(true);
    this.server.on('data', (b) => this.relay(b, 'down'));
    this.server.on('end', () => this.afterQueue('down', () => this.client.end()));
    this.server.on('close', () => this.afterQueue('down', () => this.close()));
    this.server.on('error', () => this.close());
    client.on('data', (b) => this.relay(b, 'up'));
    client.on('end', () => this.afterQueue('up', () => this.server && this.server.end()));
    this.relay(first, 'up');
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    conns.delete(this);
    this.client.destroy();
    if (this.server) this.server.destroy();
  }

  // A new fault for an open connection.
  reset() {
    this.down = 0;
    // A black-holed connection stays dead, as behind a lost NAT mapping.
    if (fault.kind === 'blackhole') this.stalled = true;
    if ((fault.kind === 'cut' || fault.kind === 'truncate') && fault.after === 0) this.end();
  }

  // The end a cut or a truncation asks for.
  end() {
    if (fault.kind === 'cut') {
      if (typeof this.client.resetAndDestroy === 'function') this.client.resetAndDestroy();
      this.close();
    } else {
      this.client.end();
      if (this.server) this.server.destroy();
      this.closed = true;
      conns.delete(this);
    }
  }

  afterQueue(dir, fn) {
    const key = dir === 'up' ? 'upQueue' : 'downQueue';
    this[key] = this[key].then(fn);
  }

  relay(buf, dir) {
    if (this.closed || this.stalled) return;
    const to = dir === 'up' ? this.server : this.client;
    let b = buf;
    if (dir === 'down') {
      if (fault.kind === 'cut' || fault.kind === 'truncate') {
        const room = fault.after - this.down;
        if (room <= 0) {
          this.afterQueue(dir, () => { if (!this.closed) this.end(); });
          return;
        }
        if (b.length >= room) {
          const head = b.subarray(0, room);
          this.down += head.length;
          this.afterQueue(dir, () => { if (!this.closed) to.write(head); });
          this.afterQueue(dir, () => { if (!this.closed) this.end(); });
          return;
        }
      } else if (fault.kind === 'flip') {
        b = Buffer.from(b);
        for (let i = 0; i < b.length; i++) {
          const at = this.down + i - fault.from;
          if (at === 0 || (at > 0 && fault.every > 0 && at % fault.every === 0)) b[i] ^= fault.mask;
        }
      }
      this.down += b.length;
    }
    if (fault.kind === 'delay') {
      const ms = fault.ms;
      this.afterQueue(dir, () => new Promise((done) => setTimeout(() => {
        if (!this.closed && !this.stalled) to.write(b);
        done();
      }, ms)));
    } else if (fault.kind === 'bytewise') {
      this.afterQueue(dir, () => new Promise((done) => {
        let i = 0;
        const next = () => {
          if (this.closed || i >= b.length) return done();
          to.write(b.subarray(i, i + 1));
          i++;
          setImmediate(next);
        };
        next();
      }));
    } else {
      this.afterQueue(dir, () => { if (!this.closed && !this.stalled) to.write(b); });
    }
  }
}

function command(client, head) {
  const line = head.toString('latin1').split('\r\n')[0];
  const path = line.split(' ')[1] || '';
  const c = parseCommand(path);
  let status = 200;
  if (c === null) {
    status = 400;
  } else if (c.kind === 'open') {
    if (conns.size !== c.expect) status = 409;
  } else {
    fault = c;
    for (const r of conns) r.reset();
  }
  const body = `${conns.size}\n`;
  client.end(`HTTP/1.1 ${status} X\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
}

const PREFIX = 'POST /_fault/';
const server = net.createServer((client) => {
  let head = Buffer.alloc(0);
  const first = (b) => {
    head = Buffer.concat([head, b]);
    const n = Math.min(head.length, PREFIX.length);
    if (head.subarray(0, n).toString('latin1') !== PREFIX.slice(0, n)) {
      client.removeListener('data', first);
      new Relay(client, head);
    } else if (head.length >= PREFIX.length && head.indexOf('\r\n\r\n') >= 0) {
      client.removeListener('data', first);
      command(client, head);
    }
  };
  client.on('data', first);
  client.on('error', () => {});
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  for (const r of conns) r.close();
  server.close();
  process.exit(0);
});
