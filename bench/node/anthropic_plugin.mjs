// The official @anthropic-ai/sdk as a peer on the shared yardstick (../shared/bench/node_bench.mjs),
// against the canned upstream's /v1/messages and /stream/v1/messages; compared with
// `modelplug_anthropic` (modelplug_plugin.mjs) in the same run:
//   BENCH_PLUGINS_MJS=$PWD/bench/node/modelplug_plugin.mjs:$PWD/bench/node/anthropic_plugin.mjs \
//     ../shared/bench/run_node.sh modelplug_anthropic anthropic
// The SDK gets the same request (the system message as `system`); its stream is the raw event
// stream (`messages.create({stream: true})`, the SDK's lighter path), and only text deltas and
// the final usage are handed to the checker, as the modelplug plugin does.
import { createRequire } from 'node:module';

const requireFromHarness = createRequire(process.argv[1]);

const MODEL = 'claude-3-5-haiku-latest';
const SYSTEM = 'You are a helpful assistant.';
const MESSAGES = [{ role: 'user', content: 'Give me a short overview of Rust for SDK cores.' }];
const PARAMS = { temperature: 0.2, max_tokens: 128 };
const API_KEY = 'sk-bench-0000000000000000';

// node_bench hands out `<host>/v1` and `<host>/stream/v1`; the SDK appends `/v1/messages`.
const root = (url) => (url.endsWith('/v1') ? url.slice(0, -3) : url);

export function makeClients() {
  return {
    anthropic: {
      pkg: '@anthropic-ai/sdk',
      imports: ['@anthropic-ai/sdk'],
      async setup(base, sbase) {
        const mod = requireFromHarness('@anthropic-ai/sdk');
        const Anthropic = mod.default ?? mod.Anthropic ?? mod;
        this.c = new Anthropic({ baseURL: root(base), apiKey: API_KEY });
        this.sc = new Anthropic({ baseURL: root(sbase), apiKey: API_KEY });
      },
      async chat() {
        const r = await this.c.messages.create({ model: MODEL, system: SYSTEM, messages: MESSAGES, ...PARAMS });
        const text = r.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
        return [text, r.usage.input_tokens + r.usage.output_tokens];
      },
      async *stream() {
        const s = await this.sc.messages.create({ model: MODEL, system: SYSTEM, messages: MESSAGES, ...PARAMS, stream: true });
        let input = 0;
        for await (const ev of s) {
          if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') yield { choices: [{ delta: { content: ev.delta.text } }] };
          else if (ev.type === 'message_start') input = ev.message.usage.input_tokens;
          else if (ev.type === 'message_delta') yield { usage: { total_tokens: input + ev.usage.output_tokens } };
        }
      },
    },
  };
}
