// examples/web/pipeline-client.ts for real: a run started with createRun()
// from Node, followed by followEvents() in headless Chromium on a page of
// another origin (CORS, the read token as ?access_token=), while `pipeline
// serve` is killed with SIGKILL mid-run and started again on the same port.
// EventSource must reconnect with Last-Event-ID and the page must see every
// event of the run's log exactly once, each stage_done by name, and the end.
// Every process is on 127.0.0.1; Chromium resolves no name at all.
// Usage: node tests/web_client_browser.mjs <pipeline> <fake-llm-server>
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import ts from "typescript";

const require = createRequire(import.meta.url);
const puppeteer = require("puppeteer-core");

const [pipelineBinary, fakeServerBinary] = process.argv.slice(2);
const sourceDir = process.cwd();
const chromium = "/usr/bin/chromium";
const serviceToken = "service-token-of-the-browser-test";
const temp = mkdtempSync(path.join(os.tmpdir(), "pipeline-web-client-"));
const children = new Set();
let browser = null;
let pageServer = null;

function fail(message) {
  throw new Error(message);
}

// Starts a process and resolves with it and the URL it prints as "listening on <url>".
function start(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`${path.basename(command)} did not start: ${err}`)), 20000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /listening on (\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] });
      }
    });
    child.stderr.on("data", (chunk) => (err += chunk));
    child.on("exit", (code) => {
      children.delete(child);
      clearTimeout(timer);
      reject(new Error(`${path.basename(command)} exited (${code}) before listening: ${err}`));
    });
  });
}

function stop(child, signal = "SIGTERM") {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

async function until(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// The client as the browser loads it: TypeScript with its types removed.
const clientSource = ts.transpileModule(readFileSync(path.join(sourceDir, "examples/web/pipeline-client.ts"), "utf8"), {
  compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
}).outputText;
const page = `<!doctype html><meta charset="utf-8"><title>follow</title>
<script type="module">
import { PipelineClient } from "./pipeline-client.js";
const query = new URLSearchParams(location.search);
const token = query.get("token");
window.seen = []; window.named = []; window.errors = []; window.ended = null;
new PipelineClient({ baseUrl: query.get("api"), token }).followEvents(query.get("run"), token, {
  onEvent: (event, sequence) => window.seen.push([sequence, event.event]),
  on: { stage_done: (event) => window.named.push(event.stage) },
  onEnd: (run) => { window.ended = run ? run.status : "run_finished"; },
  onError: ({ retrying }) => window.errors.push(retrying),
});
</script>`;

async function main() {
  for (const file of [pipelineBinary, fakeServerBinary, chromium]) {
    if (!file || !existsSync(file)) fail(`${file} is missing (chromium: run scripts/setup.sh; the others: build them)`);
  }

  // The web app's origin: a page and the client, nothing else.
  pageServer = http.createServer((request, response) => {
    const name = new URL(request.url, "http://x").pathname;
    if (name === "/") response.writeHead(200, { "Content-Type": "text/html" }).end(page);
    else if (name === "/pipeline-client.js") response.writeHead(200, { "Content-Type": "text/javascript" }).end(clientSource);
    else response.writeHead(404).end();
  });
  await new Promise((resolve) => pageServer.listen(0, "127.0.0.1", resolve));
  const pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;

  // A model slow enough (1.5 s before each answer) for a cut mid-run.
  const fake = await start(fakeServerBinary, ["--first-token-ms", "1500"], {});
  const serveEnv = {
    PIPELINE_BASE_URL: fake.url,
    PIPELINE_MODEL: "test-model",
    PIPELINE_API_KEY: "",
    PIPELINE_SERVE_TOKENS: serviceToken,
    PIPELINE_CACHE_DIR: path.join(temp, "cache"),
  };
  const serveArgs = (listen) => ["serve", "--listen", listen, "--runs-dir", path.join(temp, "runs"), "--brands-dir",
                                 path.join(sourceDir, "examples/brands"), "--cors-origin", pageOrigin];
  let serve = await start(pipelineBinary, serveArgs("127.0.0.1:0"), serveEnv);
  const api = serve.url;

  // The web app's server starts the run with the service token.
  const { PipelineClient } = await import("data:text/javascript;base64," + Buffer.from(clientSource).toString("base64"));
  const service = new PipelineClient({ baseUrl: api, token: serviceToken });
  const pdf = new Blob([readFileSync(path.join(sourceDir, "examples/example-case-study.pdf"))], { type: "application/pdf" });
  const created = await service.createRun({ file: pdf, filename: "example-case-study.pdf" }, {
    brand: "hollowmere-dairy",
    idempotencyKey: `browser-test-${process.pid}`,
  });
  if (!created.read_token?.startsWith("prt_")) fail(`no read token in ${JSON.stringify(created)}`);

  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: path.join(temp, "profile"),
    args: ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
  });
  const tab = await browser.newPage();
  const hosts = new Set();
  tab.on("request", (request) => hosts.add(new URL(request.url()).hostname));
  const query = new URLSearchParams({ api, run: created.run_id, token: created.read_token });
  await tab.goto(`${pageOrigin}/?${query}`);
  const state = () => tab.evaluate(() => ({ seen: window.seen, named: window.named, errors: window.errors, ended: window.ended }));

  // Cut the stream mid-run: SIGKILL, then the same server again on the same port.
  const before = await until("the page to see stage 1's stage_done", async () => {
    const now = await state();
    return now.named.length >= 1 && !now.ended ? now : null;
  }, 60000);
  await stop(serve.child, "SIGKILL");
  serve = await start(pipelineBinary, serveArgs(new URL(api).host), serveEnv);

  const after = await until("the run's end in the page", async () => {
    const now = await state();
    return now.ended ? now : null;
  }, 120000);

  // What the run's log holds, read in one go with the service token.
  const log = await (await fetch(`${api}/v1/runs/${created.run_id}/events`, {
    headers: { Authorization: `Bearer ${serviceToken}` },
  })).text();
  const logged = [...log.matchAll(/^id: (\d+)\nevent: (\S+)$/gm)].map((match) => [Number(match[1]), match[2]]);
  const run = await service.getRun(created.run_id);

  const problems = [];
  if (JSON.stringify(after.seen) !== JSON.stringify(logged)) {
    problems.push(`the page saw ${JSON.stringify(after.seen.map((s) => s[0]))}, the log holds ${JSON.stringify(logged.map((s) => s[0]))}`);
  }
  if (!after.errors.includes(true)) problems.push("the page never saw the stream break");
  if (JSON.stringify(after.named) !== "[1,2,3,4,5]") problems.push(`stage_done by name: ${JSON.stringify(after.named)}`);
  if (after.ended !== "run_finished" || run.status !== "completed") problems.push(`ended ${after.ended}, the run is ${run.status}`);
  if (run.job?.attempts !== 2) problems.push(`the job ran ${run.job?.attempts} times, not twice (cut and resumed)`);
  const elsewhere = [...hosts].filter((host) => host !== "127.0.0.1");
  if (elsewhere.length > 0) problems.push(`the page reached ${elsewhere.join(", ")}`);
  if (problems.length > 0) fail(problems.join("\n"));
  console.log(`web client: ${logged.length} events, ${before.seen.length} before the cut, each seen once; ` +
              `stream errors ${after.errors.length}; ended on ${after.ended}`);
}

try {
  await main();
} catch (error) {
  console.error(`web client: ${error.message}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  pageServer?.close();
  await Promise.all([...children].map((child) => stop(child)));
  rmSync(temp, { recursive: true, force: true });
}
