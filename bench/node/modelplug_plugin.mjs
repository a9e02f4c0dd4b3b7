// modelplug's client for the shared yardstick (../shared/bench/node_bench.mjs).
//
// Run (see docs/benchmarks.md): make bench-node, or
//   BENCH_PLUGINS_MJS=$PWD/bench/node/modelplug_plugin.mjs ../shared/bench/run_node.sh modelplug undici openai
//
// `modelplug` must be installed in the harness's NODE_DIR (make bench-node links it there).
// Every call goes through the whole client (config alias, routing, attempts, usage events);
// only the chunk shape is adapted to what node_bench's checker reads.
import { createRequire } from 'node:module';

// Resolve packages the way the harness does: from its own location in NODE_DIR.
const requireFromHarness = createRequire(process.argv[1]);

const MODEL = 'gpt-4o-mini';
const MESSAGES = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Give me a short overview of Rust for SDK cores.' },
];
const API_KEY = 'sk-bench-0000000000000000';

// The same client on a deployment of `provider` (openai, or anthropic: the upstream's
// /v1/messages and /stream/v1/messages, compared with @anthropic-ai/sdk in anthropic_plugin.mjs).
function modelplugClient(provider, model) {
  return {
    pkg: 'modelplug',
    imports: ['modelplug'],
    async setup(base, sbase) {
      const { Client } = requireFromHarness('modelplug');
      const alias = (name, url) => ({ name, retry: { attempts: 0 }, deployments: [{ provider, model, api_key: API_KEY, base_url: url }] });
      this.client = new Client({ app: 'bench', models: [alias('bench', base), alias('bench-stream', sbase)] });
      this.req = { model: 'bench', messages: MESSAGES, temperature: 0.2, max_tokens: 128 };
      this.sreq = { model: 'bench-stream', messages: MESSAGES, temperature: 0.2, max_tokens: 128 };
    },
    async chat() {
      const r = await this.client.chat(this.req);
      return [r.text, r.usage.total_tokens];
    },
    async *stream() {
      for await (const ev of this.client.stream(this.sreq)) {
        if (ev.type === 'text_delta') yield { choices: [{ delta: { content: ev.text } }] };
        else if (ev.type === 'usage') yield { usage: { total_tokens: ev.usage.total_tokens } };
      }
    },
  };
}

export function makeClients() {
  return {
    modelplug: modelplugClient('openai', MODEL),
    modelplug_anthropic: modelplugClient('anthropic', 'claude-3-5-haiku-latest'),
  };
}
