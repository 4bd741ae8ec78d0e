// The official openai client against the real gemdesk-server (CPU runtime, tiny-gemma4-chat with
// random weights): greedy stream == non-stream, constrained calls / JSON validated against their
// schemas, logprobs, media, abort -> cancelled in /metrics, 8 concurrent streams, error statuses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import OpenAI, { toFile } from 'openai';
import { startServer, waitReady } from './server_process.mjs';
import { validate } from './schema_validate.mjs';

const REAL = process.env.GEMDESK_SERVER;
const DATA = process.env.GEMDESK_TEST_DATA;
const MODEL_DIR = `${DATA}/tiny-gemma4-chat`;
const MODEL = 'tiny-gemma4-chat';

let server;
let client;
const started = [];

async function start(args = [], ready = true) {
  const s = await startServer(REAL, ['--model', MODEL_DIR, '--ctx', '1024', ...args]);
  started.push(s);
  if (ready) await waitReady(s.url);
  return s;
}

function clientFor(s, apiKey = 'unused') {
  return new OpenAI({ baseURL: `${s.url}/v1`, apiKey, maxRetries: 0, timeout: 60000 });
}

before(async () => {
  server = await start();
  client = clientFor(server);
});

after(async () => {
  for (const s of started) await s.stop();
});

async function collect(stream) {
  const out = { content: '', reasoning: '', finish: null, usage: null, tools: [], chunks: 0 };
  for await (const chunk of stream) {
    out.chunks++;
    if (chunk.usage) out.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    out.content += choice.delta.content ?? '';
    out.reasoning += choice.delta.reasoning_content ?? '';
    for (const tc of choice.delta.tool_calls ?? []) {
      out.tools[tc.index] ??= { id: '', name: '', arguments: '' };
      if (tc.id) out.tools[tc.index].id = tc.id;
      if (tc.function?.name) out.tools[tc.index].name = tc.function.name;
      out.tools[tc.index].arguments += tc.function?.arguments ?? '';
    }
    if (choice.finish_reason) out.finish = choice.finish_reason;
  }
  return out;
}

async function metric(s, name) {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

const weatherSchema = {
  type: 'object',
  properties: {
    city: { type: 'string', minLength: 1, maxLength: 24 },
    unit: { type: 'string', enum: ['C', 'F'] },
    days: { type: 'integer', minimum: 1, maximum: 14 },
    hourly: { type: 'boolean' },
  },
  required: ['city', 'unit'],
};
const weatherTool = { type: 'function', function: { name: 'get_weather', description: 'Get weather', parameters: weatherSchema } };
const timeSchema = { type: 'object', properties: { zone: { enum: ['UTC', 'CET'] } }, required: ['zone'], additionalProperties: false };
const timeTool = { type: 'function', function: { name: 'get_time', parameters: timeSchema } };
const schemas = { get_weather: weatherSchema, get_time: timeSchema };

test('models.list returns the served model', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, [MODEL]);
});

test('streamed deltas concatenate to the non-stream answer under greedy decoding', async () => {
  for (const thinking of [false, true]) {
    const params = {
      model: MODEL, temperature: 0, max_tokens: 48, messages: [{ role: 'user', content: 'Tell me about the sea.' }],
      chat_template_kwargs: { enable_thinking: thinking },
    };
    const whole = await client.chat.completions.create(params);
    const msg = whole.choices[0].message;
    const streamed = await collect(await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }));
    assert.ok(streamed.chunks > 2, 'the answer arrives in several chunks');
    assert.equal(streamed.content, msg.content ?? '');
    assert.equal(streamed.reasoning, msg.reasoning_content ?? '');
    assert.equal(streamed.finish, whole.choices[0].finish_reason);
    assert.deepEqual(streamed.usage, whole.usage);
    assert.ok(whole.usage.prompt_tokens > 5 && whole.usage.completion_tokens <= 48);
  }
});

test('tool_choice required and named return calls whose arguments validate', async () => {
  let calls = 0;
  for (let seed = 1; seed <= 4; seed++) {
    for (const stream of [false, true]) {
      const toolChoice = seed % 2 ? 'required' : { type: 'function', function: { name: 'get_time' } };
      const params = {
        model: MODEL, seed, temperature: 1, max_tokens: 80, tools: [weatherTool, timeTool], tool_choice: toolChoice,
        messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      };
      let toolCalls;
      let finish;
      if (stream) {
        const r = await collect(await client.chat.completions.create({ ...params, stream: true }));
        toolCalls = r.tools.map((t) => ({ id: t.id, name: t.name, arguments: t.arguments }));
        finish = r.finish;
      } else {
        const res = await client.chat.completions.create(params);
        toolCalls = res.choices[0].message.tool_calls.map((t) => ({ id: t.id, ...t.function }));
        finish = res.choices[0].finish_reason;
      }
      assert.equal(finish, 'tool_calls');
      assert.ok(toolCalls.length >= 1);
      for (const call of toolCalls) {
        if (typeof toolChoice === 'object') assert.equal(call.name, 'get_time');
        assert.match(call.id, /^chatcmpl-tool-/);
        assert.ok(schemas[call.name], call.name);
        assert.deepEqual(validate(schemas[call.name], JSON.parse(call.arguments)), [], call.arguments);
        calls++;
      }
    }
  }
  assert.ok(calls >= 8);
});

test('response_format json_schema returns JSON that validates', async () => {
  const schema = {
    type: 'object',
    properties: { title: { type: 'string', maxLength: 20 }, year: { type: 'integer', minimum: 1900, maximum: 2100 }, tags: { type: 'array', items: { type: 'string', enum: ['a', 'b'] } } },
    required: ['title', 'year'],
    additionalProperties: false,
  };
  for (let seed = 1; seed <= 3; seed++) {
    const res = await client.chat.completions.create({
      model: MODEL, seed, max_tokens: 60, messages: [{ role: 'user', content: 'A film as JSON' }],
      response_format: { type: 'json_schema', json_schema: { name: 'film', schema } },
    });
    const value = JSON.parse(res.choices[0].message.content);
    assert.deepEqual(validate(schema, value), [], res.choices[0].message.content);
  }
  const obj = await client.chat.completions.create({
    model: MODEL, seed: 5, max_tokens: 40, messages: [{ role: 'user', content: 'JSON' }], response_format: { type: 'json_object' },
  });
  const parsed = JSON.parse(obj.choices[0].message.content);
  assert.equal(typeof parsed, 'object');
  assert.ok(!Array.isArray(parsed));
});

test('logprobs and legacy completions', async () => {
  const res = await client.chat.completions.create({
    model: MODEL, temperature: 0, max_tokens: 8, logprobs: true, top_logprobs: 2, messages: [{ role: 'user', content: 'Hello' }],
  });
  const lp = res.choices[0].logprobs.content;
  assert.ok(lp.length > 0);
  for (const t of lp) {
    assert.equal(t.top_logprobs.length, 2);
    assert.equal(t.top_logprobs[0].token, t.token, 'greedy picks the most likely token');
    assert.ok(t.logprob <= 0);
  }
  const c1 = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 6, temperature: 0 });
  const c2 = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 6, temperature: 0 });
  assert.equal(c1.choices[0].finish_reason, 'length');
  assert.equal(c1.usage.completion_tokens, 6);
  assert.equal(c1.choices[0].text, c2.choices[0].text);
});

test('a transcription of the test clip and an image go through the encoders', async () => {
  const file = await toFile(fs.readFileSync(`${DATA}/tiny-gemma4/audio.wav`), 'audio.wav');
  const res = await client.audio.transcriptions.create({ file, model: MODEL, response_format: 'verbose_json' });
  assert.equal(typeof res.text, 'string');
  assert.ok(Math.abs(res.duration - 2.3) < 0.01, `duration ${res.duration}`);  // the fixture is a 2.3 s clip
  const png = fs.readFileSync(`${DATA}/tiny-gemma4/image.png`).toString('base64');
  const text = await client.chat.completions.create({ model: MODEL, max_tokens: 4, messages: [{ role: 'user', content: 'Describe' }] });
  const image = await client.chat.completions.create({
    model: MODEL, max_tokens: 4,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }] }],
  });
  // The image's soft tokens (280 by default in processor_config.json) count as prompt tokens.
  assert.ok(image.usage.prompt_tokens > text.usage.prompt_tokens + 200, `${text.usage.prompt_tokens} vs ${image.usage.prompt_tokens}`);
});

test('aborting mid-stream cancels the generation on the server', async () => {
  const before = await metric(server, 'gemdesk_cancelled_requests_total');
  const stream = await client.chat.completions.create({
    model: MODEL, seed: 11, temperature: 1, max_tokens: 900, messages: [{ role: 'user', content: 'Go on forever.' }], stream: true,
  });
  let n = 0;
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta) n++;
    if (n === 5) break;  // leaving the loop aborts the request
  }
  assert.equal(n, 5);
  let cancelled = before;
  for (let i = 0; i < 100 && cancelled === before; i++) {
    await new Promise((r) => setTimeout(r, 50));
    cancelled = await metric(server, 'gemdesk_cancelled_requests_total');
  }
  assert.equal(cancelled, before + 1, '/metrics counts the cancellation');
  let running = NaN;
  for (let i = 0; i < 100 && running !== 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    running = await metric(server, 'gemdesk_running_jobs');
  }
  assert.equal(running, 0, 'the scheduler dropped the sequence');
  assert.equal(await metric(server, 'gemdesk_requests_in_flight'), 0);
  const after = await client.chat.completions.create({ model: MODEL, max_tokens: 4, messages: [{ role: 'user', content: 'still there?' }] });
  assert.ok(after.choices[0].finish_reason);
});

test('8 concurrent streams each get their own answer, equal to the solo one', async () => {
  const params = (i) => ({ model: MODEL, temperature: 0, max_tokens: 24, messages: [{ role: 'user', content: `stream number ${i} says hi` }] });
  const solo = [];
  for (let i = 0; i < 8; i++) solo.push((await client.chat.completions.create(params(i))).choices[0].message.content ?? '');
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) => client.chat.completions.create({ ...params(i), stream: true }).then(collect)));
  results.forEach((r, i) => assert.equal(r.content, solo[i], `stream ${i}`));
  assert.ok(new Set(solo).size > 1, 'different prompts give different answers');
});

async function expectStatus(promise, status, cls, mention) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.status, status);
    const message = err.error?.message ?? err.message;
    assert.ok(message);
    if (mention) assert.match(message, mention);
    return true;
  });
}

test('error statuses come back as typed OpenAI errors', async () => {
  const hi = [{ role: 'user', content: 'hi' }];
  await expectStatus(client.chat.completions.create({ model: MODEL, messages: hi, temperature: 9 }), 400, OpenAI.BadRequestError, /temperature/);
  await expectStatus(client.chat.completions.create({ model: MODEL, messages: [{ role: 'wizard', content: 'x' }] }), 400, OpenAI.BadRequestError, /role/);
  await expectStatus(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'word '.repeat(1500) }] }),
    400, OpenAI.BadRequestError);
  await expectStatus(client.chat.completions.create({ model: MODEL, messages: hi, tools: [weatherTool], tool_choice: 'required', max_tokens: 3 }),
    400, OpenAI.BadRequestError, /max_tokens/);
  await expectStatus(client.chat.completions.create({ model: 'gpt-4o', messages: hi }), 404, OpenAI.NotFoundError);
  await expectStatus(client.chat.completions.create({ model: MODEL, messages: hi, n: 2 }), 422, OpenAI.UnprocessableEntityError);
  await expectStatus(client.chat.completions.create({ model: MODEL, messages: hi, tools: [weatherTool],
    tool_choice: { type: 'function', function: { name: 'nope' } } }), 422, OpenAI.UnprocessableEntityError);
  await expectStatus(client.chat.completions.create({ model: MODEL, messages: hi,
    response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { s: { type: 'string', pattern: '^a' } } } } } }),
  422, OpenAI.UnprocessableEntityError, /pattern/);

  const keyed = await start(['--api-key', 'correct-horse-battery']);
  await expectStatus(clientFor(keyed, 'wrong-key-000').chat.completions.create({ model: MODEL, messages: hi }), 401, OpenAI.AuthenticationError);
  const ok = await clientFor(keyed, 'correct-horse-battery').chat.completions.create({ model: MODEL, messages: hi, max_tokens: 4 });
  assert.ok(ok.choices[0].finish_reason);

  const small = await start(['--max-body-mb', '1', '--max-concurrent', '1']);
  const smallClient = clientFor(small);
  await expectStatus(smallClient.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(2 << 20) }] }),
    413, OpenAI.APIError);
  const busy = await smallClient.chat.completions.create({
    model: MODEL, seed: 11, temperature: 1, max_tokens: 900, messages: [{ role: 'user', content: 'Go on forever.' }], stream: true,
  });
  const it = busy[Symbol.asyncIterator]();
  await it.next();
  await expectStatus(smallClient.chat.completions.create({ model: MODEL, messages: hi }), 429, OpenAI.RateLimitError);
  busy.controller.abort();

  // A backend that does not exist: the model never loads, generation answers 503 saying why.
  const broken = await start(['--backend', 'no-such-backend'], false);
  let health;
  for (let i = 0; i < 100; i++) {
    health = await (await fetch(`${broken.url}/health`)).json();
    if (health.status !== 'loading') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(health.status, 'unavailable');
  await expectStatus(clientFor(broken).chat.completions.create({ model: MODEL, messages: hi }), 503, OpenAI.InternalServerError, /no-such-backend/);
});
