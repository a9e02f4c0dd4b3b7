/**
 * An Express backend that streams a completion to its HTTP client as Server-Sent Events.
 *
 *   GET  /chat/stream?q=...   → text/event-stream: `data: {"text": "..."}` per piece, then
 *                               `event: done` with the tokens and the deployment that answered
 *   POST /chat  {"q": "..."}  → JSON answer
 *
 * When the browser goes away mid-stream, the request to the provider is cancelled.
 * Run: MODELPLUG_DEMO_UPSTREAM=http://127.0.0.1:PORT node dist/server.js
 */
import express, { type Express } from 'express';
import { join } from 'node:path';
import { Client, isModelplugError } from 'modelplug';

/** The app, around an existing client. */
export function createApp(client: Client, model = 'fast'): Express {
  const app = express();
  app.use(express.json());

  app.get('/chat/stream', async (req, res) => {
    const question = String(req.query.q ?? '');
    const stop = new AbortController();
    res.on('close', () => stop.abort()); // the HTTP client went away
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    try {
      const stream = client.stream({ model, messages: [{ role: 'user', content: question }] }, { signal: stop.signal });
      for await (const event of stream) {
        if (event.type === 'text_delta') {
          res.write(`data: ${JSON.stringify({ text: event.text })}\n\n`);
        } else if (event.type === 'done') {
          const { usage, deployment } = event.response;
          res.write(`event: done\ndata: ${JSON.stringify({ tokens: usage.total_tokens, deployment })}\n\n`);
        }
      }
    } catch (error) {
      if (!isModelplugError(error)) throw error;
      if (error.code !== 'CANCELLED') res.write(`event: error\ndata: ${JSON.stringify({ code: error.code, message: error.message })}\n\n`);
    }
    res.end();
  });

  app.post('/chat', async (req, res) => {
    try {
      const answer = await client.chat({ model, messages: [{ role: 'user', content: String(req.body?.q ?? '') }] });
      res.json({ text: answer.text, tokens: answer.usage.total_tokens, deployment: answer.deployment });
    } catch (error) {
      if (!isModelplugError(error)) throw error;
      res.status(error.code === 'INVALID_REQUEST' ? 400 : 502).json({ code: error.code, message: error.message });
    }
  });
  return app;
}

if (require.main === module) {
  const client = Client.fromConfig(join(__dirname, '..', '..', 'modelplug.yaml'));
  const port = Number(process.env.PORT ?? 3000);
  const server = createApp(client).listen(port, () => console.log(`listening on http://127.0.0.1:${port}`));
  process.on('SIGINT', () => server.close(() => void client.close()));
}
