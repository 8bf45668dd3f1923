// Browser test of the mesh port (SPEC 5): a page in headless Chromium is a
// WebSocket client of brokerd's /ws/v1, as a registered device with its
// token. It gets a message sent with routerd's /put, finishes it with
// msg.fin, and sends frames upstream that a service connection (here, in
// Node) pops with queue.pop, on another broker of the mesh.
//
// Starts a private redis-server, two brokerd and routerd (all with one
// --secret) on free ports. Saves a screenshot under tests/out/. Prints one
// "N passed, N failed" line; exits 1 on any failure. Needs Node's WebSocket
// (node --experimental-websocket on Node 20, built in from 22).
//
// Environment: as lib.mjs.

import path from 'node:path';
import {
  BUILD, OUT, binary, check, http, launchBrowser, run, start, startRedis, step, until,
} from './lib.mjs';

const SECRET = 'mesh-' + Math.random().toString(36).slice(2);
const SERVICE_TOKEN = 'svc-' + Math.random().toString(36).slice(2);
const TOPIC = 'browser-' + process.pid;

// A service connection (SPEC 5.1): calls with replies, events kept in order.
class Service {
  constructor(url) {
    this.events = [];
    this.replies = new Map();
    this.waiters = [];
    this.ws = new WebSocket(url);
    this.ws.onmessage = (m) => {
      const o = JSON.parse(m.data);
      if ('E' in o) this.replies.set(o.i, o);
      else this.events.push(o);
      const w = this.waiters;
      this.waiters = [];
      w.forEach((f) => f());
    };
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = resolve;
      this.ws.onerror = () => reject(new Error('service connection failed: ' + url));
    });
  }
  async wait(pred, ms = 5000) {
    const end = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v !== undefined || Date.now() >= end) return v;
      await new Promise((r) => { this.waiters.push(r); setTimeout(r, end - Date.now()); });
    }
  }
  async call(m, p, i) {
    this.ws.send(JSON.stringify({ m, p, i }));
    return this.wait(() => this.replies.get(i));
  }
  close() { try { this.ws.close(); } catch (e) { /* gone */ } }
}

// The page: a client that logs what it gets and answers what it is asked.
const PAGE = `<!doctype html><meta charset="utf-8"><title>pushgate mesh client</title>
<h1>pushgate mesh client</h1><pre id="log"></pre>
<script>
const log = (s) => { document.getElementById('log').textContent += s + '\\n'; };
window.got = [];
window.connect = (url) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url);
  window.ws = ws;
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (m) => {
    log('< ' + m.data);
    try { window.got.push(JSON.parse(m.data)); } catch (e) { /* pong */ }
  };
  ws.onopen = () => { log('open ' + url.replace(/token=[^&]*/, 'token=...')); resolve(); };
  ws.onerror = () => reject(new Error('WebSocket error'));
  ws.onclose = (e) => log('closed ' + e.code);
});
window.send = (s) => { log('> ' + s); window.ws.send(s); };
window.sendBytes = (a) => { log('> bytes ' + a.join(',')); window.ws.send(new Uint8Array(a)); };
</script>`;

let browser = null, service = null;

async function main() {
  if (!BUILD) throw new Error('PUSHGATE_BUILD is not set');
  if (typeof WebSocket !== 'function') throw new Error('no WebSocket in this Node (run it with --experimental-websocket)');
  const bins = { brokerd: binary('brokerd/brokerd'), routerd: binary('routerd/routerd') };
  const redis = await startRedis();
  const common = ['--redis', redis, '--log-level', 'debug', '--secret', SECRET];
  const brokerArgs = ['--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--ws-address', '127.0.0.1:0',
    '--service-token', SERVICE_TOKEN, '--threads', '1', ...common];
  const listens = { tcp: /listening tcp (\S+)/, ws: /listening ws (\S+)/ };
  const b1 = await start('mesh-brokerd1', bins.brokerd, brokerArgs, listens);
  const b2 = await start('mesh-brokerd2', bins.brokerd, brokerArgs, listens);
  const router = await start('mesh-routerd', bins.routerd, ['--registration-address', '127.0.0.1:0', '--put-address', '127.0.0.1:0', ...common],
    { reg: /listening registration (\S+)/, put: /listening put (\S+)/ });
  console.log(`# redis ${redis}, brokers ws ${b1.addr.ws} ${b2.addr.ws}, routerd ${router.addr.reg} ${router.addr.put}`);

  // A device id and its token from /registration (type 1: Browser).
  const reg = await until(async () => {
    const r = await http('POST', `http://${router.addr.reg}/registration?serial_no=mesh-${process.pid}&device_type=1`);
    return r.json && r.json.code === 0 ? r.json.data : null;
  }, 10000, 200);
  if (!reg || !reg.token) throw new Error('/registration gave no device id and token');
  const id = String(reg.device_id);

  // The service pops the page's topic on the other broker.
  service = new Service(`ws://${b2.addr.ws}/ws/v1?role=service&service_token=${SERVICE_TOKEN}`);
  await service.opened;
  await step('queue.pop from the service is {"s":true}', async () => {
    const r = await service.call('queue.pop', { t: [TOPIC] }, 1);
    return { ok: JSON.stringify(r) === '{"E":null,"r":{"s":true},"i":1}', detail: JSON.stringify(r) };
  });

  browser = await launchBrowser();
  const page = browser.pages()[0] || await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.setContent(PAGE);
  const got = (pred) => until(async () => (await page.evaluate(() => window.got)).find(pred), 5000, 50);

  await page.evaluate((url) => window.connect(url),
    `ws://${b1.addr.ws}/ws/v1?client_id=${id}&token=${reg.token}&topic=${TOPIC}`);
  const ready = await got((o) => o.e === 'conn.ready');
  await step('the page gets conn.ready with its id', async () => ({
    ok: ready && ready.p.c === id && typeof ready.p.n === 'number' && ready.id === null,
    detail: JSON.stringify(ready),
  }));

  let mid = null;
  await step("a /put to the page's device reaches the page as a message event", async () => {
    const r = await http('POST', `http://${router.addr.put}/put?channel_id=5&device_id=${id}`, { body: 'hello browser' });
    if (!r.json || r.json.code !== 0) return { ok: false, detail: `/put: HTTP ${r.status} ${r.text}` };
    mid = String(r.json.data.message_id);
    const m = await got((o) => o.e === 'message');
    return {
      ok: m && m.p.i === mid && m.p.c === '5' && m.p.f === '0' && m.p.a === 1 && m.p.t === 'text' && m.p.d === 'hello browser',
      detail: JSON.stringify(m),
    };
  });
  await step('msg.fin finishes it: {"s":true}, then 301 for the same id', async () => {
    await page.evaluate((i) => window.send(JSON.stringify({ m: 'msg.fin', p: { i }, i: 'f1' })), mid);
    await page.evaluate((i) => window.send(JSON.stringify({ m: 'msg.fin', p: { i }, i: 'f2' })), mid);
    const a = await got((o) => o.i === 'f1'), b = await got((o) => o.i === 'f2');
    return {
      ok: JSON.stringify(a) === '{"E":null,"r":{"s":true},"i":"f1"}' && b && b.E && b.E.c === 301,
      detail: JSON.stringify([a, b]),
    };
  });

  const frame = (type, data) => JSON.stringify({
    e: 'queue.pop', p: { n: ready.p.n, c: id, t: TOPIC, d: { frame: { type, data, finish: true } } }, id: null,
  });
  await step("the page's upstream frames reach the service, in order, with exact envelopes", async () => {
    await page.evaluate(() => { window.send('from the browser'); window.sendBytes([0, 255, 1]); });
    const evs = await service.wait(() => (service.events.length >= 2 ? service.events.slice(0, 2) : undefined));
    const want = [frame('text', 'from the browser'), frame('binary', 'AP8B')];
    return { ok: evs && evs.map((e) => JSON.stringify(e)).join() === want.join(), detail: JSON.stringify(evs) };
  });
  await step('ping is answered pong and goes nowhere else', async () => {
    await page.evaluate(() => window.send('ping'));
    const ok = await until(async () => (await page.$eval('#log', (e) => e.textContent)).includes('< pong'), 5000, 50);
    return { ok: !!ok && service.events.length === 2, detail: `${service.events.length} events at the service` };
  });

  await page.screenshot({ path: path.join(OUT, 'mesh.png'), fullPage: true }).catch(() => {});
  check('the page raised no JavaScript errors', pageErrors.length === 0, pageErrors.slice(0, 3).join(' | '));
}

await run(main, async () => {
  if (service) service.close();
  if (browser) await browser.close().catch(() => {});
}, 120000);
