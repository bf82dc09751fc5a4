"""A used data directory refuses to start without its own root key or state (issue 16, item 1).

Before, deleting root.key (or setting VAULTLINK_ROOT_KEY to another key) started vaultlink with a
new key: every existing secret answered 500 and new writes were sealed under the new key. Now the
state records the key's check value, and a start with a missing or different key, or with
state.db missing or empty, exits non-zero before `vaultlink ready` with a message that says what
to restore; putting the original back brings everything back. A write-ahead log that SQLite's
recovery cuts short is reported in the log with what was lost.
"""

from __future__ import annotations

import base64
import os
import shutil
import struct
from pathlib import Path

import pytest

from conftest import Vaultlink, VaultlinkStartError
from dp_fixtures import Dp, provision

RG = "rg-rootkey"
VAULT = "kv-rootkey"


def put_secret(vl: Vaultlink, name: str, value: str) -> None:
    dp = Dp(vl)
    r = dp.kv("PUT", VAULT, f"/secrets/{name}", token=dp.token(), json={"value": value})
    assert r.status_code == 200, r.text


def get_secret(vl: Vaultlink, name: str) -> tuple[int, str | None]:
    dp = Dp(vl)
    r = dp.kv("GET", VAULT, f"/secrets/{name}", token=dp.token())
    return r.status_code, (r.json().get("value") if r.status_code == 200 else None)


def used(vl: Vaultlink) -> None:
    vl.login_sp()
    provision(vl, RG, VAULT)
    put_secret(vl, "before", "sealed-with-the-first-key")


def refused_start(vl: Vaultlink) -> str:
    """Starts vaultlink expecting it to refuse; returns what this start wrote to stderr."""
    offset = vl.log_path.stat().st_size if vl.log_path.exists() else 0
    with pytest.raises(VaultlinkStartError) as err:
        vl.start()
    assert "stdout closed before `vaultlink ready`" in str(err.value), err.value
    assert vl.proc is not None and vl.proc.returncode not in (0, None), vl.proc.returncode
    return vl.log_path.read_bytes()[offset:].decode(errors="replace")


def assert_all_back(vl: Vaultlink) -> None:
    assert get_secret(vl, "before") == (200, "sealed-with-the-first-key")
    put_secret(vl, "after", "written-after-the-restore")
    vl.restart()
    assert get_secret(vl, "before") == (200, "sealed-with-the-first-key")
    assert get_secret(vl, "after") == (200, "written-after-the-restore")


def test_missing_root_key_is_refused_and_restoring_it_brings_everything_back(
        vaultlink: Vaultlink, tmp_path: Path) -> None:
    vl = vaultlink
    used(vl)
    assert vl.stop() == 0
    key = vl.data_dir / "root.key"
    backup = tmp_path / "root.key.backup"
    shutil.move(key, backup)

    log = refused_start(vl)
    assert "the root key is missing" in log, log
    assert str(key) in log and "VAULTLINK_ROOT_KEY" in log and "backup" in log, log
    assert not key.exists(), "no new root key may be written for a used state"

    shutil.move(backup, key)
    vl.start()
    assert_all_back(vl)


def test_another_root_key_is_refused(vaultlink: Vaultlink, monkeypatch: pytest.MonkeyPatch) -> None:
    vl = vaultlink
    used(vl)
    assert vl.stop() == 0
    original = (vl.data_dir / "root.key").read_text().strip()

    monkeypatch.setenv("VAULTLINK_ROOT_KEY", base64.b64encode(os.urandom(32)).decode())
    log = refused_start(vl)
    assert "the root key from VAULTLINK_ROOT_KEY is not the one that sealed" in log, log
    assert "unset VAULTLINK_ROOT_KEY" in log and "root.key" in log, log

    # A different root.key file is refused the same way, naming the file.
    (vl.data_dir / "root.key").write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    monkeypatch.setenv("VAULTLINK_ROOT_KEY", original)
    vl.start()  # the right key through the environment wins over the wrong file
    assert get_secret(vl, "before") == (200, "sealed-with-the-first-key")
    assert vl.stop() == 0
    monkeypatch.delenv("VAULTLINK_ROOT_KEY")
    log = refused_start(vl)
    assert f"the root key from {vl.data_dir / 'root.key'} is not the one" in log, log

    (vl.data_dir / "root.key").write_text(original + "\n")
    vl.start()
    assert_all_back(vl)


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_empty_or_missing_state_is_refused(vaultlink: Vaultlink, tmp_path: Path,
                                           damage: str) -> None:
    vl = vaultlink
    used(vl)
    assert vl.stop() == 0
    state = vl.data_dir / "state.db"
    backup = tmp_path / "state.db.backup"
    shutil.copy(state, backup)
    if damage == "truncate":
        state.write_bytes(b"")
    else:
        state.unlink()

    log = refused_start(vl)
    word = "empty" if damage == "truncate" else "missing"
    assert f"{state} is {word}" in log and "backup" in log and "new data directory" in log, log
    assert state.exists() == (damage == "truncate"), "the refusal must not create a state"

    shutil.copy(backup, state)
    vl.start()
    assert_all_back(vl)


def wal_commit_frames(data: bytes) -> list[int]:
    """Offsets of the commit frames of the log's current generation (SQLite's WAL format)."""
    page_size, salt1, salt2 = struct.unpack(">I", data[8:12])[0], data[16:20], data[20:24]
    frame, at, commits = 24 + page_size, 32, []
    while at + frame <= len(data) and data[at + 8:at + 12] == salt1 and data[at + 12:at + 16] == salt2:
        if struct.unpack(">I", data[at + 4:at + 8])[0] != 0:
            commits.append(at)
        at += frame
    return commits


def test_damaged_wal_is_reported(vaultlink: Vaultlink) -> None:
    vl = vaultlink
    used(vl)
    for i in range(5):
        put_secret(vl, f"w{i}", f"value-{i}")
    vl.kill9()
    wal = vl.data_dir / "state.db-wal"
    data = bytearray(wal.read_bytes())
    commits = wal_commit_frames(bytes(data))
    assert len(commits) >= 3, f"{len(commits)} commit frames in the log"
    data[commits[-3] + 24 + 200] ^= 0x20  # the page of the third-to-last transaction
    wal.write_bytes(bytes(data))

    offset = vl.log_path.stat().st_size
    vl.start()
    log = vl.log_path.read_bytes()[offset:].decode(errors="replace")
    assert "fails its checksum" in log and "at least 3 committed transactions" in log, log
    assert "ERROR" in log, log
    # SQLite rolled back the last three writes; the earlier ones are there.
    assert get_secret(vl, "w4")[0] == 404
    assert get_secret(vl, "w1") == (200, "value-1")
    assert get_secret(vl, "before") == (200, "sealed-with-the-first-key")
