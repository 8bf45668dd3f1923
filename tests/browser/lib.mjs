// What the browser tests share: checks that count, daemons on free ports
// with their logs under tests/out/, a private Redis, HTTP, the headless
// Chromium, and the runner that prints the one "N passed, N failed" line.
//
// Environment:
//   PUSHGATE_BUILD   build directory (brokerd/brokerd, routerd/routerd, adminhttp/adminhttp)
//   REDIS_SERVER     redis-server binary (default: redis-server on PATH)
//   CHROMIUM         browser binary (default: /usr/bin/chromium)

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const OUT = path.resolve(HERE, '..', 'out');
export const BUILD = process.env.PUSHGATE_BUILD ? path.resolve(process.env.PUSHGATE_BUILD) : '';
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const WAIT = 10000;     // ms to wait for anything the page should show
const RUN_ID = process.pid;

fs.mkdirSync(OUT, { recursive: true });

// ------------------------------------------------------------------ checks
export const results = { passed: 0, failed: 0 };
export function check(name, ok, detail) {
  if (ok) { results.passed++; console.log('ok   ' + name); }
  else { results.failed++; console.log('FAIL ' + name + (detail !== undefined ? ': ' + detail : '')); }
  return !!ok;
}
// Runs an async step; an exception fails it (with the message) instead of the run.
export async function step(name, fn) {
  try {
    const r = await fn();
    if (r === undefined || r === true) return check(name, true);
    if (r === false) return check(name, false);
    return check(name, r.ok, r.detail);
  } catch (e) {
    return check(name, false, e && e.message ? e.message.split('\n')[0] : String(e));
  }
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export async function until(fn, ms = WAIT, every = 100) {
  const end = Date.now() + ms;
  let v;
  for (;;) {
    try { v = await fn(); } catch (e) { v = undefined; }
    if (v || Date.now() >= end) return v;
    await sleep(every);
  }
}

// --------------------------------------------------------------- processes
export const procs = [];

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

export function binary(rel) {
  const p = path.join(BUILD, rel);
  try { fs.accessSync(p, fs.constants.X_OK); } catch (e) {
    throw new Error('no executable ' + rel + ' under PUSHGATE_BUILD (' + (BUILD || 'unset') + ')');
  }
  return p;
}

// Starts a daemon with stderr (and stdout) saved to tests/out/; resolves with
// {proc, addr: {name: "host:port"}} once every `listens` pattern was logged.
export function start(label, bin, args, listens = {}) {
  const logPath = path.join(OUT, `browser.${RUN_ID}.${label}.log`);
  const log = fs.createWriteStream(logPath);
  log.write('# ' + [bin, ...args].join(' ') + '\n');
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { label, proc, logPath, exited: false, code: null };
  procs.push(entry);
  const addr = {};
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not log ${Object.keys(listens).join('/')} within 10 s; see ${logPath}`)), 10000);
    const onData = (chunk) => {
      log.write(chunk);
      text += chunk.toString('utf8');
      for (const [name, re] of Object.entries(listens)) {
        const m = addr[name] ? null : text.match(re);
        if (m) addr[name] = m[1].replace(/[,;)]+$/, '');
      }
      if (Object.keys(listens).every((n) => addr[n])) { clearTimeout(timer); resolve({ ...entry, addr }); }
    };
    proc.stdout.on('data', (c) => log.write(c));
    proc.stderr.on('data', onData);
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    proc.on('close', () => log.end(`# exited ${entry.code}\n`));
    proc.on('exit', (code, sig) => {
      entry.exited = true; entry.code = code === null ? sig : code;
      clearTimeout(timer);
      reject(new Error(`${label} exited (${entry.code}) before listening; see ${logPath}`));
    });
    if (!Object.keys(listens).length) { clearTimeout(timer); resolve({ ...entry, addr }); }
  });
}

export async function stopAll() {
  for (const e of procs.slice().reverse()) {
    if (e.exited || e.proc.exitCode !== null) continue;
    const gone = new Promise((r) => e.proc.once('exit', r));
    try { process.kill(e.proc.pid, 'SIGTERM'); } catch (err) { continue; }
    const t = await Promise.race([gone.then(() => 'exit'), sleep(5000).then(() => 'timeout')]);
    if (t === 'timeout') {
      console.log(`# ${e.label} (pid ${e.proc.pid}) did not stop on SIGTERM; killing it`);
      try { process.kill(e.proc.pid, 'SIGKILL'); } catch (err) { /* gone */ }
      await gone;
    }
  }
}

export function redisPing(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    s.setTimeout(500, () => { s.destroy(); resolve(false); });
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { buf += d; if (buf.includes('\r\n')) { s.destroy(); resolve(buf.startsWith('+PONG')); } });
    s.on('error', () => resolve(false));
  });
}

export function redisBinary() {
  if (process.env.REDIS_SERVER) return process.env.REDIS_SERVER;
  try { return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim(); } catch (e) {
    throw new Error('redis-server not found on PATH (set REDIS_SERVER)');
  }
}

// -------------------------------------------------------------------- HTTP
export async function http(method, url, { body, token, timeout = 3000 } = {}) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  const r = await fetch(url, { method, body, headers, signal: AbortSignal.timeout(timeout) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { json = null; }
  return { status: r.status, json, text };
}

// A private redis-server on a free port, in a throwaway directory; its
// "host:port".
export async function startRedis() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pushgate-browser-redis-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const r = start('redis', redisBinary(), ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no', '--dir', dir, '--daemonize', 'no']);
    r.catch(() => {});
    if (await until(() => redisPing(port), 5000, 50)) return '127.0.0.1:' + port;
  }
  throw new Error('redis-server did not answer PING');
}

// Headless Chromium on a fresh, empty profile directory: nothing from an
// earlier run (or the user's own profile) can leak in.
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM} (apt-get install chromium)`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pushgate-browser-chromium-'));
  process.on('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }));
  return chromium.launchPersistentContext(dataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timeout: 30000,
  });
}

// Runs main, then cleanup (the test's own, then every daemon stopped, each
// expected to exit 0), within limitMs; prints "N passed, N failed" and exits.
export async function run(main, ownCleanup, limitMs = 180000) {
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await ownCleanup().catch(() => {});
    await stopAll();
    for (const e of procs) {
      if (e.label !== 'redis' && typeof e.code === 'number' && e.code !== 0) {
        check(`${e.label} exited 0 on SIGTERM`, false, `exit ${e.code}; see ${e.logPath}`);
      }
    }
  };
  const finish = () => {
    clearTimeout(watchdog);
    console.log(`${results.passed} passed, ${results.failed} failed`);
    process.exit(results.failed === 0 && results.passed > 0 ? 0 : 1);
  };
  const watchdog = setTimeout(async () => {
    check(`finished within ${limitMs / 1000} s`, false);
    await cleanup();
    finish();
  }, limitMs);
  process.on('SIGINT', async () => { await cleanup(); process.exit(130); });
  process.on('SIGTERM', async () => { await cleanup(); process.exit(143); });
  try {
    await main();
  } catch (e) {
    check('setup', false, e && e.message ? e.message : String(e));
  }
  await cleanup();
  finish();
}
