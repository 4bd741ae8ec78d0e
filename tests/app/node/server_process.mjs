// Starts gemdesk-server(-fake) on a free loopback port and waits for its "listening on" line;
// waitReady() then waits until the model has loaded.
import { spawn } from 'node:child_process';

export function startServer(bin, args, env = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out} ${err}`)), 10000);
    proc.stderr.on('data', (d) => { err += d; });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/([^:]+):(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[2]), url: `http://127.0.0.1:${m[2]}`, stop: () => stopServer(proc) });
      }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}: ${err}`)); });
  });
}

function stopServer(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve(proc.exitCode);
    proc.removeAllListeners('exit');
    proc.on('exit', (code) => resolve(code));
    proc.kill('SIGTERM');
  });
}

// Polls GET /health until the model has loaded (200); rejects after `ms`.
export async function waitReady(url, ms = 60000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) return;
      if (res.status === 503 && (await res.json()).status === 'unavailable') throw new Error('model unavailable');
    } catch (e) {
      if (e.message === 'model unavailable') throw e;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not become ready`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
