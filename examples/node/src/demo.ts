/**
 * The demo scenarios in Node: failover, streaming, tools, embeddings and the mock provider, on
 * ../modelplug.yaml. `make demo` / the tests run it against the mock upstream.
 * Run: MODELPLUG_DEMO_UPSTREAM=http://127.0.0.1:PORT node dist/demo.js
 */
import { join } from 'node:path';
import { Client, type Tool } from 'modelplug';

/** The shared demo config. */
export const CONFIG = join(__dirname, '..', '..', 'modelplug.yaml');

/** Every scenario; one line each. */
export async function run(client: Client): Promise<string[]> {
  const out: string[] = [];

  const answer = await client.chat({ model: 'smart', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
  const tries = answer.attempts.map((a) => `${a.deployment} ${a.error ?? 'ok'}`).join(' → ');
  out.push(`chat     ${JSON.stringify(answer.text)} from ${answer.deployment} (${answer.usage.total_tokens} tokens, ${answer.latency_ms.toFixed(1)} ms; tries: ${tries})`);

  let pieces = 0;
  const stream = client.stream({ model: 'fast', messages: [{ role: 'user', content: 'What is the capital of the UK?' }] });
  for await (const event of stream) {
    if (event.type === 'text_delta') pieces += 1;
  }
  const done = stream.response!;
  out.push(`stream   ${JSON.stringify(done.text)} in ${pieces} pieces from ${done.provider} (${done.usage.total_tokens} tokens)`);

  const tool: Tool = { type: 'function', function: { name: 'get_user_country', description: "The user's country", parameters: { type: 'object', properties: {} } } };
  const called = await client.chat({ model: 'tools', messages: [{ role: 'user', content: 'What is the largest city in the user country?' }], tools: [tool] });
  for (const call of called.message.tool_calls ?? []) {
    out.push(`tools    the model calls ${call.function.name}(${call.function.arguments}) [${call.id}]`);
  }

  const vectors = await client.embed({ model: 'embed', input: ['Hello, world!'] });
  out.push(`embed    ${vectors.embeddings.length} vector of ${vectors.embeddings[0]!.length} dimensions (${vectors.usage.input_tokens} tokens)`);

  const echo = await client.chat({ model: 'local', messages: [{ role: 'user', content: 'no network needed' }] });
  out.push(`mock     ${JSON.stringify(echo.text)} from the ${echo.provider} provider`);

  const costs = [answer.cost_usd, done.cost_usd, called.cost_usd, vectors.cost_usd, echo.cost_usd];
  const priced = costs.filter((c): c is number => c != null);
  const total = priced.reduce((sum, c) => sum + c, 0);
  out.push(`cost     $${total.toFixed(6)} for ${costs.length} calls (${priced.length} priced by the config's price table)`);
  return out;
}

if (require.main === module) {
  const client = Client.fromConfig(CONFIG);
  console.log(`config ${CONFIG} (hash ${client.configHash})`);
  run(client)
    .then((lines) => lines.forEach((line) => console.log(line)))
    .finally(() => void client.close());
}
