"""Black-box e2e harness for vaultlink.

Runs the real `vaultlink` binary (built beforehand by scripts/test; this file builds nothing)
and drives it with the REAL Azure CLI from the venv that runs pytest (scripts/e2e-venv).

Fixtures
--------
vaultlink         function scope: a fresh server (fresh data dir, port-0 listeners) and a fresh
                  AZURE_CONFIG_DIR, not logged in.
vaultlink_module  module scope: the same, shared by every test of a module (one `az login` per
                  module is what makes the suite affordable: each `az` call costs 1-3 s).

The object they yield (`Vaultlink`) has:
  .env             dict for subprocesses: os.environ + `vaultlink env` exports + AZURE_CONFIG_DIR ...
  .az(*args)       runs the venv's `az ... -o json`, returns the parsed JSON (None for no output);
                   raises AzError (rc, full stderr) on failure. .az(..., check=False) -> AzResult.
  .az_fail(*args)  runs az, asserts it failed, returns the AzResult.
  .login_sp()      `az login --service-principal` as the seeded developer principal (proxy mode).
  .start() .stop() .restart() .kill9()
  .data_dir .proxy_url .https_url .identity_url .log_path .az_log_path
Server stdout/stderr go to files in the test's tmp dir; on a failure the tail of both, and of the
az command log, is attached to the pytest report.

Environment knobs
-----------------
VAULTLINK_BIN     path of the binary (default ${CARGO_TARGET_DIR:-<repo>/target}/debug/vaultlink)
VAULTLINK_AZ      path of az (default: `az` beside the python running pytest)
VAULTLINK_E2E_READY_TIMEOUT   seconds to wait for `vaultlink ready` (default 30)
VAULTLINK_E2E_AZ_TIMEOUT      seconds one az call may take (default 180)
VAULTLINK_E2E_AZ_DEBUG=1      add --debug to every az call (HTTP traffic lands in az.log)
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------------------------------------
# Seeded identities (fixed by the server's contract).
TENANT_ID = "8d3a7e52-6c1f-4b0e-9a57-2f4c8e1b6d90"
SUBSCRIPTION_ID = "4f1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
SUBSCRIPTION_NAME = "vaultlink-dev"
DEV_CLIENT_ID = "a9b8c7d6-e5f4-4321-9abc-def012345678"
DEV_CLIENT_SECRET = "vaultlink-dev-secret"
MANAGED_IDENTITY_CLIENT_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
MANAGED_IDENTITY_OBJECT_ID = "6e5d4c3b-2a19-4087-9f6e-5d4c3b2a1908"
DEV_OBJECT_ID = "0f9e8d7c-6b5a-4948-8372-6150f4e3d2c1"

READY_TIMEOUT = float(os.environ.get("VAULTLINK_E2E_READY_TIMEOUT", "30"))
AZ_TIMEOUT = float(os.environ.get("VAULTLINK_E2E_AZ_TIMEOUT", "180"))
STOP_TIMEOUT = 15.0

# Variables inherited from the caller's shell that would steer az/requests elsewhere.
_SCRUB_ENV = {
    "http_proxy", "https_proxy", "no_proxy", "all_proxy", "ALL_PROXY", "HTTP_PROXY",
    "CURL_CA_BUNDLE", "AZURE_CLOUD_NAME",
    "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_CORE_INSTANCE_DISCOVERY",
}
_SCRUB_PREFIXES = ("AZURE_CLIENT", "AZURE_TENANT", "AZURE_SUBSCRIPTION", "AZURE_DEFAULTS_")


def vaultlink_binary() -> Path:
    explicit = os.environ.get("VAULTLINK_BIN")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    if not target.is_absolute():
        target = REPO_ROOT / target
    return target / "debug" / "vaultlink"


def az_command() -> list[str]:
    explicit = os.environ.get("VAULTLINK_AZ")
    if explicit:
        return [explicit]
    beside = Path(sys.executable).parent / "az"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("az")
    if found:
        return [found]
    # Same thing the venv's az wrapper does.
    return [sys.executable, "-m", "azure.cli"]


def parse_env_exports(text: str) -> dict[str, str]:
    """Parse `export NAME='value'` lines as a POSIX shell would (eval semantics)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line, comments=True)
        if words and words[0] == "export":
            words = words[1:]
        for word in words:
            if "=" not in word:
                raise ValueError(f"unexpected line in `vaultlink env` output: {line!r}")
            name, value = word.split("=", 1)
            out[name] = value
    return out


def _tail(path: Path, max_lines: int = 200) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"<{path} does not exist>"
    skipped = len(lines) - max_lines
    head = f"... ({skipped} earlier lines in {path})\n" if skipped > 0 else ""
    return head + "\n".join(lines[-max_lines:])


# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class AzResult:
    args: list[str]
    rc: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def json(self) -> Any:
        text = self.stdout.strip()
        return json.loads(text) if text else None

    def describe(self) -> str:
        return (
            f"$ az {shlex.join(self.args)}\n"
            f"rc={self.rc} ({self.seconds:.1f} s)\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


class AzError(AssertionError):
    def __init__(self, result: AzResult):
        super().__init__("az command failed\n" + result.describe())
        self.result = result


class VaultlinkStartError(RuntimeError):
    pass


class Vaultlink:
    """One vaultlink server process (restartable) plus one isolated az profile."""

    def __init__(self, workdir: Path, *, in_memory: bool = False, extra_args: tuple[str, ...] = ()):
        self.binary = vaultlink_binary()
        if not self.binary.exists():
            pytest.fail(
                f"vaultlink binary not found at {self.binary}: build it first "
                "(scripts/test does `cargo build`), or set VAULTLINK_BIN / CARGO_TARGET_DIR",
                pytrace=False,
            )
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.config_dir = workdir / "azure-config"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "vaultlink.stderr.log"
        self.stdout_path = workdir / "vaultlink.stdout.log"
        self.az_log_path = workdir / "az.log"
        self.in_memory = in_memory
        self.extra_args = tuple(extra_args)
        self.dns_addr: tuple[str, int] | None = None
        self.proc: subprocess.Popen[str] | None = None
        self.urls: dict[str, str] = {}
        self.exports: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self.last_exit_code: int | None = None
        self.starts = 0
        self._listen = {"proxy": "127.0.0.1:0", "https": "127.0.0.1:0", "identity": "127.0.0.1:0",
                        "dns": "127.0.0.1:0"}
        self._stdout_thread: threading.Thread | None = None

    # -- URLs -------------------------------------------------------------------------------
    @property
    def proxy_url(self) -> str:
        return self.urls["proxy"]

    @property
    def https_url(self) -> str:
        return self.urls["https"]

    @property
    def identity_url(self) -> str:
        return self.urls["identity"]

    @property
    def https_port(self) -> int:
        return int(self.https_url.rsplit(":", 1)[1].rstrip("/"))

    # -- process control --------------------------------------------------------------------
    def _log_marker(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        for path in (self.log_path, self.stdout_path):
            with open(path, "a") as f:
                f.write(f"===== [{stamp}] e2e harness: {text} =====\n")

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        self.starts += 1
        cmd = [
            str(self.binary), "serve",
            "--data-dir", str(self.data_dir),
            "--proxy-listen", self._listen["proxy"],
            "--https-listen", self._listen["https"],
            "--identity-listen", self._listen["identity"],
            "--dns-listen", self._listen["dns"],
            *self.extra_args,
        ]
        if self.in_memory:
            cmd.append("--in-memory")
        self._log_marker(f"start #{self.starts}: {shlex.join(cmd)}")
        stderr_file = open(self.log_path, "a")
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB_ENV}
        env.setdefault("RUST_BACKTRACE", "1")
        try:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr_file,
                text=True, bufsize=1, env=env, cwd=self.workdir,
            )
        finally:
            stderr_file.close()

        lines: queue.Queue[str | None] = queue.Queue()
        proc = self.proc
        stdout_path = self.stdout_path

        def pump() -> None:
            assert proc.stdout is not None
            with open(stdout_path, "a") as out:
                for line in proc.stdout:
                    out.write(line)
                    out.flush()
                    lines.put(line)
            lines.put(None)

        self._stdout_thread = threading.Thread(target=pump, name="vaultlink-stdout", daemon=True)
        self._stdout_thread.start()

        urls: dict[str, str] = {}
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._abort_start(f"no `vaultlink ready` line within {READY_TIMEOUT:.0f} s")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                self._abort_start(
                    f"stdout closed before `vaultlink ready` (exit code {self.proc.poll()})"
                )
            text = line.strip()
            if text == "vaultlink ready":
                break
            m = re.match(r"^(proxy|https|identity)\s+(\S+)$", text)
            if m:
                urls[m.group(1)] = m.group(2).rstrip("/")
            d = re.match(r"^dns\s+(\S+):(\d+)$", text)
            if d:
                self.dns_addr = (d.group(1), int(d.group(2)))
                self._listen["dns"] = f"{d.group(1)}:{d.group(2)}"
        missing = {"proxy", "https", "identity"} - urls.keys()
        if missing:
            self._abort_start(f"`vaultlink ready` came without URL lines for {sorted(missing)}")
        self.urls = urls
        # A restart comes back on the same ports (as a user's restart would): the az profile
        # (custom cloud endpoint, proxy URL in env) stays valid.
        for name, url in urls.items():
            self._listen[name] = url.split("://", 1)[1]
        self._check_endpoints_json()
        self._load_env()

    def _abort_start(self, why: str) -> None:
        __tracebackhide__ = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        raise VaultlinkStartError(
            f"vaultlink failed to start: {why}\n"
            f"--- stdout ({self.stdout_path}) ---\n{_tail(self.stdout_path)}\n"
            f"--- stderr ({self.log_path}) ---\n{_tail(self.log_path)}"
        )

    def _check_endpoints_json(self) -> None:
        path = self.data_dir / "endpoints.json"
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise VaultlinkStartError(f"{path} unreadable after ready: {e}") from e
        got = {k: str(doc.get(k, "")).rstrip("/") for k in ("proxy", "https", "identity")}
        if got != self.urls:
            raise VaultlinkStartError(
                f"{path} {doc} does not match the URLs printed on stdout {self.urls}"
            )

    def run_vaultlink(self, *args: str, check: bool = True, timeout: float = 60
                      ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB_ENV}
        proc = subprocess.run(
            [str(self.binary), *args], stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=timeout, env=env, cwd=self.workdir,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"$ vaultlink {shlex.join(args)}\nrc={proc.returncode}\n"
                f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
            )
        return proc

    def _load_env(self) -> None:
        out = self.run_vaultlink("env", "--data-dir", str(self.data_dir)).stdout
        try:
            self.exports = parse_env_exports(out)
        except ValueError as e:
            raise VaultlinkStartError(f"`vaultlink env` output unparsable: {e}\n{out}") from e
        required = {
            "HTTPS_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE",
            "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_SUBSCRIPTION_ID",
        }
        missing = required - self.exports.keys()
        if missing:
            raise VaultlinkStartError(
                f"`vaultlink env` lacks {sorted(missing)}; it printed:\n{out}"
            )
        env = {
            k: v for k, v in os.environ.items()
            if k not in _SCRUB_ENV and not k.startswith(_SCRUB_PREFIXES)
        }
        env.update(self.exports)
        env.update({
            "AZURE_CONFIG_DIR": str(self.config_dir),
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_NO_COLOR": "1",
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "PYTHONUNBUFFERED": "1",
        })
        # Keep whatever the test changed in env (e.g. cloud settings) across restarts.
        for key, value in getattr(self, "_env_overrides", {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        self.env = env

    def set_env(self, **values: str | None) -> None:
        """Change the az environment for the rest of this server's life (None removes)."""
        overrides = getattr(self, "_env_overrides", {})
        overrides.update(values)
        self._env_overrides = overrides
        for key, value in values.items():
            if value is None:
                self.env.pop(key, None)
            else:
                self.env[key] = value

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Stop the server with `sig` and return its exit code (fails if it does not stop)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else 0
        self._log_marker(f"sending {signal.Signals(sig).name} to pid {proc.pid}")
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise AssertionError(
                f"vaultlink did not exit within {timeout:.0f} s of {signal.Signals(sig).name}; "
                f"killed it\n--- stderr ---\n{_tail(self.log_path, 60)}"
            )
        if self._stdout_thread is not None:
            self._stdout_thread.join(timeout=5)
        self.last_exit_code = proc.returncode
        self._log_marker(f"exited with code {proc.returncode}")
        return proc.returncode

    def kill9(self) -> None:
        proc = self.proc
        assert proc is not None and proc.poll() is None, "server not running"
        self._log_marker(f"SIGKILL to pid {proc.pid}")
        proc.kill()
        proc.wait(timeout=10)
        if self._stdout_thread is not None:
            self._stdout_thread.join(timeout=5)
        self.last_exit_code = proc.returncode

    def restart(self, *, kill: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL with kill=True) and start again on the same data dir."""
        if kill:
            self.kill9()
        else:
            code = self.stop()
            assert code == 0, (
                f"vaultlink exited with code {code} on SIGTERM (a clean stop should exit 0)\n"
                f"--- stderr ---\n{_tail(self.log_path, 60)}"
            )
        self.start()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop()
            except AssertionError:
                pass

    # -- az ---------------------------------------------------------------------------------
    def az(self, *args: str, check: bool = True, env: dict[str, str] | None = None,
           timeout: float | None = None, output: str | None = "json") -> Any:
        """Run az with `-o json`. check=True: parsed stdout (or None), AzError on rc != 0.
        check=False: the AzResult, whatever the rc."""
        __tracebackhide__ = True
        argv = [str(a) for a in args]
        if output and "-o" not in argv and "--output" not in argv:
            argv += ["-o", output]
        if os.environ.get("VAULTLINK_E2E_AZ_DEBUG") == "1" and "--debug" not in argv:
            argv.append("--debug")  # requests and responses on stderr, in az.log
        run_env = dict(self.env if env is None else env)
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [*az_command(), *argv], stdin=subprocess.DEVNULL, capture_output=True,
                text=True, env=run_env, timeout=timeout or AZ_TIMEOUT, cwd=self.workdir,
            )
            result = AzResult(argv, proc.returncode, proc.stdout, proc.stderr,
                              time.monotonic() - started)
        except subprocess.TimeoutExpired as e:
            result = AzResult(
                argv, -999,
                (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes)
                else (e.stdout or ""),
                ((e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes)
                 else (e.stderr or "")) + f"\n<e2e: az timed out after {e.timeout} s>",
                time.monotonic() - started,
            )
        with open(self.az_log_path, "a") as log:
            log.write(result.describe() + "\n\n")
        if not check:
            return result
        if result.rc != 0:
            raise AzError(result)
        try:
            return result.json
        except ValueError as e:
            raise AssertionError(f"az printed non-JSON output: {e}\n{result.describe()}") from e

    def az_fail(self, *args: str, **kwargs: Any) -> AzResult:
        __tracebackhide__ = True
        result = self.az(*args, check=False, **kwargs)
        assert result.rc != 0, "az command unexpectedly succeeded\n" + result.describe()
        return result

    def login_sp(self, client_id: str = DEV_CLIENT_ID, secret: str = DEV_CLIENT_SECRET,
                 tenant: str = TENANT_ID) -> Any:
        __tracebackhide__ = True
        subs = self.az("login", "--service-principal", "-u", client_id, f"--password={secret}",
                       "--tenant", tenant)
        self.az("account", "set", "--subscription", SUBSCRIPTION_ID)
        return subs

    def grant(self, object_id: str, role: str, scope: str | None = None) -> Any:
        """As the seeded developer (Owner of the subscription), in an az profile of its own so the
        test's own login is untouched: `az role assignment create` for `object_id`. Resource
        Manager checks roles, so a principal other than the developer can do only what it is
        granted this way."""
        __tracebackhide__ = True
        env = dict(self.exports_env())
        env["AZURE_CONFIG_DIR"] = str(self.workdir / "azure-config-developer")
        if not (self.workdir / "azure-config-developer" / "azureProfile.json").exists():
            self.az("login", "--service-principal", "-u", DEV_CLIENT_ID, "-p", DEV_CLIENT_SECRET,
                    "--tenant", TENANT_ID, env=env)
        return self.az("role", "assignment", "create", "--assignee-object-id", object_id,
                       "--assignee-principal-type", "ServicePrincipal", "--role", role,
                       "--scope", scope or f"/subscriptions/{SUBSCRIPTION_ID}", env=env)

    def exports_env(self) -> dict[str, str]:
        """The az environment as `vaultlink env` sets it, without the test's overrides (cloud,
        identity settings)."""
        env = dict(self.env)
        for key in getattr(self, "_env_overrides", {}):
            env.pop(key, None)
        env.update(self.exports)
        return env

    def register_providers(self, *namespaces: str, wait: bool = False) -> None:
        """`az provider register` (as the seed does): a fresh subscription answers
        409 MissingSubscriptionRegistration for Microsoft.KeyVault, as Azure does, and az
        2.91 does not register providers by itself. wait=True: `--wait`, no `-o json`."""
        for ns in namespaces or ("Microsoft.KeyVault",):
            if wait:
                self.az("provider", "register", "-n", ns, "--wait", output=None)
            else:
                self.az("provider", "register", "-n", ns)

    def register_direct_cloud(self, name: str = "Vaultlink") -> None:
        """Point az's ARM/Entra at the direct https listener (contract §2b, "hybrid" mode:
        vault hosts still go through HTTPS_PROXY, NO_PROXY keeps localhost direct)."""
        self.set_env(AZURE_CORE_INSTANCE_DISCOVERY="false")
        self.az("cloud", "register", "-n", name, "--endpoint-resource-manager",
                f"https://localhost:{self.https_port}")
        self.az("cloud", "set", "-n", name)


# ---------------------------------------------------------------------------------------------
def _make(tmp: Path) -> Vaultlink:
    vl = Vaultlink(tmp)
    vl.start()
    return vl


@pytest.fixture
def vaultlink(request: pytest.FixtureRequest, tmp_path: Path):
    vl = _make(tmp_path)
    request.node._vaultlink = vl
    yield vl
    vl.close()


@pytest.fixture(scope="module")
def vaultlink_module(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    vl = _make(tmp)
    request.module._vaultlink = vl
    yield vl
    vl.close()


@pytest.fixture(scope="module")
def logged_in(vaultlink_module: Vaultlink) -> Vaultlink:
    """The module's server with az logged in (proxy mode) as the seeded developer SP."""
    vaultlink_module.login_sp()
    return vaultlink_module


# ---------------------------------------------------------------------------------------------
# Reporting: attach the server's logs and the az log to every failed test.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    # Incremental scenarios: a failed step makes the later steps of its class xfail.
    if "incremental" in item.keywords and report.failed and call.when == "call":
        parent = item.parent
        if parent is not None:
            parent._previous_failed = item  # type: ignore[attr-defined]
    if not report.failed:
        return
    vl = getattr(item, "_vaultlink", None) or getattr(item.module, "_vaultlink", None)
    if vl is None:
        return
    report.sections.append((f"vaultlink stderr (tail of {vl.log_path})", _tail(vl.log_path)))
    report.sections.append((f"vaultlink stdout ({vl.stdout_path})", _tail(vl.stdout_path, 40)))
    report.sections.append((f"az log (tail of {vl.az_log_path})", _tail(vl.az_log_path, 80)))


def pytest_runtest_setup(item: pytest.Item) -> None:
    if "incremental" in item.keywords and item.parent is not None:
        previous = getattr(item.parent, "_previous_failed", None)
        if previous is not None:
            pytest.xfail(f"previous scenario step failed ({previous.name})")


# Cheap diagnostics first (they name the broken piece), then the seed scenario, login modes,
# restarts; modules not listed run after these, in file order.
_MODULE_ORDER = ["test_server_surface", "test_seed_cli", "test_login_modes", "test_restart"]


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        return _MODULE_ORDER.index(name) if name in _MODULE_ORDER else len(_MODULE_ORDER)

    items.sort(key=rank)  # stable: keeps file order within a module


@pytest.fixture
def pg():
    """A PostgreSQL server of the test's own, started (postgres_server.py)."""
    from postgres_server import PostgresServer
    server = PostgresServer()
    server.start()
    yield server
    server.close()
