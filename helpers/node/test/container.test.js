// VaultlinkContainer without a container engine: construction, the environment derived from
// mapped ports, and the CA fetch against a stand-in for the image's plain HTTP listener.
// Starting a real container (and Testcontainers' HTTP wait, which asks the engine for the
// host) is NOT tested here: no engine runs on this machine.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { DEV_CLIENT_ID, SUBSCRIPTION_ID, TENANT_ID } from "../src/index.js";
import { StartedVaultlinkContainer, VaultlinkContainer, clientEnv } from "../src/container.js";

const FAKE_CA = "-----BEGIN CERTIFICATE-----\nMIIBstand-in\n-----END CERTIFICATE-----\n";

test("construction follows the image contract", () => {
  const c = new VaultlinkContainer();
  assert.equal(c.imageName.string, "vaultlink:latest");
  assert.deepEqual(c.exposedPorts, [8780, 8743, 8781, "8753/tcp", "8753/udp"]);
  assert.equal(c.waitStrategy.constructor.name, "HttpWaitStrategy");
  assert.equal(c.waitStrategy.path, "/vaultlink/health");
  assert.equal(c.waitStrategy.port, 8781);
  assert.equal(c.waitStrategy.protocol, "http");
  assert.equal(c.startupTimeoutMs, 60000);
  const other = new VaultlinkContainer("registry.example/vaultlink:0.1.0").withDataDir("/srv/vl");
  assert.equal(other.imageName.string, "registry.example/vaultlink:0.1.0");
  assert.deepEqual(other.hostConfig.Binds, ["/srv/vl:/data:rw"]);
});

test("the environment from mapped ports", () => {
  assert.deepEqual(clientEnv("10.0.0.7", { 8780: 32770, 8743: 32771, 8781: 32772 }, "/tmp/x/ca.pem"), {
    HTTPS_PROXY: "http://10.0.0.7:32770",
    NO_PROXY: "localhost,127.0.0.1,10.0.0.7",
    REQUESTS_CA_BUNDLE: "/tmp/x/ca.pem",
    SSL_CERT_FILE: "/tmp/x/ca.pem",
    NODE_EXTRA_CA_CERTS: "/tmp/x/ca.pem",
    AZURE_CORE_COLLECT_TELEMETRY: "false",
    AZURE_TENANT_ID: TENANT_ID,
    AZURE_CLIENT_ID: DEV_CLIENT_ID,
    AZURE_CLIENT_SECRET: "vaultlink-dev-secret",
    AZURE_SUBSCRIPTION_ID: SUBSCRIPTION_ID,
  });
  assert.equal(clientEnv("localhost", { 8780: 1 }, "b").NO_PROXY, "localhost,127.0.0.1");
});

// The image's identity listener as the contract describes it, and a StartedTestContainer
// whose every port is "mapped" to it.
async function standIn(caBody) {
  const seen = [];
  const server = createServer((req, res) => {
    seen.push(req.url);
    if (req.url === "/vaultlink/ca.pem") res.end(caBody);
    else { res.statusCode = 404; res.end(); }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = server.address().port;
  let stopped = false;
  const started = {
    getHost: () => "127.0.0.1",
    getMappedPort: (p) => ({ 8780: 41000, 8743: 41001 })[p] ?? port,
    stop: async () => { stopped = true; },
  };
  return { server, port, seen, started, stopped: () => stopped };
}

test("connect fetches the CA and builds the clients' environment", async () => {
  const s = await standIn(FAKE_CA);
  try {
    const vl = await StartedVaultlinkContainer.connect(s.started);
    assert.deepEqual(s.seen, ["/vaultlink/ca.pem"]);
    assert.equal(vl.env.HTTPS_PROXY, "http://127.0.0.1:41000");
    assert.equal(vl.proxyUrl, vl.env.HTTPS_PROXY);
    assert.equal(vl.httpsUrl, "https://127.0.0.1:41001");
    assert.equal(vl.identityUrl, `http://127.0.0.1:${s.port}`);
    const bundle = vl.env.NODE_EXTRA_CA_CERTS;
    assert.ok(readFileSync(bundle, "utf8").startsWith(FAKE_CA.trim()), "the image's CA first");
    assert.equal(vl.credential().constructor.name, "ClientSecretCredential");
    await vl.stop();
    assert.ok(s.stopped(), "stop() stops the container");
    assert.ok(!existsSync(bundle), "and removes the fetched CA");
  } finally {
    s.server.close();
  }
});

test("a CA that is not PEM is refused", async () => {
  const s = await standIn("<html>");
  try {
    await assert.rejects(StartedVaultlinkContainer.connect(s.started), /PEM/);
  } finally {
    s.server.close();
  }
});
