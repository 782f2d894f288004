// Starts the local portal for a browser test: a fresh data folder, a free port, the clock frozen
// on Thursday 26 November 2026, 10:00 in Paris. EF_BIN names the binary (scripts/test sets it).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.EF_BIN;

export /** Starts a fresh local portal; resolves with its address and a stop function. */
async function startPortal() {
  if (!BIN) throw new Error('EF_BIN names the espace-famille-local binary (scripts/test sets it)');
  const dir = mkdtempSync(join(tmpdir(), 'ef-browser-'));
  const child = spawn(BIN, ['--addr', '127.0.0.1:0', '--data-dir', dir, '--reset', '--frozen-clock', '2026-11-26T09:00:00Z'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/Portail\s+: (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`the portal stopped (${code}): ${out}`)));
    setTimeout(() => reject(new Error(`the portal did not start: ${out}`)), 60_000).unref();
  });
  // Stopping waits for the portal to exit before removing its folder: removed while the portal
  // still writes (its store flushes on SIGINT), the folder is not empty yet (ENOTEMPTY).
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      // A portal that ignores SIGINT must not hang the run.
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
    }
    await exited;
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  };
  return { url, stop };
}

