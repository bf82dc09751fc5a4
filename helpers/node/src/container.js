// A Testcontainers module for the vaultlink image (needs the `testcontainers` npm package).
//
//   import { VaultlinkContainer } from "vaultlink-testing/container";
//   const vl = await new VaultlinkContainer().start();    // image vaultlink:latest by default
//   const client = await vl.secretClient("kv-test");      // the same clients as start()
//   await vl.stop();
//
// The image's contract: the proxy on 8780, direct HTTPS on 8743, the identity / plain HTTP
// listener on 8781 (the CA at /vaultlink/ca.pem, /vaultlink/health 200 once ready), DNS on 8753
// (UDP and TCP), the data directory the volume /data. Ports are published on free host ports;
// start() waits for /vaultlink/health, fetches the CA and builds `env` from the mapped ports.
//
// Its own tests cover construction, the environment and the CA fetch with stand-ins; the e2e
// suite (tests/e2e/test_image.py) starts the real image with it through podman's Docker API.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import { GenericContainer, Wait } from "testcontainers";
import { Clients, VaultlinkError } from "./clients.js";
import { DEV_CLIENT_ID, DEV_CLIENT_SECRET, SUBSCRIPTION_ID, TENANT_ID } from "./seed.js";

export const DEFAULT_IMAGE = "vaultlink:latest";
export const PROXY_PORT = 8780;
export const HTTPS_PORT = 8743;
export const IDENTITY_PORT = 8781;
export const DNS_PORT = 8753;
export const DATA_VOLUME = "/data";
export const HEALTH_PATH = "/vaultlink/health";
export const CA_PATH = "/vaultlink/ca.pem";

// What `vaultlink env` would print for a vaultlink at `host` with container ports mapped as
// `ports` ({8780: hostPort, ...}).
export function clientEnv(host, ports, caBundle) {
  const noProxy = ["localhost", "127.0.0.1", ...(["localhost", "127.0.0.1"].includes(host) ? [] : [host])];
  return {
    HTTPS_PROXY: `http://${host}:${ports[PROXY_PORT]}`,
    NO_PROXY: noProxy.join(","),
    REQUESTS_CA_BUNDLE: caBundle,
    SSL_CERT_FILE: caBundle,
    NODE_EXTRA_CA_CERTS: caBundle,
    AZURE_CORE_COLLECT_TELEMETRY: "false",
    AZURE_TENANT_ID: TENANT_ID,
    AZURE_CLIENT_ID: DEV_CLIENT_ID,
    AZURE_CLIENT_SECRET: DEV_CLIENT_SECRET,
    AZURE_SUBSCRIPTION_ID: SUBSCRIPTION_ID,
  };
}

export class VaultlinkContainer extends GenericContainer {
  constructor(image = DEFAULT_IMAGE) {
    super(image);
    this.withExposedPorts(PROXY_PORT, HTTPS_PORT, IDENTITY_PORT, `${DNS_PORT}/tcp`, `${DNS_PORT}/udp`)
      .withWaitStrategy(Wait.forHttp(HEALTH_PATH, IDENTITY_PORT).forStatusCode(200))
      .withStartupTimeout(60000);
  }

  // Keep the state in a host directory (mounted at /data).
  withDataDir(path) {
    return this.withBindMounts([{ source: path, target: DATA_VOLUME, mode: "rw" }]);
  }

  async start() {
    const started = await super.start();
    try {
      return await StartedVaultlinkContainer.connect(started);
    } catch (e) {
      await started.stop();
      throw e;
    }
  }
}

// A started container: Clients (env, credential(), secretClient(), ...) over its mapped ports.
export class StartedVaultlinkContainer extends Clients {
  // `started`: Testcontainers' StartedTestContainer (getHost, getMappedPort, stop).
  static async connect(started) {
    const host = started.getHost();
    const ports = Object.fromEntries([PROXY_PORT, HTTPS_PORT, IDENTITY_PORT]
      .map((p) => [p, started.getMappedPort(p)]));
    const response = await fetch(`http://${host}:${ports[IDENTITY_PORT]}${CA_PATH}`);
    const ca = await response.text();
    if (!response.ok || !ca.includes("BEGIN CERTIFICATE")) {
      throw new VaultlinkError(`${CA_PATH} answered ${response.status} without a PEM certificate`);
    }
    const caDir = mkdtempSync(join(tmpdir(), "vaultlink-container-ca-"));
    const bundle = join(caDir, "ca-bundle.pem");
    writeFileSync(bundle, [ca.trim(), ...rootCertificates].join("\n") + "\n");
    return new StartedVaultlinkContainer(started, clientEnv(host, ports, bundle), { host, ports, caDir });
  }

  constructor(started, env, { host, ports, caDir }) {
    super(env);
    this.container = started;
    this.host = host;
    this.ports = ports;
    this.caDir = caDir;
  }

  get httpsUrl() { return `https://${this.host}:${this.ports[HTTPS_PORT]}`; }
  get identityUrl() { return `http://${this.host}:${this.ports[IDENTITY_PORT]}`; }
  get dnsAddress() { return { host: this.host, port: this.container.getMappedPort(DNS_PORT, "udp") }; }

  async stop() {
    this.closeClients();
    try {
      await this.container.stop();
    } finally {
      rmSync(this.caDir, { recursive: true, force: true });
    }
  }
}
