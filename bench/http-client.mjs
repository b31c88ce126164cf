// HTTP client cost: requests per second from one process to a keep-alive node:http server on
// loopback that answers at once, through Node's built-in fetch (undici) and through nodeFetch
// (caspaxos/http: keep-alive node:http agents), one at a time and 64 in flight, in one run.
//
//   npm run build && node bench/http-client.mjs [--ms N]      (default 1500 ms per measurement)
//
// The last line of stdout is one JSON object with requests/s and the ratio nodeFetch / fetch.
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { nodeFetch } from '../dist/http.js';

const msFlag = process.argv.indexOf('--ms');
const MS = msFlag >= 0 ? Number(process.argv[msFlag + 1]) : 1500;
if (!Number.isSafeInteger(MS) || MS < 1) throw new Error('--ms must be a positive integer');

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 }).end('{}'));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/v1/prepare`;
const body = JSON.stringify({ key: 'k', age: { counter: 0, id: 'p' }, ballot: { counter: 1, id: 'p' }, state: 'MDEyMzQ1Njc4OWFiY2RlZg==' });

async function measure(send, concurrency) {
  let n = 0;
  const end = performance.now() + MS;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await send();
        n++;
      }
    }),
  );
  return Math.round((n / MS) * 1000);
}

const viaNode = nodeFetch({ maxSockets: 64 });
const clients = {
  fetch: () => fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } }).then((r) => r.arrayBuffer()),
  nodeFetch: () => viaNode(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } }).then((r) => r.arrayBuffer()),
};
const result = {};
for (const concurrency of [1, 64]) {
  for (const [name, send] of Object.entries(clients)) {
    result[`${name}_c${concurrency}_req_per_s`] = await measure(send, concurrency);
    console.error(`[http-client] ${name} c=${concurrency}: ${result[`${name}_c${concurrency}_req_per_s`]} req/s`);
  }
  result[`ratio_c${concurrency}`] = Math.round((result[`nodeFetch_c${concurrency}_req_per_s`] / result[`fetch_c${concurrency}_req_per_s`]) * 100) / 100;
}
server.closeAllConnections();
server.close();
console.log(JSON.stringify({ ms: MS, node: process.version, ...result }));
process.exit(0);
