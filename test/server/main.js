#!/usr/bin/env node
'use strict';
// Command line entry of the EXP reference server. See README.md beside this file.
//   node test/server/main.js [--port N] [--database FILE|postgres://...] [--redis URL]
//                            [--jwt-secret S] [--token-ttl SECONDS]
//                            [--tls-cert FILE --tls-key FILE] [--host ADDR] [--verbose]

const { createExpServer } = require('./server');

const USAGE = 'usage: node test/server/main.js [--port N] [--database FILE|postgres://...] [--redis URL] ' +
  '[--jwt-secret S] [--token-ttl SECONDS] [--tls-cert FILE --tls-key FILE] [--host ADDR] [--verbose]';

function parseArgs(argv) {
  const opts = { port: 9000, host: '127.0.0.1', database: ':memory:', tokenTtl: 3600, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) { value = arg.slice(eq + 1); arg = arg.slice(0, eq); }
    const next = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--port': {
        const v = next();
        if (!/^\d+$/.test(v) || Number(v) > 65535) throw new Error(`bad --port ${v}`);
        opts.port = Number(v);
        break;
      }
      case '--host': opts.host = next(); break;
      case '--db': case '--database': opts.database = next(); break;
      case '--redis': {
        const v = next();
        if (!/^rediss?:\/\//.test(v)) throw new Error(`bad --redis ${v} (redis://host:port)`);
        opts.redis = v;
        break;
      }
      case '--jwt-secret': {
        const v = next();
        if (v === '') throw new Error('--jwt-secret must not be empty');
        opts.jwtSecret = v;
        break;
      }
      case '--token-ttl': {
        const v = next();
        if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`bad --token-ttl ${v}`);
        opts.tokenTtl = Number(v);
        break;
      }
      case '--tls-cert': opts.tlsCert = next(); break;
      case '--tls-key': opts.tlsKey = next(); break;
      case '--verbose': case '-v': opts.verbose = true; break;
      case '--help': case '-h': process.stdout.write(USAGE + '\n'); process.exit(0); break;
      default: throw new Error(`unknown argument ${arg}`);
    }
  }
  if (!!opts.tlsCert !== !!opts.tlsKey) throw new Error('--tls-cert and --tls-key go together');
  return opts;
}

async function main() {
  let opts;
  try { opts = parseArgs(process.argv.slice(2)); } catch (e) {
    process.stderr.write(`${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
  process.on('uncaughtException', (e) => console.error('[exp-server] uncaught exception:', e && e.stack ? e.stack : e));
  process.on('unhandledRejection', (e) => console.error('[exp-server] unhandled rejection:', e && e.stack ? e.stack : e));

  let exp;
  try {
    exp = await createExpServer(opts);
    const origin = await exp.listen();
    process.stdout.write(`listening ${origin}\n`);
  } catch (e) {
    console.error('[exp-server] failed to start:', e && e.message ? e.message : e);
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    if (opts.verbose) console.error(`[exp-server] ${signal}: shutting down`);
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    exp.close().then(() => process.exit(0), () => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main();
