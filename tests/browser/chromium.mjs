// Debian's Chromium as the browser tests start it, driven by the pinned
// npm puppeteer-core; a missing browser or module fails the test with the
// set-up command to run.
import fs from 'node:fs';

// puppeteer adds --headless itself (headless: 'shell'); the rest keeps
// Chromium off the network, which this machine's closed network refuses.
export const k_launch_args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// puppeteer-core, once the browser at `chromium` is known to be there;
// exits 1 naming `test` otherwise.
export async function loadPuppeteer(test, chromium) {
  if (!fs.existsSync(chromium)) {
    console.error(`${test}: no browser at ${chromium}: run scripts/setup.sh --test-tools`);
    process.exit(1);
  }
  try {
    return (await import('puppeteer-core')).default;
  } catch (error) {
    console.error(`${test}: puppeteer-core is not installed (${error.code || error.message}): ` +
      'run scripts/setup.sh --test-tools');
    process.exit(1);
  }
}
