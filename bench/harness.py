#!/usr/bin/env python3
"""vaultlink's benchmark harness (issue 8). Run it through `bench/run` (full) or `bench/smoke`.

Every benchmark measures vaultlink and its baseline in the same run, on the same machine, with the
same load tool and settings, and prints one `RATIO` line per comparison:

    RATIO <id>: vaultlink <value> <unit> | <baseline> <value> <unit> | ratio <r> | target <t>: met|MISSED

Python standard library only (no requests), so it runs under any python3 >= 3.9. Load comes from
wrk (HTTP) and dnsperf (DNS); baselines are vaultlink-bench-ceiling (crates/), moto in server mode
(a venv made by bench/run), nsd and unbound (Debian packages). Every process it starts is stopped
by the pid it started, on exit or on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import glob
import http.client
import json
import os
import platform
import queue
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Iterable

HERE = Path(__file__).resolve().parent
LUA = HERE / "lua"

# Seeded identities (README: "Seeded identities").
TENANT = "8d3a7e52-6c1f-4b0e-9a57-2f4c8e1b6d90"
SUBSCRIPTION = "4f1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
CLIENT_ID = "a9b8c7d6-e5f4-4321-9abc-def012345678"
CLIENT_SECRET = "vaultlink-dev-secret"
VAULT_SCOPE = "https://vault.azure.net/.default"
ARM_SCOPE = "https://management.core.windows.net//.default"
ARM_API = "2021-04-01"
KV_ARM_API = "2023-07-01"
NET_API = "2024-05-01"
PRIVATE_DNS_API = "2018-09-01"
PRIVATELINK_ZONE = "privatelink.vaultcore.azure.net"
DP_API = "7.4"
REGION = "westeurope"
RG = "rg-bench"
SECRET_VALUE = "s" * 64  # the value every read benchmark reads (64 bytes, as a connection string)

PROFILES: dict[str, dict[str, Any]] = {
    "full": {
        "read_secs": 10, "read_conns": 64, "write_secs": 10, "write_conns": 16, "dns_secs": 10,
        "dns_names": 1000, "scale_steps": [1, 10, 100, 1000, 10000], "scale_secs": 10, "scale_dns_secs": 5,
        "startup_runs": 10, "gen_vaults": 1000, "gen_secrets": 100_000, "gen_fallback": (100, 10_000),
        "gen_budget_secs": 300, "wrk_threads": 2, "sign_secs": 10, "sign_lib_secs": 5,
        "endpoint_steps": [1, 10, 100, 1000], "record_steps": [1000, 10_000, 100_000], "private_secs": 5,
        "baseline_rounds": 3, "mixed_conns": 250, "mixed_write_conns": 50, "mixed_secs": 60,
        "memory_steps": [1000, 10_000, 100_000, 1_000_000],
    },
    "smoke": {
        "read_secs": 1, "read_conns": 8, "write_secs": 1, "write_conns": 4, "dns_secs": 1,
        "dns_names": 10, "scale_steps": [1, 10], "scale_secs": 1, "scale_dns_secs": 1,
        "startup_runs": 2, "gen_vaults": 5, "gen_secrets": 50, "gen_fallback": (5, 50),
        "gen_budget_secs": 60, "wrk_threads": 2, "sign_secs": 1, "sign_lib_secs": 0.3,
        "endpoint_steps": [1, 3], "record_steps": [10, 100], "private_secs": 1, "baseline_rounds": 1, "mixed_conns": 20, "mixed_write_conns": 4, "mixed_secs": 1,
        "memory_steps": [1000, 4000],
    },
}


# ---------------------------------------------------------------------------------------------
# Output


class Report:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.failures: list[str] = []

    def ratio(self, ident: str, what: str, vl: float | None, vl_unit: str, base_name: str,
              base: float | None, base_unit: str, *, target: str = "",
              met: Callable[[float], bool] | None = None, ratio: float | None = None,
              fmt: str = "{:,.0f}") -> None:
        """One comparison: vaultlink's figure, the baseline's, their ratio (vaultlink / baseline
        unless `ratio` is given) and whether `met(ratio)` holds."""
        if ratio is None and vl is not None and base not in (None, 0):
            ratio = vl / base
        verdict = ""
        if met is not None and ratio is not None:
            verdict = "met" if met(ratio) else "MISSED"
        row = {"id": ident, "what": what, "vaultlink": vl, "vaultlink_unit": vl_unit,
               "baseline": base_name, "baseline_value": base, "baseline_unit": base_unit,
               "ratio": ratio, "target": target, "verdict": verdict}
        self.rows.append(row)
        v = "n/a" if vl is None else fmt.format(vl)
        b = "n/a" if base is None else fmt.format(base)
        r = "n/a" if ratio is None else f"{ratio:.3g}"
        t = f" | target {target}: {verdict}" if target else ""
        print(f"RATIO {ident}: vaultlink {v} {vl_unit} | {base_name} {b} {base_unit} | ratio {r}{t}",
              flush=True)

    def note(self, msg: str) -> None:
        self.notes.append(msg)
        print(f"NOTE {msg}", flush=True)

    def fail(self, msg: str) -> None:
        self.failures.append(msg)
        print(f"FAIL {msg}", flush=True)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# Processes (every one we start is stopped by its own pid)

_procs: list["Proc"] = []


class Proc:
    """A child process whose stdout is read line by line in a thread."""

    def __init__(self, argv: list[str], *, log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.argv = argv
        self.lines: "queue.Queue[str | None]" = queue.Queue()
        self.all_lines: list[str] = []
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.started = time.perf_counter()
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL,
                                  env=env, cwd=cwd, start_new_session=True)
        _procs.append(self)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.p.stdout is not None
        for raw in self.p.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.all_lines.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_line(self, pred: Callable[[str], bool], timeout: float) -> tuple[str, float]:
        """Waits for a stdout line matching `pred`; returns it and the seconds since launch."""
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise RuntimeError(f"{self.argv[0]}: no expected line within {timeout}s; log {self.log_path}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"{self.argv[0]} exited ({self.p.wait()}) early; log {self.log_path}:\n"
                                   + tail(self.log_path))
            if pred(line):
                return line, time.perf_counter() - self.started

    @property
    def pid(self) -> int:
        return self.p.pid

    def rss_kib(self) -> int:
        return rss_kib(self.p.pid)

    def stop(self) -> None:
        if self.p.poll() is None:
            try:
                self.p.send_signal(signal.SIGTERM)
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if self in _procs:
            _procs.remove(self)
        self._log.close()


def stop_all() -> None:
    for p in list(_procs):
        try:
            p.stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def tail(path: Path, n: int = 30) -> str:
    """The end of a log, plus its first error line (a backtrace can push it out of the tail)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    first_error = next((ln for ln in lines if ln.startswith("Error:") or "error" in ln.lower()[:40]), None)
    head = [first_error, "..."] if first_error and first_error not in lines[-n:] else []
    return "\n".join(head + lines[-n:])


def rss_kib(pid: int) -> int:
    """VmRSS of a process, KiB (plus its children's, for servers that fork workers)."""
    total = 0
    for p in [pid] + children(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def children(pid: int) -> list[int]:
    out = []
    try:
        for t in Path(f"/proc/{pid}/task").iterdir():
            kids = (t / "children").read_text().split()
            for k in kids:
                out.append(int(k))
                out.extend(children(int(k)))
    except OSError:
        pass
    return out


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process and its live children (nsd serves from a forked child), in
    clock ticks."""
    total = 0
    for p in [pid] + children(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------------------------------------
# vaultlink


class Vaultlink:
    def __init__(self, binary: Path, data_dir: Path, work: Path, *, in_memory: bool, throttle: bool = False,
                 name: str = "vaultlink", extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        argv = [str(binary), "serve", "--data-dir", str(data_dir), "--proxy-listen", "127.0.0.1:0",
                "--https-listen", "127.0.0.1:0", "--identity-listen", "127.0.0.1:0", "--dns-listen",
                "127.0.0.1:0"]
        if not throttle:
            argv.append("--no-throttle")
        if in_memory:
            argv.append("--in-memory")
        env = dict(os.environ)
        env.setdefault("VAULTLINK_LOG", "warn")
        env.update(extra_env or {})
        self.proc = Proc(argv, log_path=work / f"{name}.log", env=env)
        urls: dict[str, str] = {}

        def seen(line: str) -> bool:
            parts = line.split(None, 1)
            if len(parts) == 2:
                urls[parts[0]] = parts[1].strip()
            return line.strip() == "vaultlink ready"

        _, self.ready_secs = self.proc.wait_line(seen, timeout=120)
        https = urllib.parse.urlsplit(urls["https"])
        self.https_port = https.port
        self.proxy_addr = urllib.parse.urlsplit(urls["proxy"]).netloc  # host:port of the CONNECT proxy
        self.ca_bundle = Path(urls["ca"])  # vaultlink's CA, then the system's roots
        host, port = urls["dns"].rsplit(":", 1)
        self.dns = (host, int(port))
        self._tokens: dict[str, str] = {}
        self._local = threading.local()

    def stop(self) -> None:
        self.proc.stop()

    # -- HTTP on the direct listener (Host header decides the surface) ------------------------
    def conn(self) -> http.client.HTTPSConnection:
        c = getattr(self._local, "conn", None)
        if c is None:
            c = https_conn("127.0.0.1", self.https_port)
            self._local.conn = c
        return c

    def request(self, method: str, path: str, *, host: str | None = None, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        h = {"Host": host or f"127.0.0.1:{self.https_port}"}
        h.update(headers or {})
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        for attempt in range(3):
            try:
                c = self.conn()
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def token(self, scope: str) -> str:
        if scope not in self._tokens:
            form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                           "client_secret": CLIENT_SECRET, "scope": scope}).encode()
            st, body = self.request("POST", f"/{TENANT}/oauth2/v2.0/token", body=form,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
            if st != 200:
                raise RuntimeError(f"token endpoint answered {st}: {body[:300]!r}")
            self._tokens[scope] = json.loads(body)["access_token"]
        return self._tokens[scope]

    def arm(self, method: str, path: str, api: str, body: Any = None) -> Any:
        sep = "&" if "?" in path else "?"
        st, out = self.request(method, f"{path}{sep}api-version={api}",
                               body=None if body is None else json.dumps(body).encode(),
                               headers={"Authorization": f"Bearer {self.token(ARM_SCOPE)}"})
        if st >= 300:
            raise RuntimeError(f"ARM {method} {path}: {st} {out[:400]!r}")
        return json.loads(out) if out else None

    def kv(self, method: str, vault: str, path: str, body: Any = None) -> tuple[int, bytes]:
        sep = "&" if "?" in path else "?"
        return self.request(method, f"{path}{sep}api-version={DP_API}", host=f"{vault}.vault.azure.net",
                            body=None if body is None else json.dumps(body).encode(),
                            headers={"Authorization": f"Bearer {self.token(VAULT_SCOPE)}"})

    def prepare_rg(self) -> None:
        sub = f"/subscriptions/{SUBSCRIPTION}"
        self.arm("POST", f"{sub}/providers/Microsoft.KeyVault/register", ARM_API)
        self.arm("PUT", f"{sub}/resourcegroups/{RG}", ARM_API, {"location": REGION})

    def create_vault(self, name: str) -> None:
        self.arm("PUT", f"/subscriptions/{SUBSCRIPTION}/resourcegroups/{RG}/providers/Microsoft.KeyVault/vaults/{name}",
                 KV_ARM_API, {"location": REGION, "properties": {
                     "tenantId": TENANT, "sku": {"family": "A", "name": "standard"},
                     "enableRbacAuthorization": True}})

    def set_secret(self, vault: str, name: str, value: str) -> bytes:
        st, out = self.kv("PUT", vault, f"/secrets/{name}", {"value": value})
        if st != 200:
            raise RuntimeError(f"PUT secret {vault}/{name}: {st} {out[:300]!r}")
        return out

    def read_target(self, vault: str) -> tuple[str, list[str]]:
        """Makes `vault` (with the resource group) holding secret s1; returns the secret's URL on
        the direct listener and the headers that read it (for wrk's read.lua)."""
        self.prepare_rg()
        self.create_vault(vault)
        self.set_secret(vault, "s1", SECRET_VALUE)
        headers = [f"Host: {vault}.vault.azure.net", f"Authorization: Bearer {self.token(VAULT_SCOPE)}"]
        return f"https://127.0.0.1:{self.https_port}/secrets/s1?api-version={DP_API}", headers

    def view_dns(self, nic: str) -> tuple[str, int]:
        """The DNS server a machine at `nic` asks (its VNet's view), from the control socket."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(30)
            sock.connect(str(self.data_dir / "control.sock"))
            sock.sendall(f"exec {nic}\n".encode())
            reply = sock.makefile().readline().split()
        if len(reply) != 3 or reply[0] != "portable":
            raise RuntimeError(f"control socket answered {reply!r} for exec {nic}")
        host, port = reply[2].rsplit(":", 1)
        return host, int(port)

    def parallel(self, items: Iterable[Any], fn: Callable[[Any], None], workers: int = 8) -> None:
        """Runs `fn` over `items` on `workers` threads; the first error stops the rest and is raised."""
        errors: list[BaseException] = []
        it = iter(items)
        lock = threading.Lock()

        def work() -> None:
            while True:
                with lock:
                    item = next(it, None)
                if item is None or errors:
                    return
                try:
                    fn(item)
                except BaseException as e:  # noqa: BLE001 - reported below
                    errors.append(e)
                    return

        threads = [threading.Thread(target=work) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def create_vaults(self, prefix: str, start: int, end: int, *, secret: bool = True, workers: int = 8) -> None:
        """Vaults prefix<start> .. prefix<end-1>, each with secret s1, in parallel."""
        def one(i: int) -> None:
            self.create_vault(f"{prefix}{i}")
            if secret:
                self.set_secret(f"{prefix}{i}", "s1", SECRET_VALUE)

        self.parallel(range(start, end), one, workers)


def https_conn(host: str, port: int) -> http.client.HTTPSConnection:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection(host, port, context=ctx, timeout=60)


# ---------------------------------------------------------------------------------------------
# Load tools


def lua_script(work: Path, name: str) -> Path:
    out = work / f"{name}.lua"
    text = (LUA / f"{name}.lua").read_text() + "\n" + (LUA / "common.lua").read_text()
    # Written whole under another name and renamed, so a wrk started meanwhile never reads half.
    part = work / f"{name}.lua.{threading.get_ident()}"
    part.write_text(text)
    part.replace(out)
    return out


def wrk(work: Path, url: str, *, script: str, conns: int, threads: int, secs: float,
        headers: list[str] | None = None, env: dict[str, str] | None = None,
        sample_pid: int | None = None) -> dict[str, Any]:
    """Runs wrk; returns its summary (requests, rps, p50/p99 in ms, errors) from WRKJSON."""
    argv = ["wrk", f"-t{min(threads, conns)}", f"-c{conns}", f"-d{max(1, round(secs))}s", "--latency",
            "--timeout", "10s", "-s", str(lua_script(work, script))]
    for h in headers or []:
        argv += ["-H", h]
    argv.append(url)
    e = dict(os.environ)
    e.update(env or {})
    sampler = Sampler(sample_pid)
    out = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=secs + 120)
    sampler.stop()
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {' '.join(argv)}\n{out.stdout}\n{out.stderr}")
    r = json.loads(line[len("WRKJSON "):])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    for k in ("p50", "p90", "p99", "mean", "max"):
        r[f"{k}_ms"] = r[f"{k}_us"] / 1000
    r["errors"] = r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["status_errors"] + r["timeouts"]
    sampler.into(r)
    r["raw"] = out.stdout
    return r


class Sampler:
    """A server's CPU time and peak resident memory while a load runs (from /proc): started with
    the load, `stop()`ped after it, `into(r)` sets r's `server_cpu_secs` and `peak_rss_kib`."""

    def __init__(self, pid: int | None) -> None:
        self.pid, self.peak, self.cpu_secs = pid, 0, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self._cpu0 = cpu_ticks(pid) if pid else 0

    def _sample(self) -> None:
        while self.pid and not self._stop.wait(0.25):
            self.peak = max(self.peak, rss_kib(self.pid))

    def stop(self) -> None:
        if self.pid:
            self.cpu_secs = (cpu_ticks(self.pid) - self._cpu0) / os.sysconf("SC_CLK_TCK")
        self._stop.set()
        self._thread.join()

    def into(self, r: dict[str, Any]) -> None:
        r["peak_rss_kib"] = self.peak
        if self.cpu_secs is not None:
            r["server_cpu_secs"] = self.cpu_secs


def tunnel_load(ceiling_bin: Path, target: str, host: str, path: str, *, headers: list[str], conns: int,
                threads: int, secs: float, ca_file: Path | None = None, direct: bool = False,
                sample_pid: int | None = None) -> dict[str, Any]:
    """`vaultlink-bench-ceiling load`: keep-alive GETs through the CONNECT proxy at `target`
    (host:port; with `direct`, TLS straight to it), as wrk() reports them (requests, rps, p50/p99
    in ms, errors, status_errors; the server's CPU with `sample_pid`)."""
    argv = [str(ceiling_bin), "load", "--server" if direct else "--proxy", target, "--host", host, "--path", path,
            "--conns", str(conns), "--threads", str(threads), "--secs", str(secs)]
    argv += ["--ca-file", str(ca_file)] if ca_file else ["--insecure"]
    for h in headers:
        argv += ["--header", h]
    sampler = Sampler(sample_pid)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=secs + 60)
    sampler.stop()
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("{")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"load failed ({out.returncode}): {' '.join(argv)}\n{out.stdout}\n{out.stderr}")
    r = json.loads(line)
    sampler.into(r)
    return r


def sqlite_commit_rate(work: Path, secs: float) -> dict[str, Any]:
    """How many single-row transactions per second one writer commits on this disk in SQLite WAL
    mode with synchronous=FULL (one fsync per commit, as vaultlink's store did before group
    commit). Durable writes without group commit cannot beat it."""
    import sqlite3

    path = work / "commit-probe.db"
    con = sqlite3.connect(str(path), isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID")
    value = b"v" * 700
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < secs:
        con.execute("BEGIN")
        con.execute("INSERT OR REPLACE INTO records (key, value) VALUES (?, ?)", (f"k{n}", value))
        con.execute("COMMIT")
        n += 1
    elapsed = time.perf_counter() - t0
    con.close()
    for p in work.glob("commit-probe.db*"):
        p.unlink()
    return {"commits": n, "secs": elapsed, "commits_per_sec": n / elapsed, "ms_per_commit": elapsed / n * 1000}


def check_wrk(report: Report, what: str, r: dict[str, Any]) -> None:
    """A benchmark whose requests failed measures nothing: record it."""
    if r["requests"] == 0:
        report.fail(f"{what}: no request completed")
    elif r["status_errors"] or r["errors"] > max(2, r["requests"] // 1000):
        report.fail(f"{what}: {r['status_errors']} non-2xx answers, {r['errors']} errors in {r['requests']} requests")


def cpu_us(r: dict[str, Any]) -> float | None:
    """The server's CPU time per request of a wrk run (sampled with `sample_pid`), in us."""
    cpu = r.get("server_cpu_secs")
    return cpu / r["requests"] * 1e6 if cpu and r.get("requests") else None


def run_cpu(argv: list[str], timeout: float) -> tuple[subprocess.CompletedProcess, float]:
    """subprocess.run(argv, capture_output=True, text=True), plus the child's own CPU time (user +
    sys, seconds) from wait4: what a process that prints no CPU figure (the in-process signer) used."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        killer = threading.Timer(timeout, p.kill)
        killer.start()
        _, status, ru = os.wait4(p.pid, 0)
        killer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode == -signal.SIGKILL:
            raise subprocess.TimeoutExpired(argv, timeout)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(argv, p.returncode, out.read().decode(errors="replace"),
                                           err.read().decode(errors="replace"))
    return done, ru.ru_utime + ru.ru_stime


def dnsperf(server: tuple[str, int], queries: Path, secs: float, work: Path, pid: int | None = None) -> dict[str, Any]:
    cpu0 = cpu_ticks(pid) if pid else 0
    argv = ["dnsperf", "-s", server[0], "-p", str(server[1]), "-d", str(queries), "-l", str(max(1, round(secs))),
            "-c", "1", "-T", "1", "-q", "500", "-t", "1"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=secs + 60)
    (work / "dnsperf.log").open("a").write(" ".join(argv) + "\n" + out.stdout + out.stderr + "\n")
    txt = out.stdout
    m = re.search(r"Queries per second:\s+([\d.]+)", txt)
    sent = re.search(r"Queries sent:\s+(\d+)", txt)
    done = re.search(r"Queries completed:\s+(\d+)", txt)
    lost = re.search(r"Queries lost:\s+(\d+)", txt)
    codes = re.search(r"Response codes:\s+(.*)", txt)
    lat = re.search(r"Average Latency \(s\):\s+([\d.]+)", txt)
    if out.returncode != 0 or not m:
        raise RuntimeError(f"dnsperf failed ({out.returncode}): {' '.join(argv)}\n{txt}\n{out.stderr}")
    cpu = (cpu_ticks(pid) - cpu0) / os.sysconf("SC_CLK_TCK") if pid else None
    return {"qps": float(m.group(1)), "server_cpu_secs": cpu, "sent": int(sent.group(1)) if sent else 0,
            "completed": int(done.group(1)) if done else 0, "lost": int(lost.group(1)) if lost else 0,
            "codes": codes.group(1).strip() if codes else "", "avg_latency_ms": float(lat.group(1)) * 1000 if lat else 0}


def check_dns(report: Report, what: str, r: dict[str, Any]) -> None:
    if not r["completed"]:
        report.fail(f"{what}: no query answered")
    elif not r["codes"].startswith("NOERROR") or "," in r["codes"]:
        report.fail(f"{what}: answers were not all NOERROR ({r['codes']})")


def answer_count(dig_output: str) -> int:
    m = re.search(r"ANSWER: (\d+)", dig_output)
    return int(m.group(1)) if m else -1


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def find_sbin(tool: str) -> str | None:
    return shutil.which(tool) or next((p for p in (f"/usr/sbin/{tool}", f"/sbin/{tool}") if os.access(p, os.X_OK)), None)


# ---------------------------------------------------------------------------------------------
# Baselines


class Ceiling:
    def __init__(self, binary: Path, body: bytes, work: Path, *, connect: bool = False) -> None:
        body_file = work / "ceiling-body.json"
        body_file.write_bytes(body)
        self.proc = Proc([str(binary), "--listen", "127.0.0.1:0", "--body-file", str(body_file)]
                         + (["--connect"] if connect else []), log_path=work / "ceiling.log")
        line, self.ready_secs = self.proc.wait_line(lambda ln: ln.startswith("https "), timeout=30)
        self.url = line.split()[1]
        self.proc.wait_line(lambda ln: ln == "ready", timeout=30)


class Moto:
    def __init__(self, moto_server: str, work: Path) -> None:
        self.port = free_port()
        self.proc = Proc([moto_server, "-H", "127.0.0.1", "-p", str(self.port)], log_path=work / "moto.log")
        # Ready = answers HTTP (moto prints its banner on stderr, not stdout).
        deadline = time.perf_counter() + 60
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/moto-api/")
                c.getresponse().read()
                break
            except OSError:
                if self.proc.p.poll() is not None or time.perf_counter() > deadline:
                    raise RuntimeError("moto did not start:\n" + tail(self.proc.log_path)) from None
                time.sleep(0.01)
        self.ready_secs = time.perf_counter() - self.proc.started
        self.url = f"http://127.0.0.1:{self.port}/"

    def call(self, target: str, body: dict[str, Any]) -> dict[str, Any]:
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("POST", "/", body=json.dumps(body), headers={
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"secretsmanager.{target}",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/secretsmanager/aws4_request, "
                             "SignedHeaders=host, Signature=00"})
        r = c.getresponse()
        out = r.read()
        if r.status != 200:
            raise RuntimeError(f"moto {target}: {r.status} {out[:300]!r}")
        return json.loads(out)


def dig_answers(server: tuple[str, int], names: list[str], work: Path) -> list[str]:
    """Every answer RR (dig +noall +answer) for `names`, type A, in one dig process."""
    qf = work / "dig-names.txt"
    qf.write_text("".join(f"{n} A\n" for n in names))
    out = subprocess.run(["dig", "@" + server[0], "-p", str(server[1]), "+noall", "+answer", "+norec", "+nocookie",
                          "+time=2", "+tries=2", "-f", str(qf)], capture_output=True, text=True, timeout=300)
    return [ln for ln in out.stdout.splitlines() if ln and not ln.startswith(";")]


def zones_from_answers(rrs: list[str]) -> dict[str, list[str]]:
    """Groups answer RRs into zones: the two public zones vaultlink plays, else the name's last
    three labels."""
    zones: dict[str, set[str]] = {}
    for rr in rrs:
        f = rr.split()
        name = f[0].lower()
        zone = next((z for z in ("vault.azure.net.", "vaultcore.azure.net.") if name.endswith("." + z)),
                    ".".join(name.rstrip(".").split(".")[-3:]) + ".")
        zones.setdefault(zone, set()).add(" ".join([name] + f[1:]))
    return {z: sorted(v) for z, v in zones.items()}


def write_zone_files(zones: dict[str, list[str]], d: Path) -> dict[str, Path]:
    files = {}
    for zone, rrs in zones.items():
        p = d / f"{zone.rstrip('.')}.zone"
        p.write_text(
            f"$ORIGIN {zone}\n$TTL 300\n"
            f"@ 3600 IN SOA ns1-01.azure-dns.com. azuredns-hostmaster.microsoft.com. 1 3600 300 2419200 300\n"
            f"@ 3600 IN NS ns1-01.azure-dns.com.\n" + "\n".join(rrs) + "\n")
        files[zone] = p
    return files


class Nsd:
    def __init__(self, zones: dict[str, Path], work: Path) -> None:
        d = work / "nsd"
        d.mkdir(exist_ok=True)
        self.port = free_port()
        conf = d / "nsd.conf"
        zone_cfg = "".join(f"zone:\n    name: \"{z}\"\n    zonefile: \"{p}\"\n" for z, p in zones.items())
        conf.write_text(f"""server:
    ip-address: 127.0.0.1@{self.port}
    port: {self.port}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    pidfile: "{d}/nsd.pid"
    xfrdfile: "{d}/xfrd.state"
    zonelistfile: "{d}/zone.list"
    verbosity: 0
    hide-version: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
{zone_cfg}""")
        self.proc = Proc([find_sbin("nsd") or "nsd", "-d", "-c", str(conf)], log_path=work / "nsd.log")
        wait_udp_answer(("127.0.0.1", self.port), next(iter(zones)), self.proc)
        self.addr = ("127.0.0.1", self.port)


class Unbound:
    """unbound as the recursive resolver a client would ask, with the zones as auth-zones it
    resolves from (for-upstream): it answers `qr rd ra` with the whole CNAME chain, as vaultlink's
    resolver view does, from its message cache after the first question. (local-data would not
    follow the CNAMEs into the other zone, and answer less.)"""

    def __init__(self, zones: dict[str, Path], work: Path) -> None:
        d = work / "unbound"
        d.mkdir(exist_ok=True)
        self.port = free_port()
        auth = "".join(f'auth-zone:\n    name: "{z}"\n    zonefile: "{p}"\n    for-downstream: no\n'
                       f'    for-upstream: yes\n    fallback-enabled: no\n' for z, p in zones.items())
        conf = d / "unbound.conf"
        conf.write_text(f"""server:
    interface: 127.0.0.1@{self.port}
    port: {self.port}
    do-daemonize: no
    use-syslog: no
    logfile: ""
    verbosity: 0
    username: ""
    chroot: ""
    directory: "{d}"
    pidfile: "{d}/unbound.pid"
    num-threads: 1
    access-control: 127.0.0.0/8 allow
    do-ip6: no
    ratelimit: 0
    ip-ratelimit: 0
    module-config: "iterator"
    auto-trust-anchor-file: ""
    trust-anchor-file: ""
{auth}remote-control:
    control-enable: no
""")
        self.proc = Proc([find_sbin("unbound") or "unbound", "-d", "-c", str(conf)], log_path=work / "unbound.log")
        wait_udp_answer(("127.0.0.1", self.port), next(iter(zones)), self.proc)
        self.addr = ("127.0.0.1", self.port)


def wait_udp_answer(addr: tuple[str, int], name: str, proc: Proc, timeout: float = 30) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if proc.p.poll() is not None:
            raise RuntimeError(f"{proc.argv[0]} exited:\n" + tail(proc.log_path))
        out = subprocess.run(["dig", "@" + addr[0], "-p", str(addr[1]), "+time=1", "+tries=1", name, "SOA"],
                             capture_output=True, text=True)
        if "status: NOERROR" in out.stdout:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{proc.argv[0]} did not answer on {addr}:\n" + tail(proc.log_path))


class Postgres:
    """A PostgreSQL server of the run's own (Debian's postgresql package: initdb and pg_ctl in the
    work dir, as the postgres user when root), for the replica benchmark."""

    def __init__(self, work: Path) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: install postgresql")
        self.bin = Path(found[-1]).parent
        # Under /tmp: the postgres user may not enter the work dir's parents.
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        self.data = self.dir / "data"
        self._run("initdb", "-D", str(self.data), "-U", "vaultlink", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start")
        self.url = f"postgres://vaultlink@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.dir)
        if p.returncode != 0:
            raise RuntimeError(f"{tool} failed: {p.stdout}{p.stderr}")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The benchmarks


class Harness:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cfg = dict(PROFILES[args.profile])
        for kv in args.set or []:
            k, v = kv.split("=", 1)
            if k not in self.cfg:
                raise SystemExit(f"--set: unknown setting {k} (one of {', '.join(sorted(self.cfg))})")
            self.cfg[k] = json.loads(v)
        self.report = Report()
        self.bin = Path(args.vaultlink)
        self.ceiling_bin = Path(args.ceiling)
        root = Path(args.work_root or os.path.join(os.environ.get("VAULTLINK_CACHE") or
                                                   os.path.expanduser("~/.cache/vaultlink"), "bench", "work"))
        root.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="run-", dir=root))
        self.results: dict[str, Any] = {"profile": args.profile, "machine": machine()}
        self.results["machine"]["work_fs"] = fs_type(self.work)
        if self.results["machine"]["work_fs"] in ("tmpfs", "ramfs", "overlay"):
            self.report.note(f"the work dir {self.work} is on {self.results['machine']['work_fs']}: durable writes "
                             "there do not measure a disk (use --work-root on a real disk)")
        self.vl_dirs = 0

    def data_dir(self) -> Path:
        self.vl_dirs += 1
        return self.work / f"data{self.vl_dirs}"

    def vaultlink(self, *, in_memory: bool, data_dir: Path | None = None, name: str = "vaultlink",
                  extra_env: dict[str, str] | None = None) -> Vaultlink:
        d = data_dir or self.data_dir()
        for attempt in range(3):
            try:
                return Vaultlink(self.bin, d, self.work, in_memory=in_memory, name=name, extra_env=extra_env)
            except RuntimeError as e:
                # `--dns-listen 127.0.0.1:0` binds UDP on a free port, then TCP on the same port,
                # which a local TCP connection may hold already: vaultlink exits "binding DNS (tcp)".
                if "binding" not in str(e) or attempt == 2:
                    raise
                first = next((ln for ln in str(e).splitlines() if "binding" in ln), str(e).splitlines()[0])
                self.report.note(f"vaultlink failed to start ({first.strip()}); started again")
        raise AssertionError("unreachable")

    def enabled(self, name: str) -> bool:
        return not self.args.only or name in self.args.only

    def ceiling_load(self, body: bytes, path: str, *, script: str, conns: int, secs: float,
                     headers: list[str] | None = None, env: dict[str, str] | None = None,
                     what: str = "ceiling") -> dict[str, Any]:
        """wrk against the hyper+rustls ceiling answering `body` to every request (the bytes
        vaultlink answered), with the ceiling's CPU sampled: its `server_cpu_secs` (cpu_us gives
        the ceiling's CPU per request) and its resident memory after the load (`rss_kib`)."""
        ceiling = Ceiling(self.ceiling_bin, body, self.work)
        try:
            r = wrk(self.work, ceiling.url + path, script=script, conns=conns, threads=self.cfg["wrk_threads"],
                    secs=secs, headers=headers, env=env, sample_pid=ceiling.proc.pid)
            check_wrk(self.report, what, r)
            r["rss_kib"] = ceiling.proc.rss_kib()
        finally:
            ceiling.proc.stop()
        return r

    # -- 1. secret reads ---------------------------------------------------------------------
    def reads(self) -> None:
        cfg, rep = self.cfg, self.report
        log(f"reads: {cfg['read_conns']} connections, {cfg['read_secs']} s each")
        vl = self.vaultlink(in_memory=False, name="vaultlink-reads")
        try:
            url, headers = vl.read_target("kvbench")
            st, body = vl.kv("GET", "kvbench", "/secrets/s1")
            assert st == 200, (st, body)
            idle = vl.proc.rss_kib()
            r_vl = wrk(self.work, url, script="read", conns=cfg["read_conns"], threads=cfg["wrk_threads"],
                       secs=cfg["read_secs"], headers=headers, sample_pid=vl.proc.pid)
            check_wrk(rep, "vaultlink reads", r_vl)
            after = vl.proc.rss_kib()
            self.results["reads_vaultlink"] = strip_raw(r_vl)
            self.results["rss_vaultlink"] = {"idle_kib": idle, "peak_under_load_kib": r_vl["peak_rss_kib"],
                                             "after_load_kib": after}
        finally:
            vl.stop()
        r_c = self.ceiling_load(body, f"/secrets/s1?api-version={DP_API}", script="read", conns=cfg["read_conns"],
                                secs=cfg["read_secs"], headers=headers, what="ceiling reads")
        self.results["reads_ceiling"] = strip_raw(r_c)
        rep.ratio("reads.throughput.ceiling", "secret reads/s vs hyper+rustls ceiling", r_vl["rps"], "req/s",
                  "ceiling", r_c["rps"], "req/s", target=">= 0.60", met=lambda x: x >= 0.6)
        rep.ratio("reads.p50.ceiling", f"secret read p50 latency ({cfg['read_conns']} connections)", r_vl["p50_ms"],
                  "ms", "ceiling", r_c["p50_ms"], "ms",
                  fmt="{:.3f}")
        rep.ratio("reads.p99.ceiling", f"secret read p99 latency ({cfg['read_conns']} connections)", r_vl["p99_ms"],
                  "ms", "ceiling", r_c["p99_ms"], "ms",
                  fmt="{:.3f}")
        us_vl, us_c = cpu_us(r_vl), cpu_us(r_c)
        if us_vl and us_c:
            rep.ratio("reads.cpu_per_request", "server CPU time per secret read", us_vl, "us", "ceiling", us_c, "us",
                      fmt="{:.1f}")
        self.results["read_body_bytes"] = len(body)

        moto_server = self.args.moto
        if not moto_server or not os.access(moto_server, os.X_OK):
            rep.note("moto not available (bench/run makes its venv); reads vs moto skipped")
            return
        moto = Moto(moto_server, self.work)
        try:
            moto.call("CreateSecret", {"Name": "s1", "SecretString": SECRET_VALUE})
            got = moto.call("GetSecretValue", {"SecretId": "s1"})
            assert got["SecretString"] == SECRET_VALUE
            moto_idle = moto.proc.rss_kib()
            r_m = wrk(self.work, moto.url, script="moto", conns=cfg["read_conns"], threads=cfg["wrk_threads"],
                      secs=cfg["read_secs"], sample_pid=moto.proc.pid)
            check_wrk(rep, "moto reads", r_m)
            self.results["reads_moto"] = strip_raw(r_m)
            self.results["rss_moto"] = {"idle_kib": moto_idle, "peak_under_load_kib": r_m["peak_rss_kib"],
                                        "after_load_kib": moto.proc.rss_kib()}
            self.results["startup_moto_secs"] = moto.ready_secs
        finally:
            moto.proc.stop()
        rep.ratio("reads.throughput.moto", "secret reads/s vs moto GetSecretValue", r_vl["rps"], "req/s", "moto",
                  r_m["rps"], "req/s", target=">= 50", met=lambda x: x >= 50)
        rep.ratio("reads.p50.moto", "secret read p50 latency vs moto", r_vl["p50_ms"], "ms", "moto", r_m["p50_ms"], "ms", fmt="{:.3f}")
        rep.ratio("reads.p99.moto", "secret read p99 latency vs moto", r_vl["p99_ms"], "ms", "moto", r_m["p99_ms"], "ms", fmt="{:.3f}")
        rss = self.results["rss_vaultlink"]
        rep.ratio("memory.under_load.moto", "resident memory, peak during the read load", rss["peak_under_load_kib"] / 1024,
                  "MiB", "moto", self.results["rss_moto"]["peak_under_load_kib"] / 1024, "MiB", fmt="{:.1f}")

    # -- 1b. secret reads through the CONNECT proxy (issue 22, item 1) -------------------------
    def proxy_reads(self) -> None:
        """Reads as `az` and the SDKs make them with HTTPS_PROXY set: CONNECT to vaultlink's proxy
        listener, TLS inside the tunnel (vaultlink terminates it in-process), keep-alive GETs; the
        same load through the ceiling with `--connect` (the same kind of tunnel). wrk cannot use a
        proxy, so both are loaded by `vaultlink-bench-ceiling load`."""
        cfg, rep = self.cfg, self.report
        conns, secs, threads = cfg["read_conns"], cfg["read_secs"], cfg["wrk_threads"]
        log(f"proxy: {conns} connections through the CONNECT proxy, {secs} s each")
        host, path = "kvbench.vault.azure.net", f"/secrets/s1?api-version={DP_API}"
        vl = self.vaultlink(in_memory=True, name="vaultlink-proxy")
        try:
            _, headers = vl.read_target("kvbench")
            headers = [h for h in headers if not h.lower().startswith("host:")]
            st, body = vl.kv("GET", "kvbench", "/secrets/s1")
            assert st == 200, (st, body)
            load = dict(headers=headers, conns=conns, threads=threads, secs=secs, ca_file=vl.ca_bundle,
                        sample_pid=vl.proc.pid)
            r_vl = tunnel_load(self.ceiling_bin, vl.proxy_addr, host, path, **load)
            check_wrk(rep, "vaultlink reads through the proxy", r_vl)
            r_direct = tunnel_load(self.ceiling_bin, f"127.0.0.1:{vl.https_port}", host, path, direct=True, **load)
            check_wrk(rep, "vaultlink reads on the direct listener", r_direct)
        finally:
            vl.stop()
        ceiling = Ceiling(self.ceiling_bin, body, self.work, connect=True)
        try:
            r_c = tunnel_load(self.ceiling_bin, ceiling.url.split("//", 1)[1], host, path, headers=headers,
                              conns=conns, threads=threads, secs=secs, sample_pid=ceiling.proc.pid)
            check_wrk(rep, "ceiling reads through its tunnel", r_c)
        finally:
            ceiling.proc.stop()
        self.results["proxy"] = {"vaultlink": r_vl, "vaultlink_direct": r_direct, "ceiling": r_c}
        us_vl, us_d, us_c = cpu_us(r_vl), cpu_us(r_direct), cpu_us(r_c)
        rep.ratio("proxy.cpu_per_read", "server CPU per secret read through the CONNECT proxy vs the ceiling's tunnel",
                  us_vl, "us", "ceiling", us_c, "us", target="<= 1.3", met=lambda x: x <= 1.3, fmt="{:.1f}")
        rep.ratio("proxy.throughput", "secret reads/s through the CONNECT proxy vs the ceiling's tunnel", r_vl["rps"],
                  "req/s", "ceiling", r_c["rps"], "req/s", target=">= 0.70", met=lambda x: x >= 0.7)
        rep.note(f"proxy: p50/p99 {r_vl['p50_ms']:.3f}/{r_vl['p99_ms']:.3f} ms through the proxy, ceiling "
                 f"{r_c['p50_ms']:.3f}/{r_c['p99_ms']:.3f} ms; the direct listener under the same load: "
                 f"{r_direct['rps']:,.0f} req/s, " + (f"{us_d:.1f} us CPU per read" if us_d else "no CPU figure"))

    # -- 0. against a baseline binary (the redesign's 5% rule) -------------------------------
    def against_baseline(self) -> None:
        """CPU per secret read and per DNS answer of this binary against `--baseline` (an earlier
        commit's build), in the same run: the two alternate `baseline_rounds` times, each round
        one read load and one dnsperf run per binary, the first of the pair alternating from round
        to round; the ratio is of the summed CPU per operation."""
        cfg, rep = self.cfg, self.report
        base = self.args.baseline
        if not base:
            rep.note("no --baseline binary: the comparison against an earlier build is skipped")
            return
        rounds = int(cfg.get("baseline_rounds", 3))
        log(f"baseline: {self.bin} against {base}, {rounds} rounds")
        totals = {which: {"read_cpu": 0.0, "reads": 0, "dns_cpu": 0.0, "answers": 0} for which in ("new", "base")}
        n_vaults = 20
        queries = self.work / "baseline-queries.txt"
        queries.write_text("".join(f"kvab{i}.vault.azure.net A\n" for i in range(n_vaults)))
        pair = (("new", self.bin), ("base", Path(base)))
        for r in range(rounds):
            # Which binary goes first alternates, so neither gains from running first in a round.
            for which, binary in (pair if r % 2 == 0 else pair[::-1]):
                vl = Vaultlink(binary, self.data_dir(), self.work, in_memory=False, name=f"vaultlink-{which}-{r}")
                try:
                    url, headers = vl.read_target("kvbench")
                    vl.create_vaults("kvab", 0, n_vaults)
                    w = wrk(self.work, url, script="read", conns=cfg["read_conns"], threads=cfg["wrk_threads"],
                            secs=cfg["read_secs"], headers=headers, sample_pid=vl.proc.pid)
                    check_wrk(rep, f"{which} reads", w)
                    t = totals[which]
                    t["read_cpu"] += w.get("server_cpu_secs") or 0
                    t["reads"] += w["requests"]
                    if have("dnsperf"):
                        d = dnsperf(vl.dns, queries, cfg["scale_dns_secs"], self.work, vl.proc.pid)
                        check_dns(rep, f"{which} dns", d)
                        t["dns_cpu"] += d["server_cpu_secs"] or 0
                        t["answers"] += d["completed"]
                finally:
                    vl.stop()
        self.results["baseline"] = {"binary": str(base), "rounds": rounds, "totals": totals}
        new, old = totals["new"], totals["base"]
        if new["reads"] and old["reads"] and new["read_cpu"] and old["read_cpu"]:
            rep.ratio("baseline.cpu_per_read", "server CPU per secret read vs the baseline build",
                      new["read_cpu"] / new["reads"] * 1e6, "us", "baseline", old["read_cpu"] / old["reads"] * 1e6,
                      "us", target="<= 1.05", met=lambda x: x <= 1.05, fmt="{:.1f}")
        if new["answers"] and old["answers"] and new["dns_cpu"] and old["dns_cpu"]:
            rep.ratio("baseline.cpu_per_dns_answer", "server CPU per DNS answer vs the baseline build",
                      new["dns_cpu"] / new["answers"] * 1e6, "us", "baseline",
                      old["dns_cpu"] / old["answers"] * 1e6, "us", target="<= 1.05", met=lambda x: x <= 1.05,
                      fmt="{:.1f}")

    # -- 2. durable writes ---------------------------------------------------------------------
    def writes(self) -> None:
        cfg, rep = self.cfg, self.report
        log(f"writes: {cfg['write_conns']} writers, {cfg['write_secs']} s each (durable, then --in-memory)")
        out = {}
        for mode in ("durable", "in-memory"):
            vl = self.vaultlink(in_memory=(mode == "in-memory"), name=f"vaultlink-writes-{mode}")
            try:
                vl.prepare_rg()
                vl.create_vault("kvwrite")
                headers = ["Host: kvwrite.vault.azure.net", f"Authorization: Bearer {vl.token(VAULT_SCOPE)}"]
                r = wrk(self.work, f"https://127.0.0.1:{vl.https_port}/", script="write", conns=cfg["write_conns"],
                        threads=cfg["wrk_threads"], secs=cfg["write_secs"], headers=headers,
                        env={"BENCH_VALUE_SIZE": "64"}, sample_pid=vl.proc.pid)
                check_wrk(rep, f"vaultlink writes ({mode})", r)
                out[mode] = r
                self.results[f"writes_{mode}"] = strip_raw(r)
            finally:
                vl.stop()
        disk = sqlite_commit_rate(self.work, secs=min(5.0, cfg["write_secs"]))
        self.results["writes_disk_sqlite_commits"] = disk
        d, m = out["durable"], out["in-memory"]
        rep.ratio("writes.durable", f"durable secret writes/s, {cfg['write_conns']} writers (absolute target)",
                  d["rps"], "writes/s",
                  "in-memory", m["rps"], "writes/s", target="durable >= 500/s",
                  met=lambda _x: d["rps"] >= 500)
        rep.ratio("writes.vs_disk", "durable writes/s vs this disk's serial SQLite commits/s (1 writer, WAL, "
                  "synchronous=FULL; > 1 only with group commit)", d["rps"], "writes/s", "sqlite commits",
                  disk["commits_per_sec"], "commits/s")
        rep.ratio("writes.p50", f"secret write p50 latency ({cfg['write_conns']} writers)", d["p50_ms"], "ms",
                  "in-memory", m["p50_ms"], "ms", fmt="{:.3f}")
        rep.ratio("writes.p99", f"secret write p99 latency ({cfg['write_conns']} writers)", d["p99_ms"], "ms",
                  "in-memory", m["p99_ms"], "ms", fmt="{:.3f}")

    # -- 2b. mixed load (issue 22, item 3) ----------------------------------------------------
    def mixed(self) -> None:
        """90% reads and 10% writes on the durable store, against a read-only run of the same
        length and connection count on the same instance. Two wrk processes share the load so
        that each kind has its own latency figures: the readers as fast as they can, the writers
        (mixed_write_conns of the connections, enough to keep the pace while a write waits for its
        sync) paced (write.lua with BENCH_WRITE_RATE) to a ninth of 0.8 of the reads the read-only
        run achieved, so the mix is 90/10 when reads meet the target, whatever the writes'
        latency; the achieved share is reported."""
        cfg, rep = self.cfg, self.report
        conns, secs = cfg["mixed_conns"], cfg["mixed_secs"]
        wconns = cfg["mixed_write_conns"]
        log(f"mixed: {conns} connections ({conns - wconns} readers, {wconns} paced writers), {secs} s, durable")
        vl = self.vaultlink(in_memory=False, name="vaultlink-mixed")
        try:
            read_url, headers = vl.read_target("kvmixed")
            base = f"https://127.0.0.1:{vl.https_port}"
            only = wrk(self.work, read_url, script="read", conns=conns, threads=cfg["wrk_threads"], secs=secs,
                       headers=headers, sample_pid=vl.proc.pid)
            check_wrk(rep, "read-only run", only)
            # Writes at a ninth of the reads the target asks for (0.8 of the read-only run): at
            # the target the mix is 90/10; below it, writes are more than a tenth.
            write_rate = only["rps"] * 0.8 / 9
            rss0 = vl.proc.rss_kib()
            out: dict[str, Any] = {}

            def writers() -> None:
                out["w"] = wrk(self.work, base + "/", script="write", conns=wconns,
                               threads=cfg["wrk_threads"], secs=secs, headers=headers,
                               env={"BENCH_VALUE_SIZE": "64", "BENCH_WRITE_RATE": f"{write_rate:.1f}",
                                    "BENCH_THREADS": str(min(cfg["wrk_threads"], wconns))})

            t = threading.Thread(target=writers)
            t.start()
            reads = wrk(self.work, read_url, script="read", conns=conns - wconns, threads=cfg["wrk_threads"],
                        secs=secs, headers=headers, sample_pid=vl.proc.pid)
            t.join()
            rss1 = vl.proc.rss_kib()
            w = out["w"]
            check_wrk(rep, "mixed reads", reads)
            check_wrk(rep, "mixed writes", w)
        finally:
            vl.stop()
        share = w["requests"] / (w["requests"] + reads["requests"])
        self.results["mixed"] = {"read_only": strip_raw(only), "reads": strip_raw(reads), "writes": strip_raw(w),
                                 "write_share": share, "write_rate_asked": write_rate,
                                 "rss_before_kib": rss0, "rss_after_kib": rss1}
        rep.note(f"mixed load: writes were {share:.1%} of {w['requests'] + reads['requests']:,} requests "
                 f"({w['rps']:,.0f}/s asked {write_rate:,.0f}/s); resident memory {rss0 / 1024:.1f} -> "
                 f"{rss1 / 1024:.1f} MiB for {w['requests']:,} new secrets "
                 f"({(rss1 - rss0) * 1024 / max(1, w['requests']):,.0f} B each)")
        rep.ratio("mixed.read_p99", f"secret read p99, 90/10 mixed load, {conns} connections (absolute target)",
                  reads["p99_ms"], "ms", "read-only", only["p99_ms"], "ms", fmt="{:.2f}",
                  target="<= 50 ms", met=lambda _x: reads["p99_ms"] <= 50)
        rep.ratio("mixed.write_p99", "secret write p99, 90/10 mixed load (absolute target)", w["p99_ms"], "ms",
                  "read-only read p99", only["p99_ms"], "ms", fmt="{:.2f}",
                  target="<= 250 ms", met=lambda _x: w["p99_ms"] <= 250)
        rep.ratio("mixed.read_throughput", "secret reads/s in the mixed load vs the read-only run", reads["rps"],
                  "req/s", "read-only", only["rps"], "req/s", target=">= 0.80", met=lambda x: x >= 0.8)
        cpu = reads.get("server_cpu_secs") or 0
        if cpu and cpu_us(only):
            rep.ratio("mixed.cpu_per_request", "server CPU per request, mixed vs read-only",
                      cpu / (reads["requests"] + w["requests"]) * 1e6, "us", "read-only", cpu_us(only), "us",
                      fmt="{:.1f}")

    # -- 4. key operations ---------------------------------------------------------------------
    def keys(self) -> None:
        """REST sign against the same signature in process (throughput), and (issue 22, item 2)
        vaultlink's server CPU per REST sign against the in-process CPU per signature (the signer's
        user + sys time over its signatures, key generation included) plus the hyper+rustls
        ceiling's CPU per request for the same POST and the same answer bytes."""
        cfg, rep = self.cfg, self.report
        log(f"keys: RS256 and ES256 sign over REST ({cfg['read_conns']} connections, {cfg['sign_secs']} s) vs "
            f"aws-lc-rs in process and the ceiling's CPU per request")
        vl = self.vaultlink(in_memory=True, name="vaultlink-keys")
        try:
            vl.prepare_rg()
            vl.create_vault("kvkeys")
            headers = ["Host: kvkeys.vault.azure.net", f"Authorization: Bearer {vl.token(VAULT_SCOPE)}"]
            digest = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
            for alg, spec in (("RS256", {"kty": "RSA", "key_size": 2048}), ("ES256", {"kty": "EC", "crv": "P-256"})):
                name = alg.lower()
                st, out = vl.kv("POST", "kvkeys", f"/keys/{name}/create", spec)
                if st != 200:
                    raise RuntimeError(f"create key {alg}: {st} {out[:300]!r}")
                version = json.loads(out)["key"]["kid"].rstrip("/").rsplit("/", 1)[1]
                body = json.dumps({"alg": alg, "value": digest})
                st, out = vl.kv("POST", "kvkeys", f"/keys/{name}/{version}/sign", json.loads(body))
                if st != 200:
                    raise RuntimeError(f"sign {alg}: {st} {out[:300]!r}")
                r = wrk(self.work, f"https://127.0.0.1:{vl.https_port}/keys/{name}/{version}/sign?api-version={DP_API}",
                        script="sign", conns=cfg["read_conns"], threads=cfg["wrk_threads"], secs=cfg["sign_secs"],
                        headers=headers, env={"BENCH_BODY": body}, sample_pid=vl.proc.pid)
                check_wrk(rep, f"vaultlink sign {alg}", r)
                # The ceiling answering the same POST with the bytes vaultlink's sign answered.
                r_c = self.ceiling_load(out, f"/keys/{name}/{version}/sign?api-version={DP_API}", script="sign",
                                        conns=cfg["read_conns"], secs=cfg["sign_secs"], headers=headers,
                                        env={"BENCH_BODY": body}, what=f"ceiling sign {alg}")
                lib, lib_cpu = run_cpu([str(self.ceiling_bin), "sign", "--alg", alg, "--secs", str(cfg["sign_lib_secs"])],
                                       timeout=cfg["sign_lib_secs"] + 60)
                if lib.returncode != 0:
                    raise RuntimeError(f"in-process sign {alg}: {lib.stderr}")
                inproc = json.loads(lib.stdout.strip().splitlines()[-1])
                inproc["cpu_secs"] = lib_cpu
                self.results[f"sign_{alg}"] = {"rest": strip_raw(r), "in_process": inproc, "ceiling": strip_raw(r_c)}
                us_rest, us_ceiling = cpu_us(r), cpu_us(r_c)
                us_sig = lib_cpu / inproc["ops"] * 1e6 if inproc["ops"] and lib_cpu else None
                if us_sig and us_ceiling:
                    self.results[f"sign_{alg}"]["cpu_us"] = {"rest": us_rest, "in_process_per_signature": us_sig,
                                                             "ceiling_per_request": us_ceiling}
                    rep.note(f"{alg} CPU: {us_rest or 0:.1f} us per REST sign; {us_sig:.1f} us per signature in "
                             f"process + {us_ceiling:.1f} us per ceiling request = {us_sig + us_ceiling:.1f} us")
                    rep.ratio(f"keys.sign_cpu.{alg}", f"{alg} server CPU per REST sign vs (in-process CPU per signature "
                              "+ the ceiling's CPU per request)", us_rest, "us", "signature+ceiling",
                              us_sig + us_ceiling, "us", target="<= 1.2", met=lambda x: x <= 1.2, fmt="{:.1f}")
                rep.ratio(f"keys.sign.{alg}", f"{alg} sign/s over REST vs aws-lc-rs in process "
                          f"({inproc['threads']} threads)", r["rps"], "ops/s", "in-process", inproc["ops_per_sec"],
                          "ops/s", target=">= 0.80", met=lambda x: x >= 0.8)
                lib2 = subprocess.run([str(self.ceiling_bin), "sign", "--alg", alg, "--secs", str(cfg["sign_lib_secs"]),
                                       "--reparse"], capture_output=True, text=True, timeout=cfg["sign_lib_secs"] + 60)
                if lib2.returncode == 0:
                    reparse = json.loads(lib2.stdout.strip().splitlines()[-1])
                    self.results[f"sign_{alg}"]["in_process_reparse"] = reparse
                    rep.ratio(f"keys.sign_reparse.{alg}", f"{alg} sign/s over REST vs in process with the key "
                              "parsed from PKCS#8 for every signature", r["rps"], "ops/s", "in-process+parse",
                              reparse["ops_per_sec"], "ops/s")
                rep.ratio(f"keys.sign_p50.{alg}",
                          f"{alg} sign p50 latency over REST ({cfg['read_conns']} connections: mostly queueing)",
                          r["p50_ms"], "ms",
                          "in-process time per op", inproc["threads"] / inproc["ops_per_sec"] * 1000, "ms", fmt="{:.3f}")
        finally:
            vl.stop()

    # -- 4b. token requests (client credentials) ----------------------------------------------
    def tokens(self) -> None:
        """Client-credential token requests with the right secret (after the first, answered from
        the memory of verified secrets: identity/secrets.rs) and with a wrong one (every request a
        full Argon2id check, at most one per core at once), and the server's peak memory meanwhile."""
        cfg, rep = self.cfg, self.report
        conns = 8
        log(f"tokens: client credentials, right and wrong secret ({conns} connections, {cfg['sign_secs']} s each)")
        vl = self.vaultlink(in_memory=True, name="vaultlink-tokens")
        try:
            vl.token(ARM_SCOPE)
            path = f"/{TENANT}/oauth2/v2.0/token"
            runs = {}
            for label, secret in (("right", CLIENT_SECRET), ("wrong", CLIENT_SECRET + "x")):
                body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                               "client_secret": secret, "scope": ARM_SCOPE})
                r = wrk(self.work, f"https://127.0.0.1:{vl.https_port}{path}", script="token", conns=conns,
                        threads=cfg["wrk_threads"], secs=cfg["sign_secs"], env={"BENCH_BODY": body, "BENCH_PATH": path},
                        sample_pid=vl.proc.pid)
                if label == "right":
                    check_wrk(rep, "vaultlink token (right secret)", r)
                elif r["requests"] == 0 or r["connect_errors"] + r["read_errors"] + r["timeouts"]:
                    rep.fail(f"vaultlink token (wrong secret): {r['requests']} requests, {r['errors']} errors")
                runs[label] = r
                self.results[f"tokens_{label}"] = strip_raw(r)
            right, wrong = runs["right"], runs["wrong"]
            rep.ratio("tokens.right_vs_wrong", "tokens/s with the right secret (remembered) vs refusals/s of a wrong "
                      "one (a full Argon2id check each)", right["rps"], "req/s", "wrong secret", wrong["rps"], "req/s")
            rep.ratio("tokens.wrong_p50", f"wrong-secret p50 latency ({conns} connections, queued at the Argon2id gate)",
                      wrong["p50_ms"], "ms", "right-secret p50", right["p50_ms"], "ms", fmt="{:.1f}")
            rep.ratio("tokens.wrong_peak_rss", "peak server RSS during the wrong-secret flood", wrong["peak_rss_kib"] / 1024,
                      "MiB", "during right-secret requests", right["peak_rss_kib"] / 1024, "MiB", fmt="{:.0f}")
        finally:
            vl.stop()

    # -- 4c. Resource Manager vault GET and token request against a secret read (issue 22, item 5)
    def arm_and_tokens(self) -> None:
        """Server CPU per request, in one instance and with the same wrk connections and threads,
        of a secret read, a Resource Manager vault GET and a client-credentials token request with
        the right secret (remembered after the first check), one run after the other."""
        cfg, rep = self.cfg, self.report
        conns, secs = 16, cfg["sign_secs"]
        log(f"arm-tokens: secret read, vault GET, token request ({conns} connections, {secs} s each)")
        vl = self.vaultlink(in_memory=False, name="vaultlink-arm-tokens")
        try:
            read_url, read_headers = vl.read_target("kvarm")
            base = f"https://127.0.0.1:{vl.https_port}"
            vault_path = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/"
                          f"kvarm?api-version={KV_ARM_API}")
            arm_auth = f"Bearer {vl.token(ARM_SCOPE)}"
            st, out = vl.request("GET", vault_path, headers={"Authorization": arm_auth})
            if st != 200 or json.loads(out).get("name") != "kvarm":
                raise RuntimeError(f"GET vault: {st} {out[:300]!r}")
            token_path = f"/{TENANT}/oauth2/v2.0/token"
            form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                           "client_secret": CLIENT_SECRET, "scope": ARM_SCOPE})
            runs: dict[str, dict[str, Any]] = {}
            for label, url, script, headers, env in (
                    ("read", read_url, "read", read_headers, None),
                    ("vault_get", base + vault_path, "read", [f"Authorization: {arm_auth}"], None),
                    ("token", base + token_path, "token", None, {"BENCH_BODY": form, "BENCH_PATH": token_path})):
                r = wrk(self.work, url, script=script, conns=conns, threads=cfg["wrk_threads"], secs=secs,
                        headers=headers, env=env, sample_pid=vl.proc.pid)
                check_wrk(rep, f"vaultlink {label}", r)
                runs[label] = r
            self.results["arm_and_tokens"] = {k: strip_raw(v) for k, v in runs.items()}
        finally:
            vl.stop()
        read = cpu_us(runs["read"])
        rep.ratio("arm.vault_get_cpu", f"server CPU per Resource Manager vault GET vs per secret read ({conns} "
                  "connections)", cpu_us(runs["vault_get"]), "us", "secret read", read, "us",
                  target="<= 2.0", met=lambda x: x <= 2.0, fmt="{:.1f}")
        rep.ratio("tokens.cpu", f"server CPU per token request (client credentials, right secret) vs per secret "
                  f"read ({conns} connections)", cpu_us(runs["token"]), "us", "secret read", read, "us",
                  target="<= 2.0", met=lambda x: x <= 2.0, fmt="{:.1f}")

    # -- 4d. the seed's CLI tab, run by az (issue 22, item 5) ---------------------------------
    CLI_TAB = [
        ["account", "set", "--subscription", SUBSCRIPTION],
        ["group", "create", "-n", "rg-cli", "-l", "westeurope"],
        ["provider", "register", "-n", "Microsoft.KeyVault"],
        ["keyvault", "create", "-n", "kv-cli-bench", "-g", "rg-cli", "-l", "westeurope"],
        ["keyvault", "update", "-n", "kv-cli-bench", "-g", "rg-cli", "--default-action", "deny"],
        ["network", "vnet", "create", "-g", "rg-cli", "-n", "vnet-cli", "--location", "westeurope"],
        ["network", "vnet", "subnet", "create", "-g", "rg-cli", "--vnet-name", "vnet-cli", "--name", "snet",
         "--address-prefixes", "10.0.0.0/24"],
        ["network", "vnet", "subnet", "update", "--name", "snet", "--resource-group", "rg-cli", "--vnet-name",
         "vnet-cli", "--disable-private-endpoint-network-policies", "true"],
        ["network", "private-dns", "zone", "create", "--resource-group", "rg-cli", "--name",
         "privatelink.vaultcore.azure.net"],
        ["network", "private-dns", "link", "vnet", "create", "--resource-group", "rg-cli", "--virtual-network",
         "vnet-cli", "--zone-name", "privatelink.vaultcore.azure.net", "--name", "link-cli",
         "--registration-enabled", "true"],
        ["network", "private-endpoint", "create", "--resource-group", "rg-cli", "--vnet-name", "vnet-cli",
         "--subnet", "snet", "--name", "pe-cli", "--private-connection-resource-id",
         f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-cli/providers/Microsoft.KeyVault/vaults/kv-cli-bench",
         "--group-ids", "vault", "--connection-name", "conn-cli", "--location", "westeurope"],
        ["network", "private-endpoint", "show", "-g", "rg-cli", "-n", "pe-cli"],
        ["keyvault", "show", "-n", "kv-cli-bench", "-g", "rg-cli"],
        ["network", "private-dns", "zone", "list", "-g", "rg-cli"],
        ["network", "private-dns", "record-set", "list", "-g", "rg-cli", "-z", "privatelink.vaultcore.azure.net"],
    ]

    def cli_tab(self) -> None:
        """The seed's CLI tab (its Resource Manager steps, as tests/e2e/test_seed_cli.py runs
        them) by the real az through the proxy, against a durable instance: az's wall time for
        the whole tab against the time vaultlink took to answer its requests (the `elapsed_us` of
        each request's debug line, from the request read to the answer made, disk syncs
        included). Needs --az (bench/run passes the tests' az when it finds one)."""
        rep = self.report
        az = self.args.az
        if not az or not os.access(az, os.X_OK):
            rep.note("az not available (--az); the CLI tab benchmark is skipped")
            return
        log(f"cli: the seed's CLI tab, {len(self.CLI_TAB) + 1} az commands through the proxy")
        vl = self.vaultlink(in_memory=False, name="vaultlink-cli",
                            extra_env={"VAULTLINK_LOG": "warn,vaultlink::ingress::http=debug"})
        try:
            env = dict(os.environ)
            env.update(json.loads(subprocess.run([str(self.bin), "env", "--data-dir", str(vl.data_dir), "--format",
                                                  "json"], capture_output=True, text=True, check=True).stdout))
            env.update({"AZURE_CONFIG_DIR": str(self.work / "azure-config-cli"), "AZURE_CORE_SURVEY_MESSAGE": "false",
                        "AZURE_CORE_NO_COLOR": "1", "AZURE_CORE_COLLECT_TELEMETRY": "false"})
            commands = [["login", "--service-principal", "-u", CLIENT_ID, f"--password={CLIENT_SECRET}",
                         "--tenant", TENANT]] + self.CLI_TAB
            t0 = time.perf_counter()
            for args in commands:
                r = subprocess.run([az, *args, "-o", "none"], env=env, capture_output=True, text=True, timeout=300)
                if r.returncode != 0:
                    raise RuntimeError(f"az {' '.join(args[:3])}: rc {r.returncode}: {r.stderr[-500:]}")
            wall = time.perf_counter() - t0
        finally:
            vl.stop()
        ansi = re.compile(r"\x1b\[[0-9;]*m")
        served = [int(m.group(1)) for line in (self.work / "vaultlink-cli.log").read_text(errors="replace").splitlines()
                  if (m := re.search(r"elapsed_us=(\d+)", ansi.sub("", line)))]
        waited = sum(served) / 1e6
        self.results["cli_tab"] = {"commands": len(commands), "wall_secs": wall, "requests": len(served),
                                   "vaultlink_secs": waited}
        rep.note(f"CLI tab: {len(commands)} az commands in {wall:.1f} s; vaultlink answered {len(served)} requests "
                 f"in {waited * 1000:.0f} ms of that")
        rep.ratio("cli.wait_share", "share of az's wall time for the seed's CLI tab spent in vaultlink answering",
                  waited, "s", "az wall time", wall, "s", fmt="{:.3f}", target="< 0.05", met=lambda x: x < 0.05)

    # -- 3 + 6. DNS and scale ------------------------------------------------------------------
    def scale_and_dns(self) -> None:
        cfg, rep = self.cfg, self.report
        steps = cfg["scale_steps"]
        log(f"scale: vaults {' -> '.join(map(str, steps))}, {cfg['scale_secs']} s of reads per step; DNS at "
            f"{cfg['dns_names']} vaults")
        vl = self.vaultlink(in_memory=True, name="vaultlink-scale")
        try:
            vl.prepare_rg()
            have_n = 0
            curve = []
            prefix = "kvs"
            targets = sorted(set(steps) | {cfg["dns_names"]})
            token = vl.token(VAULT_SCOPE)
            queries = self.work / "dns-queries.txt"
            for n in targets:
                t0 = time.perf_counter()
                vl.create_vaults(prefix, have_n, n)
                have_n = n
                log(f"  {n} vaults ({time.perf_counter() - t0:.1f} s to create)")
                if n in steps:
                    r = wrk(self.work, f"https://127.0.0.1:{vl.https_port}/", script="read_many",
                            conns=cfg["read_conns"], threads=cfg["wrk_threads"], secs=cfg["scale_secs"],
                            env={"BENCH_VAULT_PREFIX": prefix, "BENCH_VAULTS": str(n), "BENCH_TOKEN": token,
                                 "BENCH_PATH": f"/secrets/s1?api-version={DP_API}"}, sample_pid=vl.proc.pid)
                    check_wrk(rep, f"scale reads at {n} vaults", r)
                    queries.write_text("".join(f"{prefix}{i}.vault.azure.net A\n" for i in range(n)))
                    d = dnsperf(vl.dns, queries, cfg["scale_dns_secs"], self.work, vl.proc.pid) if have("dnsperf") else None
                    if d:
                        check_dns(rep, f"scale DNS at {n} vaults", d)
                    curve.append({"vaults": n, "rps": r["rps"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
                                  "cpu_us_per_read": r["server_cpu_secs"] / max(1, r["requests"]) * 1e6,
                                  "dns_qps": d["qps"] if d else None,
                                  "cpu_us_per_dns": (d["server_cpu_secs"] / max(1, d["completed"]) * 1e6) if d else None,
                                  "rss_kib": vl.proc.rss_kib()})
                    log(f"  {n} vaults: {r['rps']:,.0f} req/s p50 {r['p50_ms']:.3f} ms p99 {r['p99_ms']:.3f} ms "
                        f"({curve[-1]['cpu_us_per_read']:.1f} us CPU per read); DNS {d['qps'] if d else 0:,.0f} qps")
                if n == cfg["dns_names"]:
                    self.dns(vl, prefix, n)
            self.results["scale"] = curve
            base = curve[0]
            for c in curve[1:]:
                rep.ratio(f"scale.read_p50.{c['vaults']}", f"secret read p50 at {c['vaults']} vaults vs 1 vault",
                          c["p50_ms"], "ms", f"{base['vaults']} vault", base["p50_ms"], "ms", fmt="{:.3f}",
                          target="<= 1.20", met=lambda x: x <= 1.2)
            for c in curve[1:]:
                rep.ratio(f"scale.read_rps.{c['vaults']}", f"secret reads/s at {c['vaults']} vaults vs 1 vault",
                          c["rps"], "req/s", f"{base['vaults']} vault", base["rps"], "req/s",
                          target=">= 0.83", met=lambda x: x >= 1 / 1.2)
            for c in curve[1:]:
                rep.ratio(f"scale.read_cpu.{c['vaults']}", f"server CPU per secret read at {c['vaults']} vaults vs 1 "
                          "vault (steadier than latency on a shared machine)", c["cpu_us_per_read"], "us",
                          f"{base['vaults']} vault", base["cpu_us_per_read"], "us", fmt="{:.1f}",
                          target="<= 1.20", met=lambda x: x <= 1.2)
            if base["cpu_us_per_dns"]:
                for c in curve[1:]:
                    rep.ratio(f"scale.dns_cpu.{c['vaults']}", f"server CPU per DNS answer at {c['vaults']} vaults vs "
                              "1 vault", c["cpu_us_per_dns"], "us", f"{base['vaults']} vault", base["cpu_us_per_dns"],
                              "us", fmt="{:.1f}", target="<= 1.20", met=lambda x: x <= 1.2)
            if base["dns_qps"]:
                for c in curve[1:]:
                    rep.ratio(f"scale.dns_qps.{c['vaults']}", f"DNS qps at {c['vaults']} vaults vs 1 vault",
                              c["dns_qps"], "qps", f"{base['vaults']} vault", base["dns_qps"], "qps",
                              target=">= 0.83", met=lambda x: x >= 1 / 1.2)
        finally:
            vl.stop()

    def dns(self, vl: Vaultlink, prefix: str, n: int) -> None:
        if not have("dnsperf") or not have("dig"):
            self.report.note("dnsperf or dig missing; DNS benchmark skipped")
            return
        names = [f"{prefix}{i}.vault.azure.net" for i in range(n)]
        self.dns_against_baselines(vl, vl.dns, names, view="public", ident="dns")

    def dns_against_baselines(self, vl: Vaultlink, server: tuple[str, int], names: list[str], *, view: str,
                              ident: str) -> None:
        """vaultlink's DNS at `server` (one view) against nsd and unbound serving zone files made from
        vaultlink's own answers for `names`."""
        cfg, rep = self.cfg, self.report
        log(f"DNS: {len(names)} vault names, {view} view, {cfg['dns_secs']} s each")
        queries = self.work / f"{ident}-queries.txt"
        queries.write_text("".join(f"{nm} A\n" for nm in names))
        rrs = dig_answers(server, names, self.work)
        zones = zones_from_answers(rrs)
        zdir = self.work / f"{ident}-zones"
        zdir.mkdir(exist_ok=True)
        files = write_zone_files(zones, zdir)
        self.results[f"{ident}_zone"] = {z: len(v) for z, v in zones.items()}
        sample = subprocess.run(["dig", "@" + server[0], "-p", str(server[1]), names[0], "A"],
                                capture_output=True, text=True).stdout
        self.results[f"{ident}_sample_vaultlink"] = sample
        r_vl = dnsperf(server, queries, cfg["dns_secs"], self.work, vl.proc.pid)
        check_dns(rep, f"vaultlink DNS ({view} view)", r_vl)
        want = answer_count(sample)
        results = {"vaultlink": r_vl}
        for name, cls in (("nsd", Nsd), ("unbound", Unbound)):
            if not find_sbin(name):
                rep.note(f"{name} not installed; DNS baseline skipped")
                continue
            baseline = cls(files, self.work)
            try:
                got = subprocess.run(["dig", "@" + baseline.addr[0], "-p", str(baseline.addr[1]), names[0], "A"],
                                     capture_output=True, text=True).stdout
                self.results[f"{ident}_sample_{name}"] = got
                if answer_count(got) != want:
                    rep.note(f"{name} answers {answer_count(got)} records for {names[0]}, vaultlink {want}")
                r = dnsperf(baseline.addr, queries, cfg["dns_secs"], self.work, baseline.proc.pid)
                check_dns(rep, f"{name} DNS ({view} view zone)", r)
                results[name] = r
            finally:
                baseline.proc.stop()
        self.results[ident] = results
        n = len(names)
        for name in ("nsd", "unbound"):
            if name in results:
                rep.ratio(f"{ident}.qps.{name}", f"DNS qps, {view} view, {n} names", r_vl["qps"], "qps", name,
                          results[name]["qps"], "qps")
        for name in ("nsd", "unbound"):
            if name in results and results[name]["server_cpu_secs"] and r_vl["server_cpu_secs"]:
                per = lambda r: r["server_cpu_secs"] / max(1, r["completed"]) * 1e6  # noqa: E731
                rep.ratio(f"{ident}.cpu_per_query.{name}", f"server CPU per DNS answer, {view} view", per(r_vl),
                          "us", name, per(results[name]), "us", fmt="{:.1f}")
        best = max((k for k in results if k != "vaultlink"), key=lambda k: results[k]["qps"], default=None)
        if best:
            rep.ratio(f"{ident}.qps.best", f"DNS qps vs the faster of nsd and unbound, {view} view", r_vl["qps"],
                      "qps", best, results[best]["qps"], "qps", target=">= 0.70", met=lambda x: x >= 0.7)

    # -- 3b/6b. private link: DNS in a VNet view, and growth of endpoints, records, firewall rules
    def private_link(self) -> None:
        """One VNet with a client NIC, the privatelink zone linked to it, and vaults with private
        endpoints (zone groups write the A records). At each endpoint step: DNS in the VNet's view
        over the vault names, and secret reads from the internet through a vault firewall (an IP
        rule). Then the zone grows to `record_steps` extra A records. Finally the VNet view against
        nsd and unbound, like the public view."""
        cfg, rep = self.cfg, self.report
        if not have("dnsperf") or not have("dig"):
            rep.note("dnsperf or dig missing; private-link benchmark skipped")
            return
        vl = self.vaultlink(in_memory=True, name="vaultlink-private")
        try:
            vl.prepare_rg()
            rg = f"/subscriptions/{SUBSCRIPTION}/resourcegroups/{RG}"
            net = f"{rg}/providers/Microsoft.Network"
            vnet = f"{net}/virtualNetworks/vnet-bench"
            vl.arm("PUT", vnet, NET_API, {"location": REGION, "properties": {
                "addressSpace": {"addressPrefixes": ["10.0.0.0/8"]},
                "subnets": [{"name": "endpoints", "properties": {"addressPrefix": "10.0.0.0/16"}},
                            {"name": "clients", "properties": {"addressPrefix": "10.1.0.0/24"}}]}})
            vl.arm("PUT", f"{net}/networkInterfaces/nic-client", NET_API, {"location": REGION, "properties": {
                "ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": {"id": f"{vnet}/subnets/clients"}}}]}})
            zone = f"{net}/privateDnsZones/{PRIVATELINK_ZONE}"
            vl.arm("PUT", zone, PRIVATE_DNS_API, {"location": "global"})
            vl.arm("PUT", f"{zone}/virtualNetworkLinks/vnet-bench-link", PRIVATE_DNS_API, {"location": "global",
                   "properties": {"virtualNetwork": {"id": vnet}, "registrationEnabled": False}})
            view = vl.view_dns("nic-client")
            # The firewall vault: deny by default, one IP rule for "this machine on the internet".
            vl.arm("PUT", f"{rg}/providers/Microsoft.KeyVault/vaults/kvfw", KV_ARM_API, {"location": REGION, "properties": {
                "tenantId": TENANT, "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": True,
                "networkAcls": {"defaultAction": "Deny", "bypass": "None",
                                "ipRules": [{"value": "198.51.100.0/24"}, {"value": "203.0.113.10"}]}}})
            vl.set_secret("kvfw", "s1", SECRET_VALUE)
            token = vl.token(VAULT_SCOPE)

            def endpoint(i: int) -> None:
                name = f"kvp{i}"
                vl.create_vault(name)
                pe = f"{net}/privateEndpoints/pe-{name}"
                vl.arm("PUT", pe, NET_API, {"location": REGION, "properties": {
                    "subnet": {"id": f"{vnet}/subnets/endpoints"},
                    "privateLinkServiceConnections": [{"name": "conn", "properties": {
                        "privateLinkServiceId": f"{rg}/providers/Microsoft.KeyVault/vaults/{name}",
                        "groupIds": ["vault"]}}]}})
                vl.arm("PUT", f"{pe}/privateDnsZoneGroups/default", NET_API, {"properties": {
                    "privateDnsZoneConfigs": [{"name": "vault", "properties": {"privateDnsZoneId": zone}}]}})

            def measure(label: str, n_names: int) -> dict[str, Any]:
                queries = self.work / "private-queries.txt"
                queries.write_text("".join(f"kvp{i}.vault.azure.net A\n" for i in range(n_names)))
                d = dnsperf(view, queries, cfg["private_secs"], self.work, vl.proc.pid)
                check_dns(rep, f"VNet-view DNS at {label}", d)
                r = wrk(self.work, f"https://127.0.0.1:{vl.https_port}/secrets/s1?api-version={DP_API}", script="read",
                        conns=cfg["read_conns"], threads=cfg["wrk_threads"], secs=cfg["private_secs"],
                        headers=["Host: kvfw.vault.azure.net", f"Authorization: Bearer {token}"],
                        sample_pid=vl.proc.pid)
                check_wrk(rep, f"reads through the vault firewall at {label}", r)
                point = {"label": label, "dns_qps": d["qps"],
                         "cpu_us_per_dns": d["server_cpu_secs"] / max(1, d["completed"]) * 1e6,
                         "read_rps": r["rps"], "cpu_us_per_read": r["server_cpu_secs"] / max(1, r["requests"]) * 1e6}
                log(f"  {label}: VNet-view DNS {d['qps']:,.0f} qps ({point['cpu_us_per_dns']:.1f} us CPU per answer); "
                    f"firewall reads {r['rps']:,.0f} req/s ({point['cpu_us_per_read']:.1f} us CPU per read)")
                return point

            curve: list[dict[str, Any]] = []
            have_n = 0
            for n in cfg["endpoint_steps"]:
                t0 = time.perf_counter()
                vl.parallel(range(have_n, n), endpoint)
                have_n = n
                log(f"  {n} private endpoints ({time.perf_counter() - t0:.1f} s to create)")
                sample = subprocess.run(["dig", "@" + view[0], "-p", str(view[1]), "+short", "kvp0.vault.azure.net"],
                                        capture_output=True, text=True).stdout.split()
                if not sample or not sample[-1].startswith("10.0."):
                    rep.fail(f"VNet view answers {sample} for kvp0.vault.azure.net, not its private address")
                curve.append({"endpoints": n, **measure(f"{n} endpoints", n)})
            base = curve[0]
            # Azure allows 25,000 record sets per private zone: the extra records go into zones of
            # 20,000 (`records{k}.bench.internal`), each linked to the VNet.
            per_zone = 20_000
            have_r = 0
            for n in cfg["record_steps"]:
                t0 = time.perf_counter()
                for k in range(have_r // per_zone, (n - 1) // per_zone + 1):
                    extra = f"{net}/privateDnsZones/records{k}.bench.internal"
                    vl.arm("PUT", extra, PRIVATE_DNS_API, {"location": "global"})
                    vl.arm("PUT", f"{extra}/virtualNetworkLinks/vnet-bench-link", PRIVATE_DNS_API, {"location": "global",
                           "properties": {"virtualNetwork": {"id": vnet}, "registrationEnabled": False}})
                vl.parallel(range(have_r, n), lambda i: vl.arm(
                    "PUT", f"{net}/privateDnsZones/records{i // per_zone}.bench.internal/A/rec{i}", PRIVATE_DNS_API,
                    {"properties": {"ttl": 3600, "aRecords": [{"ipv4Address": f"10.2.{i // 250 % 250}.{i % 250 + 1}"}]}}))
                have_r = n
                log(f"  {n} extra records in linked zones ({time.perf_counter() - t0:.1f} s to create)")
                curve.append({"records": n, "endpoints": have_n, **measure(f"{n} records", have_n)})
            self.results["private_link"] = curve
            for c in curve[1:]:
                what = f"{c['records']} records" if "records" in c else f"{c['endpoints']} endpoints"
                key = f"records.{c['records']}" if "records" in c else f"endpoints.{c['endpoints']}"
                rep.ratio(f"scale.vnet_dns_cpu.{key}", f"server CPU per VNet-view DNS answer at {what} vs "
                          f"{base['endpoints']} endpoint", c["cpu_us_per_dns"], "us", f"{base['endpoints']} endpoint",
                          base["cpu_us_per_dns"], "us", fmt="{:.1f}", target="<= 1.20", met=lambda x: x <= 1.2)
                rep.ratio(f"scale.firewall_read_cpu.{key}", f"server CPU per read through the firewall at {what} vs "
                          f"{base['endpoints']} endpoint", c["cpu_us_per_read"], "us", f"{base['endpoints']} endpoint",
                          base["cpu_us_per_read"], "us", fmt="{:.1f}", target="<= 1.20", met=lambda x: x <= 1.2)
            names = [f"kvp{i}.vault.azure.net" for i in range(have_n)]
            self.dns_against_baselines(vl, view, names, view="VNet", ident="dns_vnet")
        finally:
            vl.stop()

    # -- 5. start-up and memory ----------------------------------------------------------------
    # -- replicas on one PostgreSQL database (issue 21) ------------------------------------------
    def replicas(self) -> None:
        cfg, rep = self.cfg, self.report
        log(f"replicas: durable writes and reads through 1, 2 and 3 replicas on one PostgreSQL, "
            f"{cfg['write_secs']} s each, against the SQLite store; then the failover time")

        def load(vls: list[Vaultlink], script: str, conns: int, secs: float) -> dict[str, Any]:
            """wrk against every replica at once (conns split between them); the summed rate."""
            results: list[dict[str, Any]] = [{} for _ in vls]
            errors: list[str] = []

            def one(i: int) -> None:
                try:
                    run(i)
                except Exception as e:  # noqa: BLE001 - reported below, after every wrk ended
                    errors.append(f"replica {i}: {e}")

            def run(i: int) -> None:
                vl = vls[i]
                path = "/" if script == "write" else f"/secrets/s1?api-version={DP_API}"
                headers = ["Host: kvrepl.vault.azure.net", f"Authorization: Bearer {vl.token(VAULT_SCOPE)}"]
                results[i] = wrk(self.work, f"https://127.0.0.1:{vl.https_port}{path}", script=script,
                                 conns=max(1, conns // len(vls)), threads=1, secs=secs, headers=headers,
                                 env={"BENCH_VALUE_SIZE": "64"})

            threads = [threading.Thread(target=one, args=(i,)) for i in range(len(vls))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise RuntimeError("; ".join(errors))
            for i, r in enumerate(results):
                if not r:
                    raise RuntimeError(f"wrk against replica {i} measured nothing")
                check_wrk(rep, f"replica {i} {script}s", r)
            return {"rps": sum(r["rps"] for r in results), "p99_ms": max(r["p99_ms"] for r in results),
                    "per_replica_rps": [r["rps"] for r in results]}

        base = self.vaultlink(in_memory=False, name="vaultlink-replicas-sqlite")
        try:
            base.prepare_rg()
            base.create_vault("kvrepl")
            base.set_secret("kvrepl", "s1", SECRET_VALUE)
            sqlite_writes = load([base], "write", cfg["write_conns"], cfg["write_secs"])
            sqlite_reads = load([base], "read", cfg["read_conns"], cfg["write_secs"])
        finally:
            base.stop()
        pg = Postgres(self.work)
        env = {"VAULTLINK_STORE": pg.url, "VAULTLINK_ROOT_KEY": base64.b64encode(os.urandom(32)).decode()}
        vls: list[Vaultlink] = []
        out: dict[str, Any] = {"sqlite": {"writes": sqlite_writes, "reads": sqlite_reads}}
        try:
            for n in (1, 2, 3):
                vls.append(self.vaultlink(in_memory=False, name=f"vaultlink-replica-{n}", extra_env=env))
                if n == 1:
                    vls[0].prepare_rg()
                    vls[0].create_vault("kvrepl")
                    vls[0].set_secret("kvrepl", "s1", SECRET_VALUE)
                deadline = time.perf_counter() + 10
                while vls[-1].kv("GET", "kvrepl", "/secrets/s1")[0] != 200:
                    if time.perf_counter() > deadline:
                        raise RuntimeError(f"replica {n} does not see the vault")
                    time.sleep(0.05)
                writes = load(vls, "write", cfg["write_conns"], cfg["write_secs"])
                reads = load(vls, "read", cfg["read_conns"], cfg["write_secs"])
                out[f"replicas_{n}"] = {"writes": writes, "reads": reads}
                rep.ratio(f"replicas.{n}.writes", f"durable secret writes/s through {n} replica(s) on one "
                          f"PostgreSQL, {cfg['write_conns']} writers in all", writes["rps"], "writes/s",
                          "SQLite store", sqlite_writes["rps"], "writes/s")
                rep.ratio(f"replicas.{n}.reads", f"secret reads/s through {n} replica(s), {cfg['read_conns']} "
                          "connections in all", reads["rps"], "reads/s", "SQLite store", sqlite_reads["rps"],
                          "reads/s")
            # Failover: the replica holding the write lease is killed mid-load; how long until
            # another one's write succeeds.
            done = threading.Event()

            def keep_writing() -> None:
                n = 0
                while not done.is_set():
                    n += 1
                    try:
                        vls[0].set_secret("kvrepl", f"fo-{n}", "x")
                    except (RuntimeError, OSError, http.client.HTTPException):
                        return

            writer = threading.Thread(target=keep_writing, daemon=True)
            writer.start()
            time.sleep(0.5)
            killed = time.perf_counter()
            os.kill(vls[0].proc.pid, signal.SIGKILL)
            st = 0
            while st != 200:
                st, _ = vls[1].kv("PUT", "kvrepl", "/secrets/after-failover", {"value": "y"})
                if time.perf_counter() - killed > 30:
                    raise RuntimeError(f"no write through another replica within 30 s of the kill ({st})")
            failover = time.perf_counter() - killed
            done.set()
            out["failover_secs"] = failover
            rep.ratio("replicas.failover", "failover: kill -9 of the replica writing, until another replica's "
                      "write is answered", failover * 1000, "ms", "lease hand-over bound (FAIR_SHARE)", 20.0, "ms",
                      fmt="{:.1f}")
        finally:
            for vl in vls:
                vl.stop()
            pg.stop()
        self.results["replicas"] = out

    def startup(self) -> None:
        cfg, rep = self.cfg, self.report
        runs = cfg["startup_runs"]
        log(f"start-up: {runs} runs each (fresh data dir, existing empty data dir, --in-memory)")
        fresh, restart, mem = [], [], []
        idle_rss = []
        for i in range(runs):
            d = self.data_dir()
            vl = self.vaultlink(in_memory=False, data_dir=d, name="vaultlink-startup")
            fresh.append(vl.ready_secs)
            vl.stop()
            vl = self.vaultlink(in_memory=False, data_dir=d, name="vaultlink-startup")
            restart.append(vl.ready_secs)
            time.sleep(0.3 if i == 0 else 0)
            if i == 0:
                idle_rss.append(vl.proc.rss_kib())
            vl.stop()
            vl = self.vaultlink(in_memory=True, data_dir=d, name="vaultlink-startup")
            mem.append(vl.ready_secs)
            vl.stop()
            shutil.rmtree(d, ignore_errors=True)
        s = {"fresh_ms": [x * 1000 for x in fresh], "restart_ms": [x * 1000 for x in restart],
             "in_memory_ms": [x * 1000 for x in mem], "idle_rss_kib": idle_rss[0]}
        self.results["startup_empty"] = s
        moto_ms = None
        moto_rss = None
        if self.args.moto and os.access(self.args.moto, os.X_OK):
            ms = []
            for _ in range(max(1, runs // 2)):
                m = Moto(self.args.moto, self.work)
                ms.append(m.ready_secs * 1000)
                time.sleep(0.3)
                moto_rss = m.proc.rss_kib()
                m.proc.stop()
            moto_ms = statistics.median(ms)
            self.results["startup_moto_ms"] = ms
        for key, label in (("fresh_ms", "fresh data dir: creates CA, token key, root key"),
                           ("restart_ms", "existing empty data dir"), ("in_memory_ms", "--in-memory")):
            med = statistics.median(s[key])
            rep.ratio(f"startup.empty.{key[:-3]}", f"start-up to ready, empty ({label}), median of {runs}", med, "ms",
                      "moto", moto_ms, "ms", target="< 100 ms", met=lambda _x, med=med: med < 100, fmt="{:.1f}")
        rep.ratio("memory.idle", "idle resident memory (existing empty data dir)", s["idle_rss_kib"] / 1024, "MiB",
                  "moto", None if moto_rss is None else moto_rss / 1024, "MiB", target="< 30 MiB",
                  met=lambda _x: s["idle_rss_kib"] / 1024 < 30, fmt="{:.1f}")

    def startup_loaded(self) -> None:
        cfg, rep = self.cfg, self.report
        nv, ns = cfg["gen_vaults"], cfg["gen_secrets"]
        d = self.data_dir()
        vl = self.vaultlink(in_memory=False, data_dir=d, name="vaultlink-gen")
        extrapolated = False
        try:
            vl.prepare_rg()
            t0 = time.perf_counter()
            vl.create_vaults("kvg", 0, nv, secret=False)
            t_vaults = time.perf_counter() - t0
            log(f"start-up with state: {nv} vaults created in {t_vaults:.1f} s; now {ns:,} secrets (wrk, 16 writers)")
            # Probe the write rate to decide whether the full state fits the time budget.
            gen = self.generate(vl, nv, ns, budget=cfg["gen_budget_secs"])
            if gen["done"] < ns:
                extrapolated = True
                fv, fs = cfg["gen_fallback"]
                rep.note(f"generating {ns:,} secrets would take ~{gen['projected_secs']:.0f} s (over the "
                         f"{cfg['gen_budget_secs']} s budget): measured with {fs:,} secrets in {fv} vaults instead "
                         f"and extrapolated linearly")
        finally:
            vl.stop()
        if extrapolated:
            shutil.rmtree(d, ignore_errors=True)
            fv, fs = cfg["gen_fallback"]
            d = self.data_dir()
            vl = self.vaultlink(in_memory=False, data_dir=d, name="vaultlink-gen")
            try:
                vl.prepare_rg()
                t0 = time.perf_counter()
                vl.create_vaults("kvg", 0, fv, secret=False)
                t_vaults = time.perf_counter() - t0
                gen = self.generate(vl, fv, fs, budget=None)
                nv, ns_made = fv, fs
            finally:
                vl.stop()
        else:
            ns_made = ns
        self.results["generation"] = {"vaults": nv, "secrets": ns_made, "vault_secs": t_vaults,
                                      "secret_secs": gen["secs"], "secrets_per_sec": gen["done"] / gen["secs"],
                                      "failed": gen["failed"], "projected_full_secs": gen.get("projected_secs")}
        log(f"  generated {gen['done']:,} secrets in {gen['secs']:.1f} s ({gen['done'] / gen['secs']:,.0f}/s)")
        db = d / "state.db"
        size = sum(p.stat().st_size for p in d.glob("state.db*"))
        times, rss = [], []
        for _ in range(max(2, cfg["startup_runs"] // 2)):
            v = self.vaultlink(in_memory=False, data_dir=d, name="vaultlink-loaded")
            times.append(v.ready_secs * 1000)
            rss.append(v.proc.rss_kib())
            v.stop()
        med = statistics.median(times)
        self.results["startup_loaded"] = {"vaults": nv, "secrets": ns_made, "ms": times, "rss_kib": rss,
                                          "state_bytes": size, "db": str(db)}
        label = f"{ns_made:,} secrets in {nv:,} vaults"
        rep.ratio("startup.loaded", f"start-up to ready with {label}, median", med, "ms", "moto (empty)",
                  (statistics.median(self.results["startup_moto_ms"]) if self.results.get("startup_moto_ms") else None),
                  "ms", fmt="{:.1f}", target=("< 1000 ms" + (" (extrapolated to 100,000)" if extrapolated else "")),
                  met=lambda _x: (med * cfg["gen_secrets"] / ns_made if extrapolated else med) < 1000)
        if extrapolated:
            rep.note(f"start-up with {ns_made:,} secrets: {med:.0f} ms; linear extrapolation to "
                     f"{cfg['gen_secrets']:,}: ~{med * cfg['gen_secrets'] / ns_made:.0f} ms")
        rep.ratio("memory.loaded", f"resident memory after start-up with {label}", statistics.median(rss) / 1024,
                  "MiB", "empty", self.results["startup_empty"]["idle_rss_kib"] / 1024
                  if "startup_empty" in self.results else None, "MiB", fmt="{:.1f}")
        shutil.rmtree(d, ignore_errors=True)

    # -- 5b. memory per stored secret (issue 22, item 4) --------------------------------------
    def memory(self) -> None:
        """The growth curve: for each step, a fresh durable instance gets step/100 vaults (100
        secrets each, 64-byte values, through the data plane), and is restarted before and after
        the secrets are made. The difference of the two restarts' resident memory per secret is
        the cost of a stored secret; the step's start-up time is the second restart's."""
        cfg, rep = self.cfg, self.report
        steps = cfg["memory_steps"]
        sealed = 4 * -(-(12 + 64 + 16) // 3)  # base64 of nonce + 64-byte value + tag, as stored
        curve = []
        for n in steps:
            nv = max(1, n // 100)
            d = self.data_dir()
            vl = self.vaultlink(in_memory=False, data_dir=d, name=f"vaultlink-mem{n}")
            try:
                vl.prepare_rg()
                vl.create_vaults("kvg", 0, nv, secret=False)
            finally:
                vl.stop()
            v = self.vaultlink(in_memory=False, data_dir=d, name=f"vaultlink-mem{n}-vaults")
            rss_vaults = v.proc.rss_kib()
            try:
                log(f"memory: {n:,} secrets in {nv:,} vaults")
                gen = self.generate(v, nv, n, budget=None)
                rss_live = v.proc.rss_kib()
            finally:
                v.stop()
            starts, rss = [], []
            for _ in range(2):
                v = self.vaultlink(in_memory=False, data_dir=d, name=f"vaultlink-mem{n}-loaded")
                starts.append(v.ready_secs * 1000)
                rss.append(v.proc.rss_kib())
                st, _ = v.kv("GET", f"kvg{nv - 1}", f"/secrets/g{(n - 1) // nv}")
                v.stop()
                if st != 200:
                    rep.fail(f"memory: the last generated secret is not there after a restart ({st})")
            per = (min(rss) - rss_vaults) * 1024 / n
            row = {"secrets": n, "vaults": nv, "rss_vaults_kib": rss_vaults, "rss_live_kib": rss_live,
                   "rss_restart_kib": rss, "start_ms": starts, "bytes_per_secret": per,
                   "generated_per_sec": gen["done"] / gen["secs"]}
            curve.append(row)
            log(f"  {n:,} secrets: start-up {min(starts):.0f} ms, resident {min(rss) / 1024:.1f} MiB after a "
                f"restart ({rss_live / 1024:.1f} MiB live), {per:,.0f} B per secret")
            shutil.rmtree(d, ignore_errors=True)
        self.results["memory_curve"] = curve
        last = curve[-1]
        first = curve[0]
        rep.ratio("memory.per_secret", f"resident memory per stored secret beyond its sealed value ({sealed} B), "
                  f"{last['secrets']:,} secrets, after a restart", last["bytes_per_secret"] - sealed, "B",
                  f"at {first['secrets']:,} secrets", first["bytes_per_secret"] - sealed, "B",
                  target="<= 600 B", met=lambda _x: last["bytes_per_secret"] - sealed <= 600)
        for row in curve[1:-1]:
            rep.ratio(f"memory.per_secret.{row['secrets']}", f"resident memory per stored secret, {row['secrets']:,} "
                      "secrets, after a restart", row["bytes_per_secret"], "B", f"at {first['secrets']:,} secrets",
                      first["bytes_per_secret"], "B")
        big = min(last["rss_restart_kib"]) / 1024
        rep.ratio("memory.loaded_rss", f"resident memory after start-up with {last['secrets']:,} secrets in "
                  f"{last['vaults']:,} vaults", big, "MiB", "vaults only", last["rss_vaults_kib"] / 1024, "MiB",
                  fmt="{:.1f}", target="< 1024 MiB", met=lambda _x: big < 1024)
        rep.ratio("memory.loaded_start", f"start-up to ready with {last['secrets']:,} secrets in {last['vaults']:,} "
                  "vaults", min(last["start_ms"]), "ms", f"{first['secrets']:,} secrets", min(first["start_ms"]), "ms",
                  fmt="{:.0f}", target="< 2000 ms", met=lambda _x: min(last["start_ms"]) < 2000)

    def generate(self, vl: Vaultlink, nv: int, ns: int, budget: float | None) -> dict[str, Any]:
        """Creates `ns` secrets over `nv` vaults with wrk (generate.lua). With a budget, stops early
        when the projected time exceeds it and reports how far it got."""
        threads, conns = 2, 16
        script = lua_script(self.work, "generate")
        env = dict(os.environ)
        env.update({"BENCH_VAULT_PREFIX": "kvg", "BENCH_VAULTS": str(nv), "BENCH_SECRETS": str(ns),
                    "BENCH_THREADS": str(threads), "BENCH_TOKEN": vl.token(VAULT_SCOPE), "BENCH_VALUE_SIZE": "64"})
        argv = ["wrk", f"-t{threads}", f"-c{conns}", "-d3600s", "--timeout", "30s", "-s", str(script),
                f"https://127.0.0.1:{vl.https_port}/"]
        t0 = time.perf_counter()
        p = Proc(argv, log_path=self.work / "generate-wrk.log", env=env)
        done_ok, failed, reported = 0, 0, 0
        projected = None
        stopped_early = False
        next_check = 20.0
        try:
            while reported < threads:
                try:
                    line = p.lines.get(timeout=2)
                except queue.Empty:
                    line = ""
                if line is None:
                    raise RuntimeError("wrk (generate) exited early:\n" + tail(p.log_path))
                if line.startswith("GENDONE "):
                    _, _, ok, bad = line.split()
                    done_ok += int(ok)
                    failed += int(bad)
                    reported += 1
                    continue
                elapsed = time.perf_counter() - t0
                if budget is not None and elapsed > next_check:
                    # Projects the total time from the progress so far (probed through the API).
                    next_check = elapsed + 15
                    made = self.count_progress(vl, nv, ns)
                    projected = elapsed * ns / max(made, 1)
                    log(f"  {made:,} of {ns:,} secrets after {elapsed:.0f} s (projected {projected:.0f} s)")
                    if projected > budget * 1.05:
                        stopped_early = True
                        done_ok = made
                        break
        finally:
            if p.p.poll() is None:
                p.p.send_signal(signal.SIGINT)
                try:
                    p.p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    pass
            p.stop()
        secs = time.perf_counter() - t0
        out = {"done": done_ok, "failed": failed, "secs": secs}
        if stopped_early:
            out["projected_secs"] = projected
        elif failed:
            self.report.fail(f"state generation: {failed} of {ns} secret PUTs failed")
        return out

    def count_progress(self, vl: Vaultlink, nv: int, ns: int) -> int:
        """Secrets created so far, estimated by bisecting on secret names in vault 0 (items are
        assigned round-robin over vaults, secret j of every vault in turn)."""
        per_vault = (ns + nv - 1) // nv
        lo, hi = 0, per_vault  # g<lo> exists (or lo == 0), g<hi> does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            st, _ = vl.kv("GET", "kvg0", f"/secrets/g{mid}")
            if st == 200:
                lo = mid
            else:
                hi = mid
        return min(ns, (lo + 1) * nv)

    # -- run ---------------------------------------------------------------------------------
    def run(self) -> int:
        rep = self.report
        m = self.results["machine"]
        log(f"machine: {m['nproc']} cpus, {m['cpu_model']}, kernel {m['kernel']}, load {m['loadavg_start']}")
        log(f"vaultlink {self.bin}; ceiling {self.ceiling_bin}; work dir {self.work}")
        t0 = time.perf_counter()
        steps = [("baseline", self.against_baseline), ("reads", self.reads), ("proxy", self.proxy_reads), ("writes", self.writes), ("mixed", self.mixed), ("keys", self.keys), ("tokens", self.tokens),
                 ("arm-tokens", self.arm_and_tokens), ("cli", self.cli_tab), ("scale", self.scale_and_dns),
                 ("private", self.private_link), ("replicas", self.replicas),
                 ("startup", self.startup), ("startup-loaded", self.startup_loaded), ("memory", self.memory)]
        for name, fn in steps:
            if not self.enabled(name):
                continue
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - one broken benchmark must not hide the others
                rep.fail(f"{name}: {type(e).__name__}: {e}")
            finally:
                stop_all()
        self.results["machine"]["loadavg_end"] = loadavg()
        self.results["wall_secs"] = time.perf_counter() - t0
        self.results["rows"] = rep.rows
        self.results["notes"] = rep.notes
        self.results["failures"] = rep.failures
        out = Path(self.args.json) if self.args.json else self.work / "results.json"
        out.write_text(json.dumps(self.results, indent=2, default=str))
        print()
        print(markdown_table(rep.rows))
        print()
        kept = self.args.keep or rep.failures or str(out.parent) != str(self.work)
        log(f"results: {out}{'' if kept else ' (removed with the work dir; --keep or --json keeps them)'} "
            f"({self.results['wall_secs']:.0f} s); load average at end {loadavg()}")
        if rep.failures:
            print(f"bench: {len(rep.failures)} benchmark(s) FAILED to measure:", file=sys.stderr)
            for f in rep.failures:
                print(f"  - {f}", file=sys.stderr)
            return 1
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        return 0


def strip_raw(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "raw"}


def markdown_table(rows: list[dict[str, Any]]) -> str:
    def num(v: Any, unit: str) -> str:
        if v is None:
            return "–"
        if unit in ("ms", "MiB", "us"):
            return f"{v:,.2f} {unit}" if v < 10 else f"{v:,.1f} {unit}"
        return f"{v:,.0f} {unit}"

    out = ["| benchmark | vaultlink | baseline | ratio | target |", "|---|---|---|---|---|"]
    for r in rows:
        ratio = "–" if r["ratio"] is None else f"{r['ratio']:.3g}"
        target = f"{r['target']}: **{r['verdict']}**" if r["target"] else ""
        out.append(f"| {r['what']} | {num(r['vaultlink'], r['vaultlink_unit'])} | {r['baseline']}: "
                   f"{num(r['baseline_value'], r['baseline_unit'])} | {ratio} | {target} |")
    return "\n".join(out)


def fs_type(path: Path) -> str:
    """The file system type of the mount holding `path` (from /proc/mounts)."""
    best, kind = "", "?"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            f = line.split()
            if len(f) >= 3 and str(path).startswith(f[1].rstrip("/") + "/") and len(f[1]) > len(best):
                best, kind = f[1], f[2]
    except OSError:
        pass
    return kind


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine() -> dict[str, Any]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")).split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass

    def version(argv: list[str]) -> str:
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            txt = (p.stdout + p.stderr).strip().splitlines()
            return txt[0] if txt else "?"
        except (OSError, subprocess.TimeoutExpired):
            return "not installed"

    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(), "memory": mem,
            "loadavg_start": loadavg(), "python": platform.python_version(),
            "wrk": version(["wrk", "-v"]), "dnsperf": version(["dnsperf", "-h"]),
            "nsd": version([find_sbin("nsd") or "nsd", "-v"]), "unbound": version([find_sbin("unbound") or "unbound", "-V"])}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=sorted(PROFILES), default="full")
    ap.add_argument("--vaultlink", required=True, help="the vaultlink binary")
    ap.add_argument("--ceiling", required=True, help="the vaultlink-bench-ceiling binary")
    ap.add_argument("--moto", help="moto_server executable (reads and start-up vs moto are skipped without it)")
    ap.add_argument("--az", help="the az CLI (the CLI tab benchmark is skipped without it)")
    ap.add_argument("--baseline", help="an earlier build of vaultlink: CPU per read and per DNS answer are compared with it (--only baseline)")
    ap.add_argument("--only", action="append", choices=["baseline", "reads", "proxy", "writes", "mixed", "keys", "tokens", "arm-tokens", "cli", "scale", "private", "replicas", "startup", "startup-loaded", "memory"],
                    help="run only these benchmarks (repeatable)")
    ap.add_argument("--set", action="append", metavar="KEY=JSON",
                    help="override a profile setting, e.g. --set read_secs=5 --set 'scale_steps=[1,10]'")
    ap.add_argument("--json", help="write the results here (default: the work dir)")
    ap.add_argument("--work-root", default=None,
                    help="where the work dir goes (default: ${VAULTLINK_CACHE:-~/.cache/vaultlink}/bench/work; it "
                         "must be on a real disk for the durable-write figures)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs, data dirs, zone files)")
    args = ap.parse_args()
    for tool in ("wrk",):
        if not have(tool):
            print(f"bench: {tool} is required (apt-get install {tool})", file=sys.stderr)
            return 2
    atexit.register(stop_all)

    def on_signal(signum: int, _frame: Any) -> None:
        stop_all()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return Harness(args).run()


if __name__ == "__main__":
    sys.exit(main())
