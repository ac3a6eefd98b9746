#!/usr/bin/env node
// `npm test` runs this first (pretest): the browser tests drive Debian's Chromium and must not be
// skipped, so install it when it is missing and we may (root with apt-get); otherwise say how.
const { execSync } = require('node:child_process');
const fs = require('node:fs');

const path = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (fs.existsSync(path)) process.exit(0);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let hasApt = true;
try {
  execSync('command -v apt-get', { stdio: 'ignore', shell: '/bin/sh' });
} catch {
  hasApt = false;
}
if (!isRoot || !hasApt) {
  console.error(
    `Chromium is needed for the browser tests and is not at ${path}.\nInstall it (Debian: sudo apt-get install chromium) or set CHROMIUM_PATH.`,
  );
  process.exit(1);
}
console.log('Installing Debian’s chromium for the browser tests (one time, about a minute)…');
try {
  execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', { stdio: 'inherit', shell: '/bin/sh' });
} catch {
  console.error('Could not install chromium with apt-get; install it by hand or set CHROMIUM_PATH.');
  process.exit(1);
}
console.log('chromium installed.');
