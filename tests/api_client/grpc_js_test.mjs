// gRPC through albemu with Node's @grpc/grpc-js (pinned by package-lock.json: Google's Compute
// client depends on it): the client speaks HTTP/2 over TLS to a target HTTPS proxy, a URL mask
// picks the Cloud Run service from :authority, and the service is the h2c stand-in that
// `albemu serve` starts for a `useHttp2` service without a URL (a gRPC echo: each message comes
// back as it arrives). Starts its own albemu: ALBEMU_BINARY names the binary.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import grpc from '@grpc/grpc-js';

const CONFIG = `project: p
region: r
cloudRunServices:
  - name: echo
    useHttp2: true
networkEndpointGroups:
  - name: by-host
    networkEndpointType: SERVERLESS
    cloudRun:
      urlMask: <service>.example.com
backendServices:
  - name: by-host
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP2
    backends: [{group: by-host}]
urlMaps:
  - name: map
    defaultService: by-host
sslCertificates:
  - name: cert
    certificateFile: cert.pem
    privateKeyFile: key.pem
targetHttpsProxies:
  - name: https-proxy
    urlMap: map
    sslCertificates: [cert]
forwardingRules:
  - name: https-rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    portRange: "443"
    target: https-proxy
`;

const identity = (x) => x;
let work;
let albemu;
let address;
let ca;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'albemu-grpc-js-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-days', '2', '-subj', '/CN=example.com', '-addext',
    'subjectAltName=DNS:*.example.com', '-keyout', join(work, 'key.pem'), '-out',
    join(work, 'cert.pem')], { stdio: 'ignore' });
  ca = readFileSync(join(work, 'cert.pem'));
  writeFileSync(join(work, 'lb.yaml'), CONFIG);
  const ready = join(work, 'ready.json');
  albemu = spawn(process.env.ALBEMU_BINARY, ['serve', '-c', join(work, 'lb.yaml'),
    '--ephemeral-ports', '--api', 'off', '--admin', '127.0.0.1:0', '--ready-file', ready],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => albemu.once('exit', resolve));
  // The ready file appears once every listener is bound (a bounded poll of a condition).
  for (let i = 0; i < 300 && !existsSync(ready); i++) {
    if (albemu.exitCode !== null) break;
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 100)), exited]);
  }
  assert.ok(existsSync(ready), 'albemu serve did not get ready');
  address = JSON.parse(readFileSync(ready, 'utf8')).forwardingRules['https-rule'];
});

after(async () => {
  if (albemu && albemu.exitCode === null) {
    const exited = new Promise((resolve) => albemu.once('exit', resolve));
    albemu.kill('SIGTERM');
    await exited;
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

function client(service) {
  return new grpc.Client(address, grpc.credentials.createSsl(ca), {
    'grpc.ssl_target_name_override': `${service}.example.com`,
    'grpc.default_authority': `${service}.example.com`,
    'grpc.max_receive_message_length': 8 * 1024 * 1024,
  });
}

function unary(channel, message, metadata = new grpc.Metadata()) {
  return new Promise((resolve, reject) => {
    let headers;
    const call = channel.makeUnaryRequest('/echo.Echo/Say', identity, identity, message, metadata,
      { deadline: Date.now() + 30000 }, (error, reply) => (error ? reject(error) : resolve({ reply, headers })));
    call.on('metadata', (received) => { headers = received; });
  });
}

test('unary call: the message comes back with the service in the response metadata', async () => {
  const channel = client('echo');
  const { reply, headers } = await unary(channel, Buffer.from('ping'));
  assert.equal(reply.toString(), 'ping');
  assert.deepEqual(headers.get('x-standin-service'), ['echo']);
  channel.close();
});

test('bidirectional streaming: each message comes back in order', async () => {
  const channel = client('echo');
  const call = channel.makeBidiStreamRequest('/echo.Echo/Chat', identity, identity,
    new grpc.Metadata(), { deadline: Date.now() + 30000 });
  const replies = [];
  const ended = new Promise((resolve, reject) => {
    call.on('data', (reply) => replies.push(reply.toString()));
    call.on('status', (status) => (status.code === grpc.status.OK ? resolve() : reject(status)));
    call.on('error', reject);
  });
  for (const word of ['a', 'b', 'c']) call.write(Buffer.from(word));
  call.end();
  await ended;
  assert.deepEqual(replies, ['a', 'b', 'c']);
  channel.close();
});

test('server streaming and a 4 MiB message each way', async () => {
  const channel = client('echo');
  const big = Buffer.alloc(4 * 1024 * 1024 - 64, 7);
  const call = channel.makeServerStreamRequest('/echo.Echo/Stream', identity, identity, big,
    new grpc.Metadata(), { deadline: Date.now() + 60000 });
  const replies = [];
  await new Promise((resolve, reject) => {
    call.on('data', (reply) => replies.push(reply));
    call.on('status', (status) => (status.code === grpc.status.OK ? resolve() : reject(status)));
    call.on('error', reject);
  });
  assert.equal(replies.length, 1);
  assert.ok(replies[0].equals(big));
  channel.close();
});

test("the service's status and message pass through", async () => {
  const channel = client('echo');
  const metadata = new grpc.Metadata();
  metadata.set('x-standin-grpc-status', '7');
  metadata.set('x-standin-grpc-message', 'not for you');
  await assert.rejects(unary(channel, Buffer.from('x'), metadata), (error) => {
    assert.equal(error.code, grpc.status.PERMISSION_DENIED);
    assert.equal(error.details, 'not for you');
    return true;
  });
  channel.close();
});

test("an unknown service gets albemu's own answer in gRPC's form: UNAVAILABLE", async () => {
  const channel = client('nosuch');
  await assert.rejects(unary(channel, Buffer.from('x')), (error) => {
    assert.equal(error.code, grpc.status.UNAVAILABLE);
    // albemu's reason, not grpc-js's "Received HTTP status code 503" for a plain HTTP error.
    assert.equal(error.details, 'no healthy upstream');
    return true;
  });
  channel.close();
});

test('200 concurrent calls on one channel', async () => {
  const channel = client('echo');
  const replies = await Promise.all(Array.from({ length: 200 },
    (_, i) => unary(channel, Buffer.from(`m${i}`))));
  assert.deepEqual(replies.map(({ reply }) => reply.toString()),
    Array.from({ length: 200 }, (_, i) => `m${i}`));
  channel.close();
});
