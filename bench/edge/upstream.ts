/**
 * Stand-in instances for bench/edge: one HTTP server per port given on the command line, each
 * answering `GET /health` (tiny), `GET /big` (64 KiB) and WebSockets on `/ws` (held open, echo);
 * `x-upstream-port` says which one answered.
 * Prints `ready` once all listen.
 */
import http from 'node:http';
import { WebSocketServer } from 'ws';

const big = Buffer.alloc(64 * 1024, 'x');
const health = Buffer.from('{"status":"ok"}');
const ports = process.argv.slice(2).map(Number);
await Promise.all(
  ports.map(
    (port) =>
      new Promise<void>((resolve) => {
        const server = http.createServer((req, res) => {
          const body = req.url === '/big' ? big : health;
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': body.length,
            'x-upstream-port': String(port),
          });
          res.end(body);
        });
        server.keepAliveTimeout = 60_000;
        const wss = new WebSocketServer({ server, path: '/ws' });
        wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
        server.listen(port, '127.0.0.1', resolve);
      }),
  ),
);
console.log('ready');
