// vaultlink-testing: the vaultlink binary as a child process, on free ports, in a fresh data
// directory, with Azure SDK clients that reach it.
//
//   const vl = await start();                       // binary: option, $VAULTLINK_BIN, or PATH
//   const client = await vl.secretClient("kv-test"); // creates the vault, then a SecretClient
//   await client.setSecret("s1", "v1");
//   await vl.stop();                                 // also removes the temp dir
import { execFile, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { Clients, VaultlinkError } from "./clients.js";

export { Clients, VaultlinkError } from "./clients.js";
export * from "./seed.js";

const LISTENERS = ["proxy", "https", "identity", "dns"];
// Variables of the caller's environment that must not steer the server itself.
const SCRUB = new Set(["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
  "all_proxy", "NO_PROXY", "no_proxy"]);

// The binary to run: `binary`, else $VAULTLINK_BIN, else `vaultlink` on PATH.
export function findBinary(binary) {
  const explicit = binary ?? process.env.VAULTLINK_BIN;
  const candidates = explicit ? [explicit]
    : (process.env.PATH ?? "").split(delimiter).filter(Boolean).map((d) => join(d, "vaultlink"));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch { /* next */ }
  }
  throw new VaultlinkError(explicit ? `vaultlink binary not found at ${explicit}`
    : "no vaultlink binary: pass {binary}, set VAULTLINK_BIN, or put vaultlink on PATH");
}

export class Vaultlink extends Clients {
  constructor({ binary, dataDir, args = [], readyTimeoutMs = 30000, stopTimeoutMs = 15000 } = {}) {
    super({});
    this.binary = findBinary(binary);
    this.givenDataDir = dataDir;
    this.args = args;
    this.readyTimeoutMs = readyTimeoutMs;
    this.stopTimeoutMs = stopTimeoutMs;
    this.child = null;
    this.urls = {};
    this.dnsAddress = null;
    this.workdir = null;
    this.dataDir = null;
    this.log = [];
    this._onExit = null;
  }

  get httpsUrl() { return this.urls.https; }
  get identityUrl() { return this.urls.identity; }
  get running() { return this.child !== null && this.child.exitCode === null && this.child.signalCode === null; }
  logTail(lines = 60) { return this.log.join("").split("\n").slice(-lines).join("\n"); }

  async start() {
    if (this.running) throw new VaultlinkError("already running");
    this.workdir = mkdtempSync(join(tmpdir(), "vaultlink-testing-"));
    this.dataDir = this.givenDataDir ?? join(this.workdir, "data");
    // If the test process ends without stop(): no server or temp dir is left behind.
    this._onExit = () => {
      if (this.running) this.child.kill("SIGKILL");
      if (this.workdir) rmSync(this.workdir, { recursive: true, force: true });
    };
    process.once("exit", this._onExit);
    try {
      this._spawn();
      await this._readReady();
      this._checkEndpoints();
      this.env = await this._readEnv();
    } catch (e) {
      await this.stop();
      throw e;
    }
    return this;
  }

  _spawn() {
    const listen = LISTENERS.flatMap((name) => [`--${name}-listen`, "127.0.0.1:0"]);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SCRUB.has(k)));
    this.child = spawn(this.binary, ["serve", "--data-dir", this.dataDir, ...listen, ...this.args],
      { cwd: this.workdir, env, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (chunk) => {
      this.log.push(chunk);
      if (this.log.length > 2000) this.log.splice(0, 1000);
    });
    this.exited = new Promise((resolve) => this.child.once("exit", () => resolve()));
  }

  _readReady() {
    return new Promise((resolve, reject) => {
      const lines = createInterface({ input: this.child.stdout });
      const fail = (why) => {
        clearTimeout(timer);
        reject(new VaultlinkError(`vaultlink failed to start: ${why}\n--- its log ---\n${this.logTail()}`));
      };
      const timer = setTimeout(() => fail(`no \`vaultlink ready\` within ${this.readyTimeoutMs} ms`),
        this.readyTimeoutMs);
      let ready = false;
      lines.on("line", (line) => {
        const text = line.trim();
        if (ready) return;  // keep reading, so the pipe never fills
        if (text === "vaultlink ready") {
          ready = true;
          clearTimeout(timer);
          const missing = ["proxy", "https", "identity"].filter((k) => !this.urls[k]);
          if (missing.length) fail(`no address printed for ${missing}`);
          else resolve();
          return;
        }
        const url = /^(proxy|https|identity)\s+(\S+)$/.exec(text);
        if (url) this.urls[url[1]] = url[2].replace(/\/$/, "");
        const dns = /^dns\s+(\S+):(\d+)$/.exec(text);
        if (dns) this.dnsAddress = { host: dns[1], port: Number(dns[2]) };
      });
      this.child.once("exit", (code, signal) => {
        // stderr may still be draining: give it a moment so the log tail says why.
        if (!ready) setTimeout(() => fail(`vaultlink exited (${code ?? signal}) before \`vaultlink ready\``), 100);
      });
    });
  }

  _checkEndpoints() {
    const doc = JSON.parse(readFileSync(join(this.dataDir, "endpoints.json"), "utf8"));
    for (const key of ["proxy", "https", "identity"]) {
      if (String(doc[key] ?? "").replace(/\/$/, "") !== this.urls[key]) {
        throw new VaultlinkError(`endpoints.json says ${key} ${doc[key]}, the server printed ${this.urls[key]}`);
      }
    }
  }

  async _readEnv() {
    const { stdout } = await promisify(execFile)(this.binary,
      ["env", "--format", "json", "--data-dir", this.dataDir], { timeout: 60000 });
    const env = JSON.parse(stdout);
    if (env.HTTPS_PROXY !== this.urls.proxy) {
      throw new VaultlinkError(`vaultlink env names proxy ${env.HTTPS_PROXY}, the server printed ${this.urls.proxy}`);
    }
    return env;
  }

  // Stop the process (SIGTERM, SIGKILL after stopTimeoutMs) and remove the temp dir (a dataDir
  // you gave is kept). Resolves to the exit code (null if killed by a signal or never started).
  async stop() {
    this.closeClients();
    let code = null;
    if (this.child) {
      if (this.running) {
        this.child.kill("SIGTERM");
        const timer = setTimeout(() => this.child.kill("SIGKILL"), this.stopTimeoutMs);
        await this.exited;
        clearTimeout(timer);
      }
      code = this.child.exitCode;
    }
    if (this._onExit) {
      process.removeListener("exit", this._onExit);
      this._onExit = null;
    }
    if (this.workdir) rmSync(this.workdir, { recursive: true, force: true });
    return code;
  }
}

// A started Vaultlink: {env, credential(), secretClient(name), createVault(name), arm(), stop()}.
export async function start(options = {}) {
  return new Vaultlink(options).start();
}
