// What each browser test needs around the browser: a temporary folder, an
// environment for child processes without the caller's pipeline or provider
// settings, child processes that print "listening on URL", a watchdog, and a
// clean-up that leaves no process or file behind.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class BrowserTest {
  // `name` prefixes every line the test prints; children start in `cwd`.
  constructor(name, { timeoutMs, cwd }) {
    this.name = name;
    this.cwd = cwd;
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${name.replaceAll('_', '-')}-`));
    this.children = [];
    this.browser = null;
    this.watchdog = setTimeout(async () => {
      console.error(`${name}: FAILED: took longer than ${timeoutMs / 1000} s`);
      await this.cleanUp();
      process.exit(1);
    }, timeoutMs);
  }

  log(text) {
    console.log(`${this.name}: ${text}`);
  }

  // The environment of a child process: none of the caller's pipeline or
  // provider settings, the fake model at `baseUrl` (if any), the rest under tmp.
  childEnv(baseUrl, extra = {}) {
    const env = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (!/^(PIPELINE_|OPENROUTER_|OPENAI_)/.test(key)) env[key] = value;
    }
    const tmp = this.tmp;
    return {
      ...env, HOME: tmp, XDG_CACHE_HOME: path.join(tmp, 'xdg-cache'), XDG_DATA_HOME: path.join(tmp, 'xdg-data'),
      XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'), PIPELINE_CACHE_DIR: path.join(tmp, 'cache'), PIPELINE_NO_CACHE: '1',
      ...(baseUrl ? { PIPELINE_BASE_URL: baseUrl, PIPELINE_MODEL: 'test-model', PIPELINE_API_KEY: '' } : {}),
      ...extra,
    };
  }

  // Starts a program and resolves with { child, url } at the first
  // "listening on URL" it prints; rejects if it exits or is silent for 15 s.
  startListening(label, program, argv, env) {
    return new Promise((resolve, reject) => {
      const child = spawn(program, argv, { cwd: this.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      this.children.push(child);
      let out = '';
      let err = '';
      const onExit = (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${label} exited (${code ?? signal}) before it listened:\n${out}${err}`));
      };
      const timer = setTimeout(() => reject(new Error(`${label} printed no "listening on" within 15 s:\n${out}${err}`)),
        15000);
      child.stdout.on('data', (chunk) => {
        out = (out + chunk).slice(-20000);
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve({ child, url: match[1] });
        }
      });
      child.stderr.on('data', (chunk) => {
        err += chunk;
        if (err.length > 20000) err = err.slice(-10000);
      });
      child.once('exit', onExit);
      child.stderrText = () => err;
    });
  }

  // What the children wrote on stderr, for a failed test's report.
  printChildErrors() {
    for (const child of this.children) {
      if (child.stderrText && child.stderrText()) console.error(`--- stderr of ${child.spawnfile}:\n${child.stderrText()}`);
    }
  }

  async cleanUp() {
    clearTimeout(this.watchdog);
    if (this.browser) await this.browser.close().catch(() => {});
    this.browser = null;
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
    await Promise.all(this.children.map((child) => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 5000);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
    })));
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}
