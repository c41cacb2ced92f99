// report.html and the page of `pipeline compare --html` on a phone: Debian's
// headless Chromium driven by puppeteer-core. Two real runs of the example
// against the fake model server on 127.0.0.1 give the pages; at 360 and 390 px
// neither page may be wider than the window (no sideways scrolling), and the
// compare page shows its two cards of a pattern one above the other, the
// report's chart its three panels one above the other, and
// axe-core (pinned in package.json) finds no serious or critical violation on
// either page, on a desktop's window or a phone's. It writes phone-width
// screenshots next to --screenshots (a folder), for docs/.
//
// usage: node report_pages.test.mjs --pipeline BIN --fake BIN --source DIR --screenshots DIR [--chromium BIN]

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { BrowserTest } from './browser_test.mjs';
import { k_launch_args, loadPuppeteer } from './chromium.mjs';

const k_overall_timeout_ms = 150000;
const k_phone_widths = [360, 390];

const { values: args } = parseArgs({
  options: {
    pipeline: { type: 'string' },
    fake: { type: 'string' },
    source: { type: 'string' },
    screenshots: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
for (const name of ['pipeline', 'fake', 'source', 'screenshots']) {
  if (!args[name]) {
    console.error(`report_pages: --${name} is missing`);
    process.exit(2);
  }
}
const puppeteer = await loadPuppeteer('report_pages', args.chromium);

const test = new BrowserTest('report_pages', { timeoutMs: k_overall_timeout_ms, cwd: args.source });
const { tmp } = test;

// The environment of pipeline: the fake model, and its runs under tmp.
function childEnv(baseUrl) {
  return test.childEnv(baseUrl, { PIPELINE_RUNS_DIR: path.join(tmp, 'runs') });
}

function pipeline(baseUrl, argv) {
  const result = spawnSync(args.pipeline, argv, { cwd: args.source, env: childEnv(baseUrl), encoding: 'utf8',
    timeout: 60000 });
  assert.equal(result.status, 0, `pipeline ${argv.join(' ')}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

// The page's widths at a phone's window: the document's and the window's.
async function widths(page, url, width) {
  await page.setViewport({ width, height: 800, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  await page.goto(url, { waitUntil: 'load' });
  return page.evaluate(() => {
    const wide = [];
    for (const node of document.querySelectorAll('body *')) {
      const box = node.getBoundingClientRect();
      if (box.right > window.innerWidth + 0.5 && !node.closest('table')) {
        wide.push(`${node.tagName.toLowerCase()}.${node.className} ${Math.round(box.right)}`);
      }
    }
    return { scroll: document.documentElement.scrollWidth, inner: window.innerWidth, wide: wide.slice(0, 8) };
  });
}

// axe-core's serious and critical violations of the page at `href` in a
// window `width` px wide, one line each. The pages forbid every script by
// their CSP, so axe goes in with the CSP bypassed.
async function accessibilityProblems(page, name, href, width) {
  await page.setBypassCSP(true);
  await page.setViewport({ width, height: 800, deviceScaleFactor: 1, isMobile: width < 700, hasTouch: width < 700 });
  await page.goto(href, { waitUntil: 'load' });
  await page.addScriptTag({ path: createRequire(import.meta.url).resolve('axe-core/axe.min.js') });
  const result = await page.evaluate(async () => {
    const found = await window.axe.run(document, { resultTypes: ['violations'] });
    return { version: window.axe.version, violations: found.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((node) => node.target.join(' ')).slice(0, 3) })) };
  });
  await page.setBypassCSP(false);
  test.log(`axe-core ${result.version} on ${name} at ${width} px: ${result.violations.length} violations ` +
    `(${result.violations.map((v) => `${v.id}:${v.impact}`).join(', ') || 'none'})`);
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${name} at ${width} px: axe ${v.impact} ${v.id} (${v.help}): ${v.nodes.join(', ')}`);
}

// The pages Chromium's print-to-PDF gives for the masthead and the five cards
// alone (the analyses and provenance start on pages of their own), on `format` paper.
async function cardPages(page, href, format) {
  await page.setViewport({ width: 1024, height: 800, deviceScaleFactor: 1, isMobile: false, hasTouch: false });
  await page.goto(href, { waitUntil: 'load' });
  await page.evaluate(() => {
    for (const node of document.querySelectorAll('.analyses, .provenance, footer')) node.remove();
  });
  // The cards' heights as printed, in mm, on the paper's width less the page margins (logged to tune the print CSS).
  await page.setViewport({ width: Math.round(((format === 'A4' ? 210 : 215.9) - 24) / 25.4 * 96), height: 800 });
  await page.emulateMediaType('print');
  const heights = await page.$$eval('.card', (cards) => cards.map((card) =>
    Math.round(card.getBoundingClientRect().height / 96 * 25.4)));
  test.log(`${format}: card heights in mm: ${heights.join(', ')}`);
  await page.emulateMediaType(null);
  const pdf = await page.pdf({ format, preferCSSPageSize: false, printBackground: false });
  // Every page object of Chromium's PDF is "/Type /Page" and the tree "/Type /Pages".
  return (Buffer.from(pdf).toString('latin1').match(/\/Type\s*\/Page(?!s)/g) || []).length;
}

async function main() {
  const { url } = await test.startListening('fake-llm-server', args.fake, [], childEnv(''));
  test.log(`fake model at ${url}`);
  const example = path.join(args.source, 'examples', 'example-case-study.pdf');
  pipeline(url, ['run', example, '--brand', 'hollowmere-dairy', '--run-id', 'dairy']);
  pipeline(url, ['run', example, '--brand', 'marigold-mill', '--run-id', 'spice']);
  const comparePath = path.join(tmp, 'compare.html');
  pipeline(url, ['compare', 'dairy', 'spice', '--html', comparePath]);
  const pages = {
    report: pathToFileURL(path.join(tmp, 'runs', 'dairy', 'report.html')).href,
    compare: pathToFileURL(comparePath).href,
  };

  test.browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: 'shell',
    args: [...k_launch_args, `--user-data-dir=${path.join(tmp, 'chromium')}`],
  });
  const page = await test.browser.newPage();
  // Every failed check, so that one run shows them all.
  const problems = [];
  for (const format of ['A4', 'Letter']) {
    const count = await cardPages(page, pages.report, format);
    test.log(`report printed on ${format}: the masthead and five cards on ${count} pages`);
    if (count > 3) problems.push(`the five cards print on ${count} ${format} pages, not 3 at most`);
  }
  for (const [name, href] of Object.entries(pages)) {
    for (const width of [1024, 390]) problems.push(...await accessibilityProblems(page, name, href, width));
  }
  fs.mkdirSync(args.screenshots, { recursive: true });
  for (const [name, href] of Object.entries(pages)) {
    for (const width of k_phone_widths) {
      const seen = await widths(page, href, width);
      test.log(`${name} at ${width} px: scrollWidth ${seen.scroll}, innerWidth ${seen.inner}`);
      // On a phone the layout viewport grows to the content, so the window must also stay the phone's width.
      if (seen.scroll > seen.inner || seen.inner > width) {
        problems.push(`${name} at ${width} px scrolls sideways: scrollWidth ${seen.scroll}, innerWidth ${seen.inner}; wide: ${seen.wide.join(', ')}`);
      }
      if (width === 390) {
        await page.screenshot({ path: path.join(args.screenshots, `${name}-phone.png`), fullPage: false });
      }
      if (name === 'report') {
        // The chart's three panels one above the other, each stage's figure as text on its row.
        const chart = await page.$$eval('.chart-panel', (panels) => panels.map((panel) => {
          const box = panel.getBoundingClientRect();
          return { top: box.top, bottom: box.bottom, right: box.right,
            values: [...panel.querySelectorAll('.bar-value')].map((value) => value.textContent) };
        }));
        const stacked = chart.length === 3 && chart[1].top >= chart[0].bottom && chart[2].top >= chart[1].bottom;
        if (!stacked) problems.push(`report at ${width} px: the chart's panels are not one above the other`);
        if (chart.some((panel) => panel.right > width || panel.values.length !== 5)) {
          problems.push(`report at ${width} px: a chart panel is wider than the window or lacks its five figures`);
        }
        if (width === 390) {
          await (await page.$('.chart')).screenshot({ path: path.join(args.screenshots, 'report-chart-phone.png') });
        }
      }
      if (name === 'compare') {
        // One column: the second card of a pattern starts below the first.
        const stacked = await page.$eval('.pattern .cards', (cards) => {
          const [a, b] = cards.children;
          return b.getBoundingClientRect().top >= a.getBoundingClientRect().bottom;
        });
        if (!stacked) problems.push(`compare at ${width} px keeps two columns`);
      }
    }
  }
  assert.deepEqual(problems, []);
}

let failed = false;
try {
  await main();
  test.log('ok');
} catch (error) {
  failed = true;
  console.error(`report_pages: FAILED: ${error.stack || error.message}`);
  test.printChildErrors();
} finally {
  await test.cleanUp();
}
process.exit(failed ? 1 : 0);
