// Browser test of the adminhttp dashboard (GET /) against live daemons.
//
// Starts a private redis-server, two brokerd, routerd and adminhttp (with
// --admin-token) on free ports, registers three devices through routerd and
// connects them over TCP to the brokers they were given, then drives Debian's
// Chromium headless with playwright-core: enters the token in the page's
// prompt, checks the brokers table and totals against what the test itself
// set up, looks devices up, presses "Disconnect" and watches the device go
// offline (and its socket get E_DISCONNECTED, then EOF). Saves screenshots
// under tests/out/. Prints one "N passed, N failed" line; exits 1 on any
// failure.
//
// Environment: as lib.mjs, and
//   PG_KEEP_OPEN     seconds to keep everything running at the end (for a look by hand)

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  BUILD, OUT, WAIT, binary, check, http, launchBrowser, run, sleep, start, startRedis, step, until,
} from './lib.mjs';

const RUN_ID = process.pid;
const TOKEN = 'dash-' + Math.random().toString(36).slice(2) + Date.now().toString(36);

// ----------------------------------------------------------------- devices
const FRAME_RESPONSE = 0, FRAME_ERROR = 1, FRAME_MESSAGE = 2;

// One device connection: the text protocol out, frames in. Message frames
// are FINed unless their channel is in noFin; every frame is kept in .frames.
class DeviceConn {
  constructor(label, noFin = []) {
    this.label = label;
    this.noFin = new Set(noFin.map(String));
    this.frames = [];
    this.messages = [];
    this.buf = Buffer.alloc(0);
    this.ended = false;        // EOF or reset seen
    this.waiters = [];
  }
  connect(hostport) {
    const i = hostport.lastIndexOf(':');
    const host = hostport.slice(0, i).replace(/^\[|\]$/g, ''), port = Number(hostport.slice(i + 1));
    return new Promise((resolve, reject) => {
      this.sock = net.connect(port, host, () => resolve(this));
      this.sock.once('error', reject);
      this.sock.on('error', () => {});
      this.sock.on('data', (d) => this.onData(d));
      this.sock.on('close', () => { this.ended = true; this.wake(); clearInterval(this.hb); });
      this.hb = setInterval(() => { if (!this.ended) this.sock.write('H\n'); }, 5000);
    });
  }
  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + size) break;
      const type = this.buf.readUInt32BE(4);
      const data = this.buf.subarray(8, 4 + size);
      this.buf = this.buf.subarray(4 + size);
      const f = { type, data, text: data.toString('utf8') };
      this.frames.push(f);
      if (type === FRAME_MESSAGE) {
        const nl = data.indexOf(10);
        const [mid, ch] = data.subarray(0, nl).toString().split(' ');
        this.messages.push({ mid, ch, body: data.subarray(nl + 1).toString() });
        if (!this.noFin.has(ch)) this.sock.write(`FIN ${mid}\n`);
      }
    }
    this.wake();
  }
  wake() { const w = this.waiters; this.waiters = []; w.forEach((f) => f()); }
  // Waits for a frame (after index `from`) matching pred; returns it.
  async frame(pred, from = 0, ms = 5000) {
    const end = Date.now() + ms;
    for (;;) {
      const f = this.frames.slice(from).find(pred);
      if (f) return f;
      if (this.ended) throw new Error(`${this.label}: connection closed while waiting for a frame`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`${this.label}: no matching frame within ${ms} ms (got ${this.frames.slice(from).map((x) => x.type + ':' + x.text).join(' | ') || 'nothing'})`);
      await new Promise((r) => { this.waiters.push(r); setTimeout(r, left); });
    }
  }
  async command(line, body) {
    const from = this.frames.length;
    this.sock.write(line + '\n');
    if (body !== undefined) {
      const b = Buffer.from(body);
      const len = Buffer.alloc(4); len.writeUInt32BE(b.length);
      this.sock.write(Buffer.concat([len, b]));
    }
    const f = await this.frame((x) => x.type === FRAME_RESPONSE || x.type === FRAME_ERROR, from);
    if (f.type !== FRAME_RESPONSE || f.text !== 'OK') throw new Error(`${this.label}: ${line} answered ${f.type}:${f.text}`);
  }
  async identify(id) {
    this.sock.write('  V1');
    await this.command('IDENTIFY', JSON.stringify({ client_id: Number(id) }));
  }
  async waitEnded(ms = 5000) {
    return until(() => this.ended, ms, 50);
  }
  close() { clearInterval(this.hb); if (this.sock) this.sock.destroy(); }
}

// -------------------------------------------------------------------- main
let browser = null;
const devices = [];

async function main() {
  if (!BUILD) throw new Error('PUSHGATE_BUILD is not set');
  const bins = {
    brokerd: binary('brokerd/brokerd'),
    routerd: binary('routerd/routerd'),
    adminhttp: binary('adminhttp/adminhttp'),
  };
  const redis = await startRedis();

  const common = ['--redis', redis, '--log-level', 'debug'];
  const brokerListens = { tcp: /listening tcp (\S+)/, http: /listening http (\S+)/, ws: /listening ws (\S+)/ };
  const b1 = await start('brokerd1', bins.brokerd, ['--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--ws-address', '127.0.0.1:0', ...common], brokerListens);
  const b2 = await start('brokerd2', bins.brokerd, ['--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--ws-address', '127.0.0.1:0', ...common], brokerListens);
  const router = await start('routerd', bins.routerd, ['--registration-address', '127.0.0.1:0', '--put-address', '127.0.0.1:0', ...common],
    { reg: /listening registration (\S+)/, put: /listening put (\S+)/ });
  const admin = await start('adminhttp', bins.adminhttp, ['--http-address', '127.0.0.1:0', '--admin-token', TOKEN, ...common],
    { http: /listening http (\S+)/ });
  const brokerAddrs = [b1.addr.tcp, b2.addr.tcp];
  const base = 'http://' + admin.addr.http;
  console.log(`# redis ${redis}, brokers ${brokerAddrs.join(' ')}, routerd ${router.addr.reg} ${router.addr.put}, adminhttp ${base}`);

  const stats = async () => (await http('GET', base + '/stats', { token: TOKEN })).json;

  // The API refuses without the token, and the page itself needs none.
  await step('GET /stats without a token is 401', async () => {
    const r = await http('GET', base + '/stats');
    return { ok: r.status === 401, detail: `HTTP ${r.status} ${r.text.slice(0, 80)}` };
  });
  await step('GET /stats with a wrong token is 401', async () => {
    const r = await http('GET', base + '/stats', { token: TOKEN + 'x' });
    return { ok: r.status === 401, detail: `HTTP ${r.status}` };
  });
  let pageHtml = '';
  await step('GET / serves the dashboard without a token', async () => {
    const r = await http('GET', base + '/');
    pageHtml = r.text;
    return { ok: r.status === 200 && /<canvas/i.test(r.text), detail: `HTTP ${r.status}, ${r.text.length} bytes` };
  });
  check('the page references nothing outside itself',
    pageHtml && !/(src|href)\s*=\s*["']?\s*(https?:)?\/\//i.test(pageHtml) && !/@import|url\(\s*["']?(https?:)?\/\//i.test(pageHtml));

  // Both brokers heartbeat into Redis; adminhttp sees them within a few seconds.
  await step('/stats lists both brokers alive', async () => {
    const s = await until(async () => {
      const j = await stats();
      return j && Array.isArray(j.brokers) && j.brokers.filter((b) => b.alive).length === 2 ? j : null;
    }, 15000, 250);
    return { ok: !!s, detail: JSON.stringify((await stats()) || null).slice(0, 300) };
  });

  // Three devices, registered and connected one at a time so that the router
  // sees the load of the ones before; each subscribes to channel 7, the first
  // also to 8. Device 1 leaves channel 9 messages un-FINed (pending).
  for (let i = 1; i <= 3; i++) {
    const serial = `browser-${RUN_ID}-${i}`;
    const reg = await http('POST', `http://${router.addr.reg}/registration?serial_no=${serial}&device_type=3&device_name=${encodeURIComponent('phone <' + i + '>')}`);
    if (!reg.json || reg.json.code !== 0) throw new Error(`/registration of ${serial}: HTTP ${reg.status} ${reg.text}`);
    const d = { n: i, serial, id: String(reg.json.data.device_id), broker: reg.json.data.broker };
    d.conn = new DeviceConn('device' + i, i === 1 ? ['9'] : []);
    await d.conn.connect(d.broker);
    await d.conn.identify(d.id);
    await d.conn.command('SUB 7');
    if (i === 1) await d.conn.command('SUB 8');
    devices.push(d);
    await until(async () => { const j = await stats(); return j && j.totals && j.totals.connections === i; }, 5000, 200);
  }
  const expectPer = Object.fromEntries(brokerAddrs.map((a) => [a, devices.filter((d) => d.broker === a).length]));
  console.log('# devices: ' + devices.map((d) => `${d.id}@${d.broker}`).join(', '));
  check('every device was given one of the two brokers', devices.every((d) => brokerAddrs.includes(d.broker)),
    devices.map((d) => d.broker).join(' '));

  // Some traffic for the chart and the counters: 5 channel messages, and one
  // message for device 1 alone that it leaves pending.
  for (let k = 1; k <= 5; k++) {
    const r = await http('POST', `http://${router.addr.put}/put?channel_id=7`, { body: 'hello ' + k });
    if (!r.json || r.json.code !== 0) throw new Error(`/put: HTTP ${r.status} ${r.text}`);
    await sleep(150);
  }
  const d1 = devices[0], d2 = devices[1];
  {
    const r = await http('POST', `http://${router.addr.put}/put?channel_id=9&device_id=${d1.id}`, { body: 'keep me' });
    if (!r.json || r.json.code !== 0) throw new Error(`/put to device ${d1.id}: HTTP ${r.status} ${r.text}`);
  }
  await step('each device got the 5 channel messages', async () => {
    const ok = await until(() => devices.every((d) => d.conn.messages.filter((m) => m.ch === '7').length >= 5), 5000);
    return { ok: !!ok, detail: devices.map((d) => d.conn.messages.length).join(',') };
  });
  await step('device 1 got its own message', async () => !!(await until(() => d1.conn.messages.some((m) => m.ch === '9'), 5000)));

  // ----------------------------------------------------------- the browser
  browser = await launchBrowser();
  const page = browser.pages()[0] || await browser.newPage();
  const pageErrors = [], foreign = [], unauthorized = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('request', (r) => { if (!r.url().startsWith(base + '/') && !r.url().startsWith('data:')) foreign.push(r.url()); });
  page.on('response', (r) => {
    if (r.status() === 401) unauthorized.push({ url: r.url(), auth: r.request().headers().authorization || '' });
  });

  const textOf = (sel) => page.$eval(sel, (e) => e.textContent.trim()).catch(() => null);
  const waitText = async (sel, want, ms = WAIT) => {
    const got = await until(async () => { const t = await textOf(sel); return t === want ? t : null; }, ms, 100);
    return { ok: got === want, detail: `${sel} shows ${JSON.stringify(await textOf(sel))}, want ${JSON.stringify(want)}` };
  };
  const visible = (sel) => page.isVisible(sel).catch(() => false);

  await page.goto(base + '/', { waitUntil: 'load' });

  await step('the page asks for the admin token', async () => {
    const ok = await until(() => visible('#token-input'), WAIT);
    return { ok: !!ok, detail: 'no visible #token-input' };
  });
  await page.screenshot({ path: path.join(OUT, 'dashboard-token.png') }).catch(() => {});
  await step('nothing is shown before the token is given', async () => {
    const rows = await page.$$eval('#brokers-table tbody tr[data-broker-id]', (r) => r.length);
    return { ok: rows === 0, detail: `${rows} broker rows` };
  });
  // A wrong token is refused and asked for again; then the right one.
  await page.fill('#token-input', 'not-' + TOKEN);
  await page.click('#token-submit');
  await step('a wrong token brings the prompt back, saying it was refused', async () => {
    const ok = await until(async () => (await visible('#token-input')) && /refused/.test(await textOf('#token-reason') || ''), WAIT);
    return { ok: !!ok, detail: `prompt visible ${await visible('#token-input')}, text ${JSON.stringify(await textOf('#token-reason'))}` };
  });
  await page.fill('#token-input', TOKEN);
  await page.click('#token-submit');

  await step('the token prompt goes away', async () => ({ ok: !!(await until(async () => !(await visible('#token-input')), WAIT)) }));
  await step('brokers table has 2 rows', async () => {
    const n = await until(async () => { const c = await page.$$eval('#brokers-table tbody tr[data-broker-id]', (r) => r.length); return c === 2 ? c : null; });
    return { ok: n === 2, detail: `${await page.$$eval('#brokers-table tbody tr', (r) => r.length)} rows` };
  });
  await step('total brokers shows 2', () => waitText('#total-brokers', '2'));
  await step('total connections shows 3', () => waitText('#total-connections', '3'));

  const brokerRow = async (addr) => page.$$eval('#brokers-table tbody tr', (rows, a) => {
    const r = rows.find((x) => x.dataset.address === a);
    if (!r) return null;
    const t = (c) => (r.querySelector('.' + c) || {}).textContent;
    return { id: r.dataset.brokerId, conns: t('broker-connections'), alive: t('broker-alive'), uptime: t('broker-uptime'), hb: t('broker-heartbeat') };
  }, addr);
  for (const a of brokerAddrs) {
    await step(`broker ${a} row shows ${expectPer[a]} connection(s), alive`, async () => {
      const row = await until(async () => { const r = await brokerRow(a); return r && r.conns === String(expectPer[a]) ? r : null; });
      const r = row || await brokerRow(a);
      return { ok: !!row && r.alive === 'alive', detail: JSON.stringify(r) };
    });
  }
  // A WebSocket client (anonymous, opened by the page) beside the 3 TCP
  // devices: online connections by transport, in the totals and per broker.
  await page.evaluate((u) => new Promise((resolve, reject) => {
    window.pgWs = new WebSocket(u);
    window.pgWs.onmessage = () => resolve(true);   // conn.ready
    window.pgWs.onerror = () => reject(new Error('WebSocket to ' + u));
  }), `ws://${b2.addr.ws}/ws/v1`);
  await step('totals show 3 TCP and 1 WebSocket connections', async () => {
    const t = await waitText('#total-tcp', '3'), w = await waitText('#total-ws', '1');
    return { ok: t.ok && w.ok, detail: `${t.detail}; ${w.detail}` };
  });
  await step(`broker ${b2.addr.tcp} row shows ${expectPer[b2.addr.tcp]} TCP and 1 WebSocket`, async () => {
    const cells = () => page.$$eval('#brokers-table tbody tr', (rows, a) => {
      const r = rows.find((x) => x.dataset.address === a);
      return r ? [r.querySelector('.broker-tcp-clients').textContent, r.querySelector('.broker-ws-clients').textContent] : null;
    }, b2.addr.tcp);
    const want = JSON.stringify([String(expectPer[b2.addr.tcp]), '1']);
    const got = await until(async () => { const c = await cells(); return JSON.stringify(c) === want ? c : null; });
    return { ok: !!got, detail: JSON.stringify(await cells()) };
  });
  await page.evaluate(() => window.pgWs.close());
  await step('the WebSocket total goes back to 0 when it closes', () => waitText('#total-ws', '0'));

  await step('broker ids on the page are the ids /stats gives, as strings', async () => {
    const s = await stats();
    const ids = await page.$$eval('#brokers-table tbody tr[data-broker-id]', (r) => r.map((x) => x.dataset.brokerId).sort());
    const want = s.brokers.map((b) => String(b.id)).sort();
    return { ok: JSON.stringify(ids) === JSON.stringify(want) && s.brokers.every((b) => typeof b.id === 'string'),
      detail: `page ${ids.join(',')}; /stats ${JSON.stringify(s.brokers.map((b) => b.id))}` };
  });
  await step('totals on the page equal /stats totals', async () => {
    let last = '';
    const ok = await until(async () => {
      const s = await stats();
      const t = s.totals;
      const want = { '#total-devices': t.devices, '#total-channels': t.channels, '#total-messages-in': t.messages_in,
        '#total-messages-out': t.messages_out, '#total-messages-pending': t.messages_pending };
      const bad = [];
      for (const [sel, v] of Object.entries(want)) {
        const got = (await textOf(sel) || '').replace(/,/g, '');
        if (got !== String(v)) bad.push(`${sel}=${got} (api ${v})`);
      }
      last = bad.join('; ');
      return bad.length === 0;
    }, WAIT, 300);
    return { ok: !!ok, detail: last };
  });
  await step('messages in counts the 6 accepted /put messages', async () => {
    const s = await stats();
    return { ok: s.totals.messages_in >= 6, detail: `messages_in ${s.totals.messages_in}` };
  });
  await step('history has samples for the chart', async () => {
    const s = await stats();
    return { ok: Array.isArray(s.history) && s.history.length > 0, detail: `${(s.history || []).length} samples` };
  });
  await step('the chart is drawn on the canvas', async () => {
    const inked = await page.$eval('#rate-chart', (c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
      return n;
    });
    return { ok: inked > 500, detail: `${inked} painted pixels` };
  });
  const channelRow = (ch) => page.$$eval('#channels-table tbody tr', (rows, c) => {
    const r = rows.find((x) => x.dataset.channelId === c);
    return r ? r.querySelector('.channel-subscribers').textContent.trim() : null;
  }, ch);
  await step('channel 7 shows 3 subscribers', async () => {
    const v = await until(async () => ((await channelRow('7')) === '3' ? '3' : null));
    return { ok: v === '3', detail: `channel 7 row: ${await channelRow('7')}` };
  });
  await step('channel 8 shows 1 subscriber', async () => {
    const v = await until(async () => ((await channelRow('8')) === '1' ? '1' : null));
    return { ok: v === '1', detail: `channel 8 row: ${await channelRow('8')}` };
  });

  // Look a device up by serial number and type.
  await page.fill('#device-id-input', '');
  await page.fill('#device-serial-input', d2.serial);
  await page.selectOption('#device-type-select', '3');
  await page.click('#device-lookup-button');
  await step('lookup by serial_no + device_type finds device 2, online', async () => {
    const r = await waitText('#device-id', d2.id);
    const st = await textOf('#device-status'), br = await textOf('#device-broker');
    return { ok: r.ok && st === 'online' && br === d2.broker, detail: `${r.detail}; status ${st}; broker ${br}` };
  });

  // A service sets device 1's context (conn.call set_context over /v1).
  {
    const r = await http('POST', `http://${b1.addr.ws}/v1/conn/call`,
      { body: JSON.stringify({ c: d1.id, f: 'set_context', a: [{ user: 'ann', plan: 2 }] }) });
    if (!r.json || r.json.E !== null) throw new Error(`conn.call set_context: HTTP ${r.status} ${r.text}`);
  }
  // Look device 1 up by id.
  await page.fill('#device-serial-input', '');
  await page.fill('#device-id-input', d1.id);
  await page.click('#device-lookup-button');
  await step('lookup by id shows device 1', () => waitText('#device-id', d1.id));
  await step('device 1 is online', () => waitText('#device-status', 'online'));
  await step("device 1's broker is the one it connected to", () => waitText('#device-broker', d1.broker));
  await step("device 1's subscriptions are 7 and 8", async () => {
    const t = await textOf('#device-subscriptions');
    const subs = (t || '').split(/[,\s]+/).filter(Boolean).sort();
    return { ok: JSON.stringify(subs) === JSON.stringify(['7', '8']), detail: t };
  });
  await step('device 1 shows 1 pending message, as /api/device says', async () => {
    const api = (await http('GET', `${base}/api/device?id=${d1.id}`, { token: TOKEN })).json;
    const r = await waitText('#device-pending', '1');
    return { ok: r.ok && api && api.pending === 1, detail: `${r.detail}; api pending ${api && api.pending}` };
  });
  await step("device 1's name is shown as text", () => waitText('#device-name', 'phone <1>'));
  await step("device 1's context is the one the service set, as /api/device says", async () => {
    const api = (await http('GET', `${base}/api/device?id=${d1.id}`, { token: TOKEN })).json;
    const r = await waitText('#device-context', '{"user":"ann","plan":2}');
    return { ok: r.ok && JSON.stringify(api && api.ctx) === '{"user":"ann","plan":2}', detail: r.detail };
  });

  await page.screenshot({ path: path.join(OUT, 'dashboard-online.png'), fullPage: true }).catch(() => {});

  // Disconnect it with the button.
  const framesBefore = d1.conn.frames.length;
  await step('the Disconnect button is enabled', async () => ({ ok: await page.isEnabled('#disconnect-button') }));
  await page.click('#disconnect-button');
  await step('device 1 shows offline after Disconnect', () => waitText('#device-status', 'offline'));
  await step("device 1's socket got Error E_DISCONNECTED", async () => {
    const f = await d1.conn.frame((x) => x.type === FRAME_ERROR, framesBefore).catch((e) => ({ text: e.message }));
    return { ok: f.type === FRAME_ERROR && /^E_DISCONNECTED( |$)/.test(f.text), detail: f.text };
  });
  await step("then device 1's socket was closed (EOF)", async () => ({ ok: !!(await d1.conn.waitEnded(5000)) }));
  await step('the other devices stay connected', async () => ({ ok: devices.slice(1).every((d) => !d.conn.ended) }));
  await step('total connections drops to 2', () => waitText('#total-connections', '2'));
  await step(`broker ${d1.broker} row shows ${expectPer[d1.broker] - 1} connection(s)`, async () => {
    const want = String(expectPer[d1.broker] - 1);
    const r = await until(async () => { const x = await brokerRow(d1.broker); return x && x.conns === want ? x : null; });
    return { ok: !!r, detail: JSON.stringify(await brokerRow(d1.broker)) };
  });
  await step('device 1 still shows its subscriptions and pending message', async () => {
    const subs = await textOf('#device-subscriptions'), pend = await textOf('#device-pending');
    return { ok: /7/.test(subs) && /8/.test(subs) && pend === '1', detail: `subs ${subs}, pending ${pend}` };
  });
  await step('channel 7 still shows 3 subscribers (subscriptions belong to the device)', async () => {
    await sleep(2500); // one more /api/channels poll
    const v = await channelRow('7');
    return { ok: v === '3', detail: `channel 7 row: ${v}` };
  });
  await step('the Disconnect button is disabled for an offline device', async () => ({ ok: !(await page.isEnabled('#disconnect-button')) }));

  await page.screenshot({ path: path.join(OUT, 'dashboard.png'), fullPage: true });
  check('screenshot saved to tests/out/dashboard.png', fs.existsSync(path.join(OUT, 'dashboard.png')));

  // A reload keeps the token (session storage): no second prompt.
  await page.reload({ waitUntil: 'load' });
  await step('after a reload the page does not ask for the token again', async () => {
    const n = await until(async () => { const c = await page.$$eval('#brokers-table tbody tr[data-broker-id]', (r) => r.length); return c === 2 ? c : null; });
    return { ok: n === 2 && !(await visible('#token-input')), detail: `rows ${n}, prompt visible ${await visible('#token-input')}` };
  });

  await step('disconnect without the token is 401 and changes nothing', async () => {
    const r = await http('POST', `${base}/api/device/disconnect?id=${d2.id}`);
    await sleep(300);
    const d = (await http('GET', `${base}/api/device?id=${d2.id}`, { token: TOKEN })).json;
    return { ok: r.status === 401 && d && d.online === true && !d2.conn.ended, detail: `HTTP ${r.status}, online ${d && d.online}` };
  });

  check('the page fetched nothing from another origin', foreign.length === 0, foreign.slice(0, 3).join(' '));
  check('the page got 401 only before it had the right token',
    unauthorized.length > 0 && !unauthorized.some((u) => u.auth === 'Bearer ' + TOKEN),
    `${unauthorized.length} 401 replies: ${unauthorized.map((u) => u.url.slice(base.length) + ' [' + (u.auth ? 'token' : 'none') + ']').join(', ')}`);
  await page.close();

  // The same page from an adminhttp without --admin-token asks for nothing.
  const open = await start('adminhttp-open', bins.adminhttp, ['--http-address', '127.0.0.1:0', ...common], { http: /listening http (\S+)/ });
  const page2 = await browser.newPage();
  page2.on('pageerror', (e) => pageErrors.push(e.message));
  await page2.goto('http://' + open.addr.http + '/', { waitUntil: 'load' });
  await step('without --admin-token the page shows the brokers and asks for no token', async () => {
    const n = await until(async () => { const c = await page2.$$eval('#brokers-table tbody tr[data-broker-id]', (r) => r.length); return c === 2 ? c : null; });
    const conns = await page2.$eval('#total-connections', (e) => e.textContent.trim()).catch(() => null);
    const asked = await page2.isVisible('#token-input').catch(() => false);
    return { ok: n === 2 && conns === '2' && !asked, detail: `rows ${n}, connections ${conns}, prompt ${asked}` };
  });
  check('the pages raised no JavaScript errors', pageErrors.length === 0, pageErrors.slice(0, 3).join(' | '));

  if (process.env.PG_KEEP_OPEN) {
    console.log(`# keeping everything up for ${process.env.PG_KEEP_OPEN} s: ${base}/ token ${TOKEN}`);
    await sleep(Number(process.env.PG_KEEP_OPEN) * 1000);
  }
}


await run(main, async () => {
  for (const d of devices) d.conn && d.conn.close();
  if (browser) await browser.close().catch(() => {});
});
