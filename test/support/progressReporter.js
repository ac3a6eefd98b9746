/**
 * A jest reporter that says which test file and test are running, with the time since the run
 * began, and every minute names what has been running a long time. CI output without this shows
 * only finished files, so a run that stalls cannot say where.
 */
class ProgressReporter {
  constructor() {
    this.started = Date.now();
    this.current = new Map(); // test file path -> { since, test }
    this.timer = setInterval(() => this.heartbeat(), 60_000);
    this.timer.unref();
  }

  elapsed() {
    return `${((Date.now() - this.started) / 1000).toFixed(1)} s`;
  }

  relative(p) {
    return p.startsWith(process.cwd()) ? p.slice(process.cwd().length + 1) : p;
  }

  onTestFileStart(test) {
    this.current.set(test.path, { since: Date.now(), test: '(setting up)' });
    process.stderr.write(`[${this.elapsed()}] start ${this.relative(test.path)}\n`);
  }

  onTestCaseStart(test, info) {
    const entry = this.current.get(test.path);
    if (entry) entry.test = info.fullName;
  }

  onTestFileResult(test) {
    this.current.delete(test.path);
  }

  heartbeat() {
    for (const [file, { since, test }] of this.current) {
      const seconds = Math.round((Date.now() - since) / 1000);
      if (seconds >= 60) process.stderr.write(`[${this.elapsed()}] still running after ${seconds} s: ${this.relative(file)} › ${test}\n`);
    }
  }

  onRunComplete() {
    clearInterval(this.timer);
  }
}

module.exports = ProgressReporter;
