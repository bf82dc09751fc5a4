"""Durability and encryption at rest of secret values.

8 concurrent writers PUT secrets (several versions per name) through the proxy with raw HTTPS
and a bearer token from the token endpoint; every acknowledged write (200 with the new id) is
recorded. The server is killed with SIGKILL while the writers are still going, restarted on the
same data dir, and every acknowledged version must read back with its exact value. Then no
file of the data directory (state.db, its -wal and -shm, anything else) may contain any
plaintext value, and neither may the server's logs.

Throttling is switched off for this server (VAULTLINK_NO_THROTTLE, the env form of
`serve --no-throttle`): Azure's 300 secret writes per 10 s would otherwise make most writes
429s and leave little in flight at the moment of the kill.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
import uuid
from pathlib import Path

import requests

from conftest import Vaultlink
from dp_fixtures import Dp, provision, vaultlink_no_throttle, version_of  # noqa: F401

RG = "rg-durability"
VAULT = "kv-durability"
WRITERS = 8
MARKER = "DURABLE-PLAINTEXT-"


def test_kill9_during_concurrent_writes(vaultlink_no_throttle: Vaultlink) -> None:
    vl = vaultlink_no_throttle
    vl.login_sp()
    provision(vl, RG, VAULT)
    token = Dp(vl).token()

    acked: list[tuple[str, str, str]] = []
    acked_lock = threading.Lock()
    stop = threading.Event()
    errors: list[str] = []
    attempts = [0] * WRITERS

    def writer(t: int) -> None:
        dp = Dp(vl)
        i = 0
        while not stop.is_set():
            name = f"dur-{t}-{i % 7}"
            value = f"{MARKER}{t}-{i}-{uuid.uuid4().hex}"
            i += 1
            attempts[t] += 1
            try:
                r = dp.kv("PUT", VAULT, f"/secrets/{name}", token=token,
                          json={"value": value, "contentType": "text/plain"}, timeout=10)
            except requests.RequestException:
                continue  # the server is gone (kill -9): not acknowledged
            if r.status_code == 200:
                body = r.json()
                if body.get("value") != value:
                    errors.append(f"ack of {name} echoed {body.get('value')!r}")
                with acked_lock:
                    acked.append((name, version_of(body["id"]), value))
            else:
                errors.append(f"PUT {name}: {r.status_code} {r.text[:300]}")
                time.sleep(0.05)

    threads = [threading.Thread(target=writer, args=(t,), daemon=True) for t in range(WRITERS)]
    for th in threads:
        th.start()
    time.sleep(3.0)
    with acked_lock:
        before_kill = len(acked)
    vl.kill9()  # mid-stream: the writers are still sending
    time.sleep(0.5)
    stop.set()
    for th in threads:
        th.join(timeout=30)
    assert not errors, f"writes refused before the kill: {errors[:10]}"
    assert before_kill >= 50, f"only {before_kill} writes acknowledged in 3 s"
    assert all(n >= 5 for n in attempts), attempts

    print(f"durability: {len(acked)} writes acknowledged ({before_kill} before the kill "
          f"signal), {sum(attempts)} attempted")
    vl.start()
    dp = Dp(vl)
    token = dp.token()

    def read_back(item: tuple[str, str, str]) -> str | None:
        name, version, value = item
        r = dp.kv("GET", VAULT, f"/secrets/{name}/{version}", token=token, timeout=30)
        if r.status_code != 200:
            return f"{name}/{version}: {r.status_code} {r.text[:300]}"
        got = r.json().get("value")
        if got != value:
            return f"{name}/{version}: value {got!r} != acknowledged {value!r}"
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=WRITERS) as pool:
        failures = [f for f in pool.map(read_back, acked) if f]
    assert not failures, (
        f"{len(failures)} of {len(acked)} acknowledged versions lost or changed after kill -9; "
        f"first: {failures[:10]}"
    )

    # Every acknowledged version is listed among the name's versions.
    by_name: dict[str, set[str]] = {}
    for name, version, _ in acked:
        by_name.setdefault(name, set()).add(version)
    for name, versions in by_name.items():
        listed = {version_of(v["id"]) for v in dp.all_pages(VAULT, f"/secrets/{name}/versions",
                                                             token)}
        assert versions <= listed, f"{name}: acknowledged {versions - listed} not listed"

    # A clean stop, so every page is in the files we scan (not only in the server's memory).
    assert vl.stop() == 0
    files = [p for p in Path(vl.data_dir).rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert "state.db" in names, names
    leaks = []
    values = [v.encode() for _, _, v in acked]
    for p in files + [vl.log_path, vl.stdout_path]:
        data = p.read_bytes()
        if MARKER.encode() in data:
            leaks.append(f"{p}: contains {MARKER!r}")
            continue
        for v in values[:: max(1, len(values) // 200)]:
            if v[len(MARKER):] in data:
                leaks.append(f"{p}: contains the random part of {v!r}")
                break
        if token.encode() in data:
            leaks.append(f"{p}: contains a bearer token")
    assert not leaks, leaks


def test_plaintext_not_in_wal_while_running(vaultlink_no_throttle: Vaultlink) -> None:
    """The -wal file right after writes, with the server still running (no checkpoint yet)."""
    vl = vaultlink_no_throttle
    vl.login_sp()
    provision(vl, RG, VAULT)
    dp = Dp(vl)
    token = dp.token()
    values = [f"{MARKER}wal-{i}-{uuid.uuid4().hex}" for i in range(20)]
    for i, v in enumerate(values):
        r = dp.kv("PUT", VAULT, f"/secrets/wal-{i}", token=token, json={"value": v})
        assert r.status_code == 200, r.text
    files = [p for p in Path(vl.data_dir).rglob("*") if p.is_file()]
    assert any(p.name.startswith("state.db") for p in files), files
    for p in files:
        data = p.read_bytes()
        assert MARKER.encode() not in data, f"plaintext secret value in {p}"
        for v in values:
            assert v.split("-")[-1].encode() not in data, f"plaintext secret value in {p}"
