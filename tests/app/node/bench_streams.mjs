// Load benchmark (not a test): N concurrent streaming chat clients for a fixed time against a
// server it starts itself, counting errors and sampling the server's RSS. Against
// gemdesk-server-fake it measures the HTTP server only, not inference.
// usage: node bench_streams.mjs --server BIN --model DIR [--streams 32] [--seconds 600] [--token-ms 2]
import fs from 'node:fs';
import { startServer } from './server_process.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const streams = Number(args.streams ?? 32);
const seconds = Number(args.seconds ?? 600);
if (!args.server || !args.model) {
  console.error('usage: node bench_streams.mjs --server BIN --model DIR [--streams 32] [--seconds 600] [--token-ms 2]');
  process.exit(2);
}

function rssKiB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) : NaN;
}

async function oneRequest(url, i, stats, model) {
  const body = { model, messages: [{ role: 'user', content: `bench stream ${i} with a few words of prompt` }], stream: true, max_tokens: 64 };
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let text = '';
  let first = 0;
  const decoder = new TextDecoder();
  for await (const part of res.body) {
    if (!first) first = performance.now();
    text += decoder.decode(part, { stream: true });
  }
  if (!text.endsWith('data: [DONE]\n\n')) throw new Error('stream ended without [DONE]');
  stats.tokens += (text.match(/"content":"[^"]/g) ?? []).length;
  stats.ttft.push(first - t0);
  stats.requests++;
}

const server = await startServer(args.server, ['--model', args.model, '--max-concurrent', String(streams * 2)],
  { GEMDESK_FAKE_TOKEN_MS: args['token-ms'] ?? '2' });
const modelId = (await (await fetch(`${server.url}/v1/models`)).json()).data[0].id;
const stats = { requests: 0, errors: 0, tokens: 0, ttft: [], errorKinds: {} };
const rss = [rssKiB(server.proc.pid)];
const deadline = Date.now() + seconds * 1000;
const sampler = setInterval(() => rss.push(rssKiB(server.proc.pid)), 10000);
const t0 = Date.now();
await Promise.all(Array.from({ length: streams }, async (_, i) => {
  while (Date.now() < deadline) {
    try {
      await oneRequest(server.url, i, stats, modelId);
    } catch (e) {
      stats.errors++;
      const why = `${e}${e.cause ? ` (cause: ${e.cause.code ?? ''} ${e.cause.message ?? e.cause})` : ''}`;
      stats.errorKinds[why] = (stats.errorKinds[why] ?? 0) + 1;
    }
  }
}));
clearInterval(sampler);
rss.push(rssKiB(server.proc.pid));
await server.stop();
const elapsed = (Date.now() - t0) / 1000;
stats.ttft.sort((a, b) => a - b);
console.log(JSON.stringify({
  streams, seconds: elapsed, requests: stats.requests, errors: stats.errors, error_kinds: stats.errorKinds,
  tokens: stats.tokens, aggregate_tok_s: +(stats.tokens / elapsed).toFixed(1),
  ttft_ms_p50: +stats.ttft[Math.floor(stats.ttft.length / 2)]?.toFixed(2), ttft_ms_p99: +stats.ttft[Math.floor(stats.ttft.length * 0.99)]?.toFixed(2),
  rss_kib_start: rss[0], rss_kib_end: rss[rss.length - 1], rss_kib_max: Math.max(...rss),
  rss_kib_each_minute: rss.filter((_, i) => i % 6 === 0),
}, null, 1));
