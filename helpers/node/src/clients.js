// Azure SDK clients pointed at a running vaultlink, whatever process.env says.
//
// @azure/core-rest-pipeline takes `proxyOptions` and `tlsOptions`, but its proxy policy ignores
// the TLS settings when a proxy is set ("TLS settings are not supported in combination with
// custom Proxy"), and NODE_EXTRA_CA_CERTS is read only when the Node process starts. What works
// in a library: one `agent` option, an HttpsProxyAgent to vaultlink's proxy that carries the CA
// (its options reach the TLS connection to the target through http.Agent's option merge); a
// custom agent takes precedence over the proxy policy, so HTTPS_PROXY / NO_PROXY of the caller
// do not apply either.
import { readFileSync } from "node:fs";
import { ClientSecretCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import {
  bearerTokenAuthenticationPolicy, createDefaultHttpClient, createHttpHeaders,
  createPipelineFromOptions, createPipelineRequest,
} from "@azure/core-rest-pipeline";
import { HttpsProxyAgent } from "https-proxy-agent";

export const ARM_URL = "https://management.azure.com";
const ARM_SCOPE = "https://management.azure.com/.default";
const RESOURCES_API = "2021-04-01";
const KEYVAULT_API = "2023-07-01";
export const DEFAULT_RESOURCE_GROUP = "vaultlink-testing";
export const DEFAULT_LOCATION = "westeurope";

export class VaultlinkError extends Error {}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A CONNECT tunnel to vaultlink's proxy whose TLS to the target trusts `ca`.
export class TrustingProxyAgent extends HttpsProxyAgent {
  constructor(proxyUrl, ca) {
    super(proxyUrl, { keepAlive: true });
    this.ca = ca;
  }

  connect(req, opts) {
    return super.connect(req, { ...opts, ca: this.ca });
  }
}

// The SDK side shared by the child-process helper and the container module.
export class Clients {
  // env: the variables `vaultlink env` prints (HTTPS_PROXY, NODE_EXTRA_CA_CERTS, AZURE_*).
  constructor(env) {
    this.env = env;
    this._agent = null;
    this._armPipeline = null;
  }

  get proxyUrl() { return this.env.HTTPS_PROXY; }
  get caBundle() { return this.env.NODE_EXTRA_CA_CERTS; }
  get tenantId() { return this.env.AZURE_TENANT_ID; }
  get clientId() { return this.env.AZURE_CLIENT_ID; }
  get clientSecret() { return this.env.AZURE_CLIENT_SECRET; }
  get subscriptionId() { return this.env.AZURE_SUBSCRIPTION_ID; }

  // The proxy agent that trusts vaultlink's CA (one per instance: it keeps connections alive).
  agent() {
    if (!this._agent) {
      this._agent = new TrustingProxyAgent(this.proxyUrl, readFileSync(this.caBundle));
    }
    return this._agent;
  }

  // Options for any Azure SDK client or credential: `{ agent }`.
  clientOptions() {
    return { agent: this.agent() };
  }

  // A ClientSecretCredential for the seeded developer (Owner and Key Vault Administrator of the
  // seeded subscription); its token requests go to login.microsoftonline.com through the proxy.
  credential(options = {}) {
    return new ClientSecretCredential(this.tenantId, this.clientId, this.clientSecret,
      { ...this.clientOptions(), ...options });
  }

  static vaultUrl(name) { return `https://${name}.vault.azure.net`; }

  // A SecretClient for `vaultName`, creating the vault first (through Resource Manager).
  async secretClient(vaultName, { create = true, credential, resourceGroup, location, ...options } = {}) {
    if (create) await this.createVault(vaultName, { resourceGroup, location });
    return new SecretClient(Clients.vaultUrl(vaultName), credential ?? this.credential(),
      { ...this.clientOptions(), ...options });
  }

  // One Resource Manager request as the seeded developer; the parsed JSON answer (or null).
  async arm(method, path, body, { apiVersion, ok = [200, 201, 202, 204] } = {}) {
    if (!this._armPipeline) {
      const pipeline = createPipelineFromOptions({ ...this.clientOptions() });
      pipeline.addPolicy(bearerTokenAuthenticationPolicy({
        credential: this.credential(), scopes: ARM_SCOPE,
      }));
      this._armPipeline = { pipeline, http: createDefaultHttpClient() };
    }
    const sep = path.includes("?") ? "&" : "?";
    const request = createPipelineRequest({
      url: `${ARM_URL}${path}${sep}api-version=${apiVersion}`, method,
      headers: createHttpHeaders({ "content-type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
      agent: this.agent(),
    });
    const { pipeline, http } = this._armPipeline;
    const response = await pipeline.sendRequest(http, request);
    const text = response.bodyAsText ?? "";
    if (!ok.includes(response.status)) {
      let what = text.slice(0, 300);
      try {
        const { error } = JSON.parse(text);
        what = `${error?.code}: ${error?.message}`;
      } catch { /* not JSON: the text */ }
      throw new VaultlinkError(`${method} ${path}: ${response.status} ${what}`);
    }
    return text ? JSON.parse(text) : null;
  }

  // Register a provider on the seeded subscription and wait for Registered (a new
  // subscription, in Azure as in vaultlink, refuses a vault with MissingSubscriptionRegistration).
  async registerProvider(namespace = "Microsoft.KeyVault", timeoutMs = 30000) {
    const base = `/subscriptions/${this.subscriptionId}/providers/${namespace}`;
    await this.arm("POST", `${base}/register`, undefined, { apiVersion: RESOURCES_API });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { registrationState } = await this.arm("GET", base, undefined, { apiVersion: RESOURCES_API });
      if (registrationState === "Registered") return;
      if (Date.now() > deadline) throw new VaultlinkError(`${namespace} still ${registrationState}`);
      await sleep(100);
    }
  }

  // Register Microsoft.KeyVault, create the resource group and the vault (RBAC: the developer's
  // Key Vault Administrator role gives it the data plane); the vault as ARM shows it.
  async createVault(name, { resourceGroup = DEFAULT_RESOURCE_GROUP, location = DEFAULT_LOCATION,
    rbac = true, timeoutMs = 30000 } = {}) {
    resourceGroup ??= DEFAULT_RESOURCE_GROUP;
    location ??= DEFAULT_LOCATION;
    await this.registerProvider("Microsoft.KeyVault");
    await this.arm("PUT", `/subscriptions/${this.subscriptionId}/resourcegroups/${resourceGroup}`,
      { location }, { apiVersion: RESOURCES_API });
    const path = `/subscriptions/${this.subscriptionId}/resourceGroups/${resourceGroup}` +
      `/providers/Microsoft.KeyVault/vaults/${name}`;
    let vault = await this.arm("PUT", path, {
      location,
      properties: {
        tenantId: this.tenantId, sku: { family: "A", name: "standard" },
        accessPolicies: [], enableRbacAuthorization: rbac,
      },
    }, { apiVersion: KEYVAULT_API });
    const deadline = Date.now() + timeoutMs;
    while (vault?.properties?.provisioningState !== "Succeeded") {
      if (Date.now() > deadline) throw new VaultlinkError(`vault ${name} not provisioned`);
      await sleep(100);
      vault = await this.arm("GET", path, undefined, { apiVersion: KEYVAULT_API });
    }
    return vault;
  }

  // Close the kept-alive connections.
  closeClients() {
    this._agent?.destroy();
    this._agent = null;
    this._armPipeline = null;
  }
}
