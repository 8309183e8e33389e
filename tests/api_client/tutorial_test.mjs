// The GCP guide's regional internal Application Load Balancer, built through albemu's compute
// v1 API by Google's own Node.js client (@google-cloud/compute over its REST transport), and
// checked with real traffic through the forwarding rules it creates.
//
// run.sh starts `albemu serve` and passes its ready file in ALBEMU_READY_FILE.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import compute from '@google-cloud/compute';
import { OAuth2Client } from 'google-auth-library';

const PROJECT = 'albemu-tutorial';
const REGION = 'us-central1';
const readyFile = process.env.ALBEMU_READY_FILE;
assert.ok(readyFile, 'ALBEMU_READY_FILE must name serve\'s ready file');

const ready = () => JSON.parse(readFileSync(readyFile, 'utf8'));
const apiAddress = ready().api;
const [apiHost, apiPort] = [apiAddress.slice(0, apiAddress.lastIndexOf(':')),
                            Number(apiAddress.slice(apiAddress.lastIndexOf(':') + 1))];

// Dummy credentials: a fixed access token that never expires, so nothing talks to Google.
const authClient = new OAuth2Client();
authClient.setCredentials({ access_token: 'albemu-test-token', expiry_date: Date.now() + 3600e3 });
const clientOptions = { apiEndpoint: apiHost, port: apiPort, protocol: 'http', fallback: true, authClient };

const networks = new compute.NetworksClient(clientOptions);
const subnetworks = new compute.SubnetworksClient(clientOptions);
const negs = new compute.RegionNetworkEndpointGroupsClient(clientOptions);
const backendServices = new compute.RegionBackendServicesClient(clientOptions);
const urlMaps = new compute.RegionUrlMapsClient(clientOptions);
const sslCertificates = new compute.RegionSslCertificatesClient(clientOptions);
const httpProxies = new compute.RegionTargetHttpProxiesClient(clientOptions);
const httpsProxies = new compute.RegionTargetHttpsProxiesClient(clientOptions);
const forwardingRules = new compute.ForwardingRulesClient(clientOptions);
const regionOperations = new compute.RegionOperationsClient(clientOptions);
const globalOperations = new compute.GlobalOperationsClient(clientOptions);

const regional = { project: PROJECT, region: REGION };
const url = (collection, name) =>
  `https://www.googleapis.com/compute/v1/projects/${PROJECT}/regions/${REGION}/${collection}/${name}`;

/// Runs an insert/patch/update/delete call and waits for its operation (operations.wait),
/// as scripts using this client do.
async function done(call) {
  const [{ latestResponse: operation }] = await call;
  const [waited] = operation.region
    ? await regionOperations.wait({ ...regional, operation: operation.name })
    : await globalOperations.wait({ project: PROJECT, operation: operation.name });
  assert.equal(waited.status, 'DONE');
  assert.equal(waited.name, operation.name);
  return waited;
}

/// The stand-in's JSON answer to GET / through a plain HTTP forwarding rule.
async function httpGet(rule, path = '/') {
  const response = await fetch(`http://${ready().forwardingRules[rule]}${path}`);
  return { status: response.status, body: await response.json() };
}

/// The same through an HTTPS forwarding rule (self-signed certificate: not verified, like curl -k).
function httpsGet(rule, path = '/') {
  const address = ready().forwardingRules[rule];
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path, servername: 'test.example.com', rejectUnauthorized: false },
      (response) => {
        let text = '';
        response.on('data', (chunk) => { text += chunk; });
        response.on('end', () => resolve({ status: response.statusCode, body: JSON.parse(text) }));
      }).on('error', reject);
  });
}

function selfSignedCertificate() {
  const dir = mkdtempSync(join(tmpdir(), 'albemu-api-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
      '-subj', '/CN=test.example.com', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    { stdio: 'ignore' });
    return { certificate: readFileSync(join(dir, 'cert.pem'), 'utf8'),
             privateKey: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the tutorial load balancer, built with @google-cloud/compute, serves traffic', async (t) => {
  await t.test('network and subnets', async () => {
    await done(networks.insert({ project: PROJECT,
      networkResource: { name: 'lb-network', autoCreateSubnetworks: false } }));
    await done(subnetworks.insert({ ...regional, subnetworkResource: {
      name: 'lb-subnet', network: `projects/${PROJECT}/global/networks/lb-network`, ipCidrRange: '10.1.2.0/24' } }));
    await done(subnetworks.insert({ ...regional, subnetworkResource: {
      name: 'proxy-only-subnet', network: `projects/${PROJECT}/global/networks/lb-network`,
      ipCidrRange: '10.129.0.0/23', purpose: 'REGIONAL_MANAGED_PROXY', role: 'ACTIVE' } }));
    const [network] = await networks.get({ project: PROJECT, network: 'lb-network' });
    assert.equal(network.kind, 'compute#network');
    assert.match(String(network.id), /^[0-9]+$/);
  });

  await t.test('serverless NEG and backend service, backend added by update', async () => {
    const operation = await done(negs.insert({ ...regional, networkEndpointGroupResource: {
      name: 'hello-neg', networkEndpointType: 'SERVERLESS', cloudRun: { service: 'hello' } } }));
    assert.equal(operation.operationType, 'insert');
    assert.equal(operation.targetLink, url('networkEndpointGroups', 'hello-neg'));
    const [fetched] = await regionOperations.get({ ...regional, operation: operation.name });
    assert.equal(fetched.status, 'DONE');

    await done(backendServices.insert({ ...regional, backendServiceResource: {
      name: 'hello-backend', loadBalancingScheme: 'INTERNAL_MANAGED', protocol: 'HTTP' } }));
    // gcloud's add-backend: get, append, update with the fingerprint it read.
    const [service] = await backendServices.get({ ...regional, backendService: 'hello-backend' });
    assert.ok(service.fingerprint);
    await done(backendServices.update({ ...regional, backendService: 'hello-backend', backendServiceResource: {
      ...service, backends: [{ group: url('networkEndpointGroups', 'hello-neg'), balancingMode: 'UTILIZATION' }] } }));
    const [updated] = await backendServices.get({ ...regional, backendService: 'hello-backend' });
    assert.equal(updated.backends[0].group, url('networkEndpointGroups', 'hello-neg'));
    assert.equal(String(updated.id), String(service.id));
    assert.equal(updated.creationTimestamp, service.creationTimestamp);
    assert.notEqual(updated.fingerprint, service.fingerprint);
  });

  await t.test('URL map, validated first', async () => {
    const resource = { name: 'lb-map', defaultService: url('backendServices', 'hello-backend'),
      tests: [{ host: 'test.example.com', path: '/', service: url('backendServices', 'hello-backend') }] };
    const [validation] = await urlMaps.validate({ ...regional, urlMap: 'lb-map',
      regionUrlMapsValidateRequestResource: { resource } });
    assert.equal(validation.result.loadSucceeded, true);
    assert.equal(validation.result.testPassed, true);
    await done(urlMaps.insert({ ...regional, urlMapResource: resource }));
  });

  await t.test('SSL certificate, proxies and forwarding rules', async () => {
    await done(sslCertificates.insert({ ...regional, sslCertificateResource: { name: 'lb-cert', ...selfSignedCertificate() } }));
    await done(httpProxies.insert({ ...regional, targetHttpProxyResource: {
      name: 'lb-http-proxy', urlMap: url('urlMaps', 'lb-map') } }));
    await done(httpsProxies.insert({ ...regional, targetHttpsProxyResource: {
      name: 'lb-https-proxy', urlMap: url('urlMaps', 'lb-map'), sslCertificates: [url('sslCertificates', 'lb-cert')] } }));
    for (const [name, target, port] of [['lb-http-rule', url('targetHttpProxies', 'lb-http-proxy'), '80'],
                                        ['lb-https-rule', url('targetHttpsProxies', 'lb-https-proxy'), '443']]) {
      await done(forwardingRules.insert({ ...regional, forwardingRuleResource: {
        name, loadBalancingScheme: 'INTERNAL_MANAGED', IPAddress: '127.0.0.1', portRange: port,
        network: `projects/${PROJECT}/global/networks/lb-network`,
        subnetwork: url('subnetworks', 'lb-subnet'), target } }));
    }
    const rules = [];
    for await (const rule of forwardingRules.listAsync(regional)) rules.push(rule.name);
    assert.deepEqual(rules.sort(), ['lb-http-rule', 'lb-https-rule']);
  });

  await t.test('traffic through the HTTP and HTTPS forwarding rules', async () => {
    const plain = await httpGet('lb-http-rule', '/hello');
    assert.equal(plain.status, 200);
    assert.equal(plain.body.service, 'hello');
    const secure = await httpsGet('lb-https-rule', '/hello');
    assert.equal(secure.status, 200);
    assert.equal(secure.body.service, 'hello');
  });

  await t.test('client keepalive timeout updated on both proxies', async () => {
    // The v1 client has no patch for regional target HTTP proxies; gcloud's update sends this PATCH.
    const response = await fetch(`http://${apiAddress}/compute/v1/projects/${PROJECT}/regions/${REGION}/targetHttpProxies/lb-http-proxy`,
      { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: 'Bearer albemu-test-token' },
        body: JSON.stringify({ httpKeepAliveTimeoutSec: 300 }) });
    assert.equal(response.status, 200);
    assert.equal((await response.json()).status, 'DONE');
    const [http] = await httpProxies.get({ ...regional, targetHttpProxy: 'lb-http-proxy' });
    assert.equal(http.httpKeepAliveTimeoutSec, 300);
    await done(httpsProxies.patch({ ...regional, targetHttpsProxy: 'lb-https-proxy',
      targetHttpsProxyResource: { httpKeepAliveTimeoutSec: 120 } }));
    const [secure] = await httpsProxies.get({ ...regional, targetHttpsProxy: 'lb-https-proxy' });
    assert.equal(secure.httpKeepAliveTimeoutSec, 120);
    assert.deepEqual(secure.sslCertificates, [url('sslCertificates', 'lb-cert')]);
  });

  await t.test('swapping the URL map\'s default service moves the traffic', async () => {
    await done(negs.insert({ ...regional, networkEndpointGroupResource: {
      name: 'hello-b-neg', networkEndpointType: 'SERVERLESS', cloudRun: { service: 'hello-b' } } }));
    await done(backendServices.insert({ ...regional, backendServiceResource: {
      name: 'hello-b-backend', loadBalancingScheme: 'INTERNAL_MANAGED', protocol: 'HTTP',
      backends: [{ group: url('networkEndpointGroups', 'hello-b-neg') }] } }));
    const [map] = await urlMaps.get({ ...regional, urlMap: 'lb-map' });
    await done(urlMaps.patch({ ...regional, urlMap: 'lb-map', urlMapResource: {
      fingerprint: map.fingerprint, defaultService: url('backendServices', 'hello-b-backend'),
      tests: [{ host: 'test.example.com', path: '/', service: url('backendServices', 'hello-b-backend') }] } }));
    assert.equal((await httpGet('lb-http-rule')).body.service, 'hello-b');
    assert.equal((await httpsGet('lb-https-rule')).body.service, 'hello-b');
    // The fingerprint read before the patch is stale now.
    await assert.rejects(urlMaps.patch({ ...regional, urlMap: 'lb-map', urlMapResource: {
      fingerprint: map.fingerprint, defaultService: url('backendServices', 'hello-backend') } }),
    (error) => /fingerprint/i.test(error.message));
  });

  await t.test('a NEG in use cannot be deleted; detached, it can', async () => {
    await assert.rejects(negs.delete({ ...regional, networkEndpointGroup: 'hello-neg' }), (error) => {
      assert.match(error.message, /The network_endpoint_group resource 'projects\/albemu-tutorial\/regions\/us-central1\/networkEndpointGroups\/hello-neg' is already being used by 'projects\/albemu-tutorial\/regions\/us-central1\/backendServices\/hello-backend'/);
      return true;
    });
    // gcloud's remove-backend: get, drop the backend, update.
    const [service] = await backendServices.get({ ...regional, backendService: 'hello-backend' });
    await done(backendServices.update({ ...regional, backendService: 'hello-backend',
      backendServiceResource: { ...service, backends: [] } }));
    await done(negs.delete({ ...regional, networkEndpointGroup: 'hello-neg' }));
    await assert.rejects(negs.get({ ...regional, networkEndpointGroup: 'hello-neg' }), /was not found/);
    assert.equal((await httpGet('lb-http-rule')).body.service, 'hello-b');
  });
});
