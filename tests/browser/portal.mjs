// Starts the local portal for a browser test: a fresh data folder, a free port, the clock frozen
// on Thursday 26 November 2026, 10:00 in Paris. EF_BIN names the binary (scripts/test sets it).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = process.env.EF_BIN;

export /** Starts a fresh local portal; resolves with its address, its data folder and a stop
 * function. `clock` freezes it on another instant; `dir` starts it again on the data a stopped
 * one kept (`stop({ keep: true })`), as the town left it. */
async function startPortal({ clock = '2026-11-26T09:00:00Z', dir: kept } = {}) {
  if (!BIN) throw new Error('EF_BIN names the espace-famille-local binary (scripts/test sets it)');
  const dir = kept ?? mkdtempSync(join(tmpdir(), 'ef-browser-'));
  const args = ['--addr', '127.0.0.1:0', '--data-dir', dir, ...(kept ? [] : ['--reset']), '--frozen-clock', clock];
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'inherit'] });
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
  const stop = async ({ keep = false } = {}) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      // A portal that ignores SIGINT must not hang the run.
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
    }
    await exited;
    if (!keep) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  };
  return { url, dir, stop };
}


const STACK = process.env.EF_STACK_BIN;

export /** Starts the stack twin (infra/stack: each function's own binary behind its API Gateway
 * and CloudFront twins, moto for AWS) with the demo town, on the system clock; resolves with its
 * address and a stop function. EF_STACK_BIN names its binary, the functions' binaries beside it
 * (scripts/test builds them); `null` when it is not set. */
async function startTwin() {
  if (!STACK) return null;
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const child = spawn(STACK, ['--addr', '127.0.0.1:0', '--demo', '--bin-dir', dirname(STACK)], {
    cwd: root,
    stdio: ['ignore', 'pipe', process.env.EF_STACK_LOG ? 'inherit' : 'ignore'],
  });
  if (process.env.EF_STACK_LOG) child.stdout.on('data', (chunk) => process.stderr.write(chunk));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/Portal\s+: (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`the twin stopped (${code}): ${out}`)));
    setTimeout(() => reject(new Error(`the twin did not start: ${out}`)), 120_000).unref();
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
    }
    await exited;
  };
  return { url, stop };
}
