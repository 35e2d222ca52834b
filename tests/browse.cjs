// browse.cjs - what a person sees in an HTML report, read off a real
// headless Chromium driven by playwright-core (tests/html.t judges it).
//
//   node tests/browse.cjs REPORT.html OUT.json [--png FILE]
//        [--png-top FILE] [--flip MODEL SUITE/TASK ITEM ...] [--sort HEADER]
//
// Loads the file, records every request besides the file itself, every
// console error and uncaught exception, the load time; reads each table's
// rows, each scatter's points, each fidelity plot, each pair's flipped
// items and the history's lines and breaks; clicks a header (--sort) and
// reads the order twice; opens a flipped item (--flip) and reads both
// answers as displayed; writes a full-page screenshot (--png), or of the
// page's top (--png-top).
'use strict';
const path = require('path');
const fs = require('fs');

const pw = require(process.env.HFEVAL_PLAYWRIGHT || 'playwright-core');

async function main() {
  const args = process.argv.slice(2);
  const file = path.resolve(args[0]), out = args[1];
  const opt = {flips: []};
  for (let i = 2; i < args.length; i++) {
    if (args[i] === '--png') opt.png = args[++i];
    else if (args[i] === '--png-top') opt.top = args[++i];
    else if (args[i] === '--sort') opt.sort = args[++i];
    else if (args[i] === '--flip')
      opt.flips.push({model: args[++i], task: args[++i], item: args[++i]});
  }
  const browser = await pw.chromium.launch({
    executablePath: process.env.HFEVAL_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  const page = await browser.newPage({viewport: {width: 1500, height: 1000}});
  page.setDefaultTimeout(5000);
  const url = 'file://' + file;
  const seen = {requests: [], console_errors: [], page_errors: []};
  page.on('request', (r) => { if (r.url() !== url) seen.requests.push(r.url()); });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning')
      seen.console_errors.push(m.type() + ': ' + m.text());
  });
  page.on('pageerror', (e) => seen.page_errors.push(String(e)));
  const t0 = Date.now();
  await page.goto(url, {waitUntil: 'load'});
  seen.load_ms = Date.now() - t0;
  seen.nav_ms = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return n ? n.loadEventEnd - n.startTime : null;
  });
  seen.bytes = fs.statSync(file).size;

  // every pair of flipped items opened (each builds its list when opened)
  await page.evaluate(() => document.querySelectorAll('details.pair')
      .forEach((g) => { g.open = true; }));
  await page.waitForFunction(() => Array.from(document.querySelectorAll('details.pair'))
      .every((g) => g.children.length > 1));
  Object.assign(seen, await page.evaluate(() => {
    const all = (s, el) => Array.from((el || document).querySelectorAll(s));
    const vis = (e) => !!(e && e.offsetParent !== null && e.getClientRects().length);
    return {
      title: document.title,
      tree: all('ul.tree .node').map((n) => n.dataset.model),
      tables: all('table.decide').map((t) => ({
        lineage: t.dataset.lineage,
        heads: all('thead th', t).map((h) => h.textContent),
        rows: all('tbody tr', t).map((r) => r.dataset.model),
        pick: all('tbody tr.pick', t).map((r) => r.dataset.model),
        visible: vis(t),
      })),
      scatters: all('svg.scatter').map((s) => ({
        x: s.dataset.x, metric: s.dataset.metric,
        points: all('circle.pt', s).map((c) => c.dataset.model),
        front: all('circle.pt.front', s).map((c) => c.dataset.model),
        labels: all('text.lbl', s).map((t) => t.textContent),
        frontier: all('polyline.frontier', s).length,
        ci: all('line.ci', s).length,
        visible: vis(s),
      })),
      kld: all('svg.kld').map((s) => ({
        model: s.dataset.model, bins: all('rect.bin', s).length,
        caption: s.parentNode.querySelector('figcaption').textContent,
      })),
      pairs: all('details.pair').map((g) => ({
        model: g.dataset.model, task: g.dataset.task,
        summary: g.querySelector('summary').textContent,
        down: all('details.flip[data-dir=down]', g).map((d) => d.dataset.item),
        up: all('details.flip[data-dir=up]', g).map((d) => d.dataset.item),
      })),
      series: all('svg.series').map((s) => ({
        metric: s.dataset.metric,
        lines: all('polyline.hline', s).map((l) => l.dataset.model),
        points: all('circle.hpt', s).length,
        breaks: all('g.break title', s).map((t) => t.textContent),
      })),
      pwned: typeof window.hfePwned !== 'undefined',
      history_text: (document.getElementById('history') || {}).textContent,
      provenance: (document.getElementById('provenance') || {}).textContent,
    };
  }));

  await page.evaluate(() => document.querySelectorAll('details.pair')
      .forEach((g) => { g.open = false; }));
  seen.errors = [];
  const step = async (name, fn) => {
    try { await fn(); } catch (e) { seen.errors.push(name + ': ' + String(e).split('\n')[0]); }
  };
  if (opt.sort) await step('sort', async () => {
    const order = async () => page.evaluate(() =>
        Array.from(document.querySelectorAll('table.decide'))[0]
            .querySelectorAll('tbody tr').length &&
        Array.from(document.querySelector('table.decide')
            .querySelectorAll('tbody tr')).map((r) => r.dataset.model));
    const th = page.locator('table.decide').first()
        .locator('thead th', {hasText: opt.sort}).first();
    await th.click();
    seen.sort_asc = await order();
    await th.click();
    seen.sort_desc = await order();
    await page.locator('table.decide').first().locator('thead th').first().click();
    seen.sort_restored = await order();
  });

  seen.flips = [];
  for (const f of opt.flips) await step('flip ' + f.item, async () => {
    const q = JSON.stringify; // a CSS string: the same escapes
    const pair = page.locator(`details.pair[data-model=${q(f.model)}][data-task=${q(f.task)}]`);
    await pair.locator('summary').first().click();
    const d = pair.locator(`details.flip[data-item=${q(f.item)}]`).first();
    const before = await d.locator('.side').count();
    await d.locator('summary').click();
    const got = await d.evaluate((el) => {
      const vis = (e) => !!(e && e.offsetParent !== null && e.getClientRects().length);
      const side = (w) => {
        const s = el.querySelector('.side.' + w);
        const o = s && s.querySelector('pre.out');
        return s && {head: s.querySelector('h4').textContent,
                     out: o && o.textContent, visible: vis(o),
                     choices: Array.from(s.querySelectorAll('table.ch tr'))
                         .map((r) => Array.from(r.cells).map((c) => c.textContent)),
                     exec: (s.querySelector('.exec') || {}).textContent || null};
      };
      const p = el.querySelector('pre.prompt'), t = el.querySelector('pre.target');
      return {open: el.open, prompt: p && p.textContent, prompt_visible: vis(p),
              target: t && t.textContent, parent: side('parent'), model: side('model')};
    });
    seen.flips.push(Object.assign({want: f, sides_before_click: before}, got));
    await pair.locator('summary').first().click(); // closed again
  });

  if (opt.png) await page.screenshot({path: opt.png, fullPage: true});
  if (opt.top) // the page's first 1,700 pixels: the README's picture
    await page.screenshot({path: opt.top, fullPage: true, clip: {x: 0, y: 0, width: 1500, height: 1700}});
  await browser.close();
  fs.writeFileSync(out, JSON.stringify(seen, null, 1));
}

main().catch((e) => { console.error('browse.cjs: ' + (e && e.stack || e)); process.exit(2); });
