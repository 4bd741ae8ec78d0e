// The official openai npm client against gemdesk-server-fake on tests/data/tiny-gemma4-chat:
// models, chat (stream == non-stream under greedy), required tool calls validated against the
// schema, transcription, abort mid-stream, 8 concurrent streams, every error status, --upstream.
// The same against the real engine: engine_client.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import OpenAI, { toFile } from 'openai';
import { startServer } from './server_process.mjs';
import { validate } from './schema_validate.mjs';

const FAKE = process.env.GEMDESK_SERVER_FAKE;
const REAL = process.env.GEMDESK_SERVER;
const DATA = process.env.GEMDESK_TEST_DATA;
const MODEL_DIR = `${DATA}/tiny-gemma4-chat`;
const MODEL = 'tiny-gemma4-chat';

let server;
let client;
const started = [];

async function start(bin, args = [], env = {}) {
  const s = await startServer(bin, args, env);
  started.push(s);
  return s;
}

function clientFor(s, apiKey = 'unused') {
  return new OpenAI({ baseURL: `${s.url}/v1`, apiKey, maxRetries: 0, timeout: 20000 });
}

before(async () => {
  server = await start(FAKE, ['--model', MODEL_DIR]);
  client = clientFor(server);
});

after(async () => {
  for (const s of started) await s.stop();
});

async function collect(stream) {
  let content = '';
  let reasoning = '';
  let finish = null;
  let usage = null;
  const tools = [];
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    content += choice.delta.content ?? '';
    reasoning += choice.delta.reasoning_content ?? '';
    for (const tc of choice.delta.tool_calls ?? []) {
      tools[tc.index] ??= { id: '', name: '', arguments: '' };
      if (tc.id) tools[tc.index].id = tc.id;
      if (tc.function?.name) tools[tc.index].name = tc.function.name;
      tools[tc.index].arguments += tc.function?.arguments ?? '';
    }
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  return { content, reasoning, finish, usage, tools };
}

const weatherSchema = {
  type: 'object',
  properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['C', 'F'] }, days: { type: 'integer', minimum: 1 } },
  required: ['city', 'unit'],
};
const weatherTool = { type: 'function', function: { name: 'get_weather', description: 'Get weather', parameters: weatherSchema } };

test('models.list returns the served model', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, [MODEL]);
});

test('streamed deltas concatenate to the non-stream answer under greedy decoding', async () => {
  const params = {
    model: MODEL, temperature: 0, messages: [{ role: 'user', content: 'compare the two modes' }],
    chat_template_kwargs: { enable_thinking: true },
  };
  const whole = await client.chat.completions.create(params);
  const msg = whole.choices[0].message;
  assert.equal(msg.content, 'Echo: compare the two modes');
  assert.ok(msg.reasoning_content.length > 0);
  const streamed = await collect(await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }));
  assert.equal(streamed.content, msg.content);
  assert.equal(streamed.reasoning, msg.reasoning_content);
  assert.equal(streamed.finish, whole.choices[0].finish_reason);
  assert.deepEqual(streamed.usage, whole.usage);
});

test('tool_choice required returns calls whose arguments validate against the schema', async () => {
  const res = await client.chat.completions.create({
    model: MODEL, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool], tool_choice: 'required',
  });
  const choice = res.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  assert.match(call.id, /^chatcmpl-tool-/);
  assert.deepEqual(validate(weatherSchema, JSON.parse(call.function.arguments)), []);
  const streamed = await collect(await client.chat.completions.create({
    model: MODEL, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool], tool_choice: 'required', stream: true,
  }));
  assert.equal(streamed.tools.length, 1);
  assert.deepEqual(validate(weatherSchema, JSON.parse(streamed.tools[0].arguments)), []);
});

test('a transcription of the test clip', async () => {
  const file = await toFile(fs.readFileSync(`${DATA}/tiny-gemma4/audio.wav`), 'audio.wav');
  const res = await client.audio.transcriptions.create({ file, model: MODEL });
  // The fixture clip is 2.3 s long (tests/data/README.md); the fake transcribes its length.
  assert.equal(res.text, 'Transcript of a 2.30 second clip.');
});

async function metric(s, name) {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

test('aborting mid-stream cancels the generation on the server', async () => {
  const stream = await client.chat.completions.create({
    model: MODEL, messages: [{ role: 'user', content: '[long] keep going' }], stream: true,
  });
  let n = 0;
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta?.content) n++;
    if (n === 5) break;  // leaving the loop aborts the request
  }
  assert.equal(n, 5);
  // Unstopped, this stream would run for 100000 tokens; it must end within a second or two.
  let inFlight = NaN;
  for (let i = 0; i < 60 && inFlight !== 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    inFlight = await metric(server, 'gemdesk_requests_in_flight');
  }
  assert.equal(inFlight, 0);
});

test('8 concurrent streams each get their own answer', async () => {
  const runs = Array.from({ length: 8 }, (_, i) =>
    client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: `stream number ${i} says hi` }], stream: true })
      .then(collect));
  const results = await Promise.all(runs);
  results.forEach((r, i) => {
    assert.equal(r.content, `Echo: stream number ${i} says hi`);
    assert.equal(r.finish, 'stop');
  });
});

async function expectStatus(promise, status, cls) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.status, status);
    assert.ok(err.error?.message || err.message);
    return true;
  });
}

test('error statuses come back as typed OpenAI errors', async () => {
  const hi = [{ role: 'user', content: 'hi' }];
  await expectStatus(client.chat.completions.create({ model: MODEL, messages: hi, temperature: 9 }), 400, OpenAI.BadRequestError);
  await expectStatus(client.chat.completions.create({ model: 'gpt-4o', messages: hi }), 404, OpenAI.NotFoundError);
  await expectStatus(client.chat.completions.create({ model: MODEL, messages: hi, n: 2 }), 422, OpenAI.UnprocessableEntityError);
  await expectStatus(client.chat.completions.create({ model: MODEL, messages: hi, tools: [weatherTool],
    tool_choice: { type: 'function', function: { name: 'nope' } } }), 422, OpenAI.UnprocessableEntityError);

  const keyed = await start(FAKE, ['--model', MODEL_DIR, '--api-key', 'correct-horse-battery']);
  await expectStatus(clientFor(keyed, 'wrong-key-000').chat.completions.create({ model: MODEL, messages: hi }), 401, OpenAI.AuthenticationError);
  const ok = await clientFor(keyed, 'correct-horse-battery').chat.completions.create({ model: MODEL, messages: hi });
  assert.equal(ok.choices[0].message.content, 'Echo: hi');

  const small = await start(FAKE, ['--model', MODEL_DIR, '--max-body-mb', '1', '--max-concurrent', '1']);
  const smallClient = clientFor(small);
  await expectStatus(smallClient.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(2 << 20) }] }),
    413, OpenAI.APIError);
  const busy = await smallClient.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: '[long]' }], stream: true });
  const it = busy[Symbol.asyncIterator]();
  await it.next();
  await expectStatus(smallClient.chat.completions.create({ model: MODEL, messages: hi }), 429, OpenAI.RateLimitError);
  busy.controller.abort();

  // While the model is still loading (or cannot load), generation answers 503, never a fake
  // answer: the production binary with a backend that does not exist.
  const real = await start(REAL, ['--model', MODEL_DIR, '--backend', 'no-such-backend']);
  await expectStatus(clientFor(real).chat.completions.create({ model: MODEL, messages: hi }), 503, OpenAI.InternalServerError);
});

test('--upstream forwards to a second server', async () => {
  const proxy = await start(REAL, ['--upstream', `${server.url}/v1`]);
  const proxied = clientFor(proxy);
  const res = await proxied.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'through the proxy' }] });
  assert.equal(res.choices[0].message.content, 'Echo: through the proxy');
  const streamed = await collect(await proxied.chat.completions.create({
    model: MODEL, messages: [{ role: 'user', content: 'streamed through' }], stream: true,
  }));
  assert.equal(streamed.content, 'Echo: streamed through');
});
