// The page of `pipeline serve` in a real browser: Debian's headless Chromium
// driven by puppeteer-core, against a real `pipeline serve` and the fake model
// server, all on 127.0.0.1. It uploads a real PDF, watches the five stages
// arrive in the page one after another, opens the report, and checks that no
// request left 127.0.0.1 and the console stayed free of errors. A second
// server with tokens checks that the page asks for a service token once,
// keeps it for the tab, uploads a brand profile, and follows a run with the
// run's read token. It writes the screenshot of the finished run to
// --screenshot (docs/serve-page.png from CTest).
//
// usage: node serve_page.test.mjs --pipeline BIN --fake BIN --source DIR --screenshot PNG [--chromium BIN]

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { BrowserTest } from './browser_test.mjs';
import { k_launch_args, loadPuppeteer } from './chromium.mjs';

const k_overall_timeout_ms = 120000;

const { values: args } = parseArgs({
  options: {
    pipeline: { type: 'string' },
    fake: { type: 'string' },
    source: { type: 'string' },
    screenshot: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
for (const name of ['pipeline', 'fake', 'source', 'screenshot']) {
  if (!args[name]) {
    console.error(`serve_page: --${name} is missing`);
    process.exit(2);
  }
}

const puppeteer = await loadPuppeteer('serve_page', args.chromium);

const test = new BrowserTest('serve_page', { timeoutMs: k_overall_timeout_ms, cwd: args.source });
const { tmp } = test;

async function startServe(fakeUrl, extraEnv = {}) {
  const store = fs.mkdtempSync(path.join(tmp, 'store-'));
  const { child, url } = await test.startListening('pipeline serve', args.pipeline,
    ['serve', '--listen', '127.0.0.1:0', '--store', store, '--workers', '2', '--brands-dir',
      path.join(args.source, 'examples/brands')],
    test.childEnv(fakeUrl, extraEnv));
  const origin = new URL(url).origin;
  assert.match(origin, /^http:\/\/127\.0\.0\.1:\d+$/, `serve listens on loopback: ${url}`);
  return { child, origin };
}

// A page with watchers: every request's URL must be on `origin`; console
// errors and answers of 400 and above are collected for the checks.
async function openWatchedPage(origin, allow = () => false) {
  const page = await test.browser.newPage();
  const seen = { requests: [], foreign: [], errors: [], failures: [] };
  watch(page, origin, seen, allow);
  return { page, seen };
}

function watch(page, origin, seen, allow) {
  page.on('request', (request) => {
    const url = request.url();
    seen.requests.push(url);
    if (new URL(url).origin !== origin) seen.foreign.push(url);
  });
  page.on('console', (message) => {
    if (message.type() === 'error' && !allow(message.text())) seen.errors.push(message.text());
  });
  page.on('pageerror', (error) => seen.errors.push(`uncaught: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400 && !allow(`${response.status()} ${response.url()}`)) {
      seen.failures.push(`${response.status()} ${response.url()}`);
    }
  });
}

function checkClean(seen, where) {
  assert.ok(seen.requests.length > 0, `${where}: the page made requests`);
  assert.deepEqual(seen.foreign, [], `${where}: every request stays on 127.0.0.1`);
  assert.deepEqual(seen.errors, [], `${where}: no console errors`);
  assert.deepEqual(seen.failures, [], `${where}: no failed answers`);
}

// Records each stage row's status whenever it changes, with the wall clock,
// from before the run starts: the page's own view of the stages arriving.
async function recordStages(page) {
  await page.evaluate(() => {
    window.__stageLog = [];
    const last = new Map();
    const list = document.getElementById('stage-list');
    const note = () => {
      for (const item of list.querySelectorAll('li.stage')) {
        const status = item.dataset.status;
        if (last.get(item.id) !== status) {
          last.set(item.id, status);
          window.__stageLog.push({ id: item.id, status, at: Date.now() });
        }
      }
    };
    new MutationObserver(note).observe(list, { subtree: true, childList: true, attributes: true,
      attributeFilter: ['data-status'] });
  });
}

// Checks that stages 1..5 each went running then done, in order, as the
// server finished them rather than all at once at the end.
function checkStagesArrived(stageLog, run) {
  const first = (id, status) => {
    const entry = stageLog.find((item) => item.id === id && item.status === status);
    assert.ok(entry, `the page showed ${id} ${status}; it showed ${JSON.stringify(stageLog.map((e) => `${e.id}:${e.status}`))}`);
    return entry;
  };
  let previousDone = null;
  for (let number = 1; number <= 5; ++number) {
    const running = first(`stage-${number}`, 'running');
    const done = first(`stage-${number}`, 'done');
    assert.ok(running.at <= done.at, `stage ${number} ran before it was done`);
    if (previousDone) {
      assert.ok(stageLog.indexOf(previousDone) < stageLog.indexOf(running),
        `stage ${number - 1} was done in the page before stage ${number} started`);
    }
    previousDone = done;
  }
  const finished = run.stages.map((stage) => Date.parse(stage.finished_at));
  const serverSpan = finished[4] - finished[0];
  const pageSpan = first('stage-5', 'done').at - first('stage-1', 'done').at;
  assert.ok(serverSpan >= 1000, `stages 1 to 5 finished ${serverSpan} ms apart: too fast to watch them arrive`);
  assert.ok(pageSpan >= serverSpan * 0.5,
    `the page showed stages 1 to 5 done ${pageSpan} ms apart, the server finished them ${serverSpan} ms apart: ` +
    'they did not arrive live');
}

async function getJson(origin, pathname, token) {
  const response = await fetch(origin + pathname, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  assert.equal(response.status, 200, `GET ${pathname}`);
  return response.json();
}

async function startRunFromPage(page, brand) {
  await page.waitForSelector(`#brand-select option[value="${brand}"]`, { timeout: 10000 });
  await page.select('#brand-select', brand);
  const input = await page.$('#pdf-file');
  await input.uploadFile(path.join(args.source, 'examples/example-case-study.pdf'));
  await recordStages(page);
  await page.click('#start-button');
  await page.waitForFunction(() => /^Run \S+/.test(document.getElementById('run-title').textContent), { timeout: 10000 });
  const runId = await page.$eval('#run-title', (node) => node.textContent.replace(/^Run /, ''));
  await page.waitForSelector('#report-link:not([hidden])', { timeout: 45000 });
  return runId;
}

// The page's stage rows agree with the server's record of the run.
async function checkStageFigures(page, run) {
  const rows = await page.$$eval('#stage-list li.stage', (items) => items.map((item) => ({
    status: item.dataset.status,
    name: item.querySelector('.label').textContent,
    time: item.querySelector('.figure-time dd').textContent,
    tokens: item.querySelector('.figure-tokens dd').textContent,
  })));
  assert.equal(rows.length, 5, 'five stage rows');
  const format = new Intl.NumberFormat('en-US');
  run.stages.forEach((stage, index) => {
    const row = rows[index];
    assert.equal(stage.status, 'done', `the server says stage ${stage.number} is done`);
    assert.equal(row.status, 'done', `row ${index + 1} is done`);
    assert.equal(row.name.toLowerCase(), stage.name, `row ${index + 1} names stage ${stage.name}`);
    assert.match(row.time, /\d s$/, `row ${index + 1} shows a time`);
    assert.ok(stage.prompt_tokens > 0, `stage ${stage.number} used tokens`);
    assert.equal(row.tokens, `${format.format(stage.prompt_tokens)} in · ${format.format(stage.completion_tokens)} out`,
      `row ${index + 1} shows the server's tokens`);
  });
}

// Clicks "Open the report" and checks the tab it opens, loaded once more
// under watch so that every request of it is seen.
async function openReport(page, origin, runId) {
  const href = await page.$eval('#report-link', (link) => link.href);
  assert.ok(href.startsWith(`${origin}/v1/runs/${runId}/report.html`), `the report link: ${href}`);
  const opened = test.browser.waitForTarget((target) => target.url().startsWith(href.split('?')[0]), { timeout: 10000 });
  await page.click('#report-link');
  const report = await (await opened).page();
  const seen = { requests: [], foreign: [], errors: [], failures: [] };
  watch(report, origin, seen, () => false);
  const response = await report.reload({ waitUntil: 'networkidle0' });
  assert.equal(response.status(), 200, 'the report answers 200');
  assert.match(response.headers()['content-type'] || '', /^text\/html/, 'the report is HTML');
  const heading = await report.$eval('h1', (node) => node.textContent.trim());
  assert.ok(heading.length > 0, 'the report has a title');
  checkClean(seen, 'report.html');
  await report.close();
  return href;
}

async function withoutTokens(fakeUrl) {
  const { origin } = await startServe(fakeUrl);
  test.log(`serve without tokens at ${origin}`);
  const { page, seen } = await openWatchedPage(origin);
  await page.emulateMediaFeatures([{ name: 'prefers-reduced-motion', value: 'reduce' }]);
  await page.setViewport({ width: 1280, height: 900 });
  const response = await page.goto(`${origin}/`, { waitUntil: 'networkidle0' });
  assert.equal(response.status(), 200, 'GET / answers 200');
  assert.match(response.headers()['content-security-policy'] || '', /script-src 'self'/, 'the page is served with a CSP');
  assert.equal(await page.$eval('#token-panel', (node) => node.hidden), true, 'no token asked without tokens');
  assert.equal(await page.title(), 'pipeline: run a document');

  const started = Date.now();
  const runId = await startRunFromPage(page, 'hollowmere-dairy');
  test.log(`run ${runId} completed in the page after ${Date.now() - started} ms`);
  const run = await getJson(origin, `/v1/runs/${runId}`);
  assert.equal(run.status, 'completed');
  assert.equal(await page.$eval('#run-status', (node) => node.textContent), 'Completed');
  checkStagesArrived(await page.evaluate(() => window.__stageLog), run);
  await checkStageFigures(page, run);
  const announced = await page.$eval('#announcer', (node) => node.textContent);
  assert.match(announced, /The run is complete/, 'the live region says the run is complete');

  await page.waitForFunction((id) => {
    const badge = document.querySelector(`#recent-list [data-run="${id}"]`);
    return badge && badge.dataset.status === 'completed';
  }, { timeout: 10000 }, runId);

  await page.screenshot({ path: args.screenshot, fullPage: true });
  await page.setViewport({ width: 360, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `nothing sticks out sideways at 360 px (${overflow} px)`);
  await page.setViewport({ width: 1280, height: 900 });

  await openReport(page, origin, runId);
  checkClean(seen, 'the page without tokens');
  await page.close();
}

async function withTokens(fakeUrl) {
  const token = `svc-${randomBytes(12).toString('hex')}`;
  const { origin } = await startServe(fakeUrl, { PIPELINE_SERVE_TOKENS: token });
  test.log(`serve with tokens at ${origin}`);
  // The answers of 400 and above each step provokes on purpose (the browser
  // logs each as a console error too); none at other times.
  let expected = /401/;
  const allow = (text) => Boolean(expected && expected.test(text));
  const { page, seen } = await openWatchedPage(origin, allow);
  const authorized = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.startsWith('/v1/')) authorized.push(request);
  });
  await page.goto(`${origin}/`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#token-panel:not([hidden])', { timeout: 10000 });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'token-input', 'the token field has the focus');

  await page.type('#token-input', 'not-the-token');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /not accepted/.test(document.getElementById('token-message').textContent),
    { timeout: 10000 });

  expected = null;
  await page.type('#token-input', token);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#brand-select option[value="hollowmere-dairy"]', { timeout: 10000 });
  assert.equal(await page.$eval('#token-panel', (node) => node.hidden), true, 'the token form goes away');

  // A brand profile of our own, uploaded through the page: first one the
  // server refuses (a research file it cannot read), whose reason the page shows.
  const profile = JSON.parse(fs.readFileSync(path.join(args.source, 'examples/brands/hollowmere-dairy.json'), 'utf8'));
  profile.id = 'page-test-creamery';
  profile.company_name = 'Page Test Creamery';
  assert.ok(profile.research_file, 'the example brand names a research file');
  const profilePath = path.join(tmp, 'page-test-creamery.json');
  fs.writeFileSync(profilePath, JSON.stringify(profile, null, 2));
  await page.click('#brand-upload summary');
  expected = /422/;
  await (await page.$('#brand-file')).uploadFile(profilePath);
  await page.click('#brand-upload-button');
  await page.waitForFunction(() => /not saved: .*research_file/.test(document.getElementById('brand-message').textContent),
    { timeout: 10000 });
  expected = null;
  delete profile.research_file;
  fs.writeFileSync(profilePath, JSON.stringify(profile, null, 2));
  await (await page.$('#brand-file')).uploadFile(profilePath);
  await page.click('#brand-upload-button');
  await page.waitForFunction(() => document.getElementById('brand-select').value === 'page-test-creamery',
    { timeout: 10000 });
  assert.match(await page.$eval('#brand-message', (node) => node.textContent), /saved/);

  // The token is kept for the tab: a reload asks for nothing.
  await page.reload({ waitUntil: 'networkidle0' });
  await page.waitForSelector('#brand-select option[value="page-test-creamery"]', { timeout: 10000 });
  assert.equal(await page.$eval('#token-panel', (node) => node.hidden), true, 'no token asked after a reload');

  const runId = await startRunFromPage(page, 'page-test-creamery');
  test.log(`run ${runId} with a read token completed in the page`);
  const run = await getJson(origin, `/v1/runs/${runId}`, token);
  assert.equal(run.brand && run.brand.id, 'page-test-creamery');
  checkStagesArrived(await page.evaluate(() => window.__stageLog), run);

  const withToken = authorized.filter((request) => request.headers().authorization === `Bearer ${token}`);
  assert.ok(withToken.length > 0, 'fetches carry the service token as Bearer');
  const streams = authorized.filter((request) => new URL(request.url()).pathname.endsWith('/events'));
  assert.ok(streams.length > 0, 'the page opened the event stream');
  for (const stream of streams) {
    assert.match(new URL(stream.url()).searchParams.get('access_token') || '', /^prt_/,
      'the event stream carries the run\'s read token, not the service token');
  }
  const href = await openReport(page, origin, runId);
  assert.match(new URL(href).searchParams.get('access_token') || '', /^prt_/, 'the report link carries the read token');

  // A run cancelled from the page while its first stage runs.
  await page.waitForSelector('#pdf-file');
  await (await page.$('#pdf-file')).uploadFile(path.join(args.source, 'examples/example-case-study.pdf'));
  await page.click('#start-button');
  await page.waitForSelector('#stage-1[data-status="running"]', { timeout: 15000 });
  const cancelledId = await page.$eval('#run-title', (node) => node.textContent.replace(/^Run /, ''));
  assert.notEqual(cancelledId, runId, 'a second run started');
  await page.click('#cancel-button');
  await page.waitForFunction(() => document.getElementById('run-status').dataset.status === 'cancelled',
    { timeout: 15000 });
  assert.equal(await page.$eval('#cancel-button', (node) => node.hidden), true, 'no cancel button on a cancelled run');
  assert.equal(await page.$eval('#report-link', (node) => node.hidden), true, 'no report of a cancelled run');
  assert.equal((await getJson(origin, `/v1/runs/${cancelledId}`, token)).status, 'cancelled');
  checkClean(seen, 'the page with tokens');
  await page.close();
}

async function main() {
  const fake = await test.startListening('fake-llm-server', args.fake,
    // Slow enough that the stages of a run finish seconds apart (a run takes
    // about 6 s), so that the page can be seen to show them as they finish.
    ['--first-token-ms', '200', '--tokens-per-second', '1000'], test.childEnv(''));
  test.log(`fake model at ${fake.url}`);
  test.browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: 'shell',
    args: [...k_launch_args, `--user-data-dir=${path.join(tmp, 'chromium')}`],
  });
  await withoutTokens(fake.url);
  await withTokens(fake.url);
}

let failed = false;
try {
  await main();
  test.log('ok');
} catch (error) {
  failed = true;
  console.error(`serve_page: FAILED: ${error.stack || error.message}`);
  test.printChildErrors();
} finally {
  await test.cleanUp();
}
process.exit(failed ? 1 : 0);
