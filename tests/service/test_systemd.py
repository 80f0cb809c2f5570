"""SystemdNotifier against a real datagram socket, path and abstract."""

from __future__ import annotations

import socket
import time
import uuid

import pytest

from daemons.core.service import SystemdNotifier


def _receiver(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + address[1:] if address.startswith("@") else address)
    sock.settimeout(2)
    return sock


@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_messages_arrive_on_path_and_abstract_sockets(tmp_path, kind):
    address = str(tmp_path / "n.sock") if kind == "path" else f"@wg-{uuid.uuid4().hex}"
    rx = _receiver(address)
    n = SystemdNotifier.from_environ({"NOTIFY_SOCKET": address})
    try:
        assert n.enabled
        assert n.ready("up\nand running")
        assert rx.recv(512) == b"READY=1\nSTATUS=up and running"
        n.status("polling 12 devices")
        assert rx.recv(512) == b"STATUS=polling 12 devices"
        n.watchdog()
        assert rx.recv(512) == b"WATCHDOG=1"
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        n.reloading()
        after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        first, second = rx.recv(512).decode().split("\n")
        assert first == "RELOADING=1"
        assert before <= int(second.removeprefix("MONOTONIC_USEC=")) <= after
        n.stopping()
        assert rx.recv(512) == b"STOPPING=1"
    finally:
        n.close()
        rx.close()


def test_without_notify_socket_everything_is_a_harmless_no_op():
    n = SystemdNotifier.from_environ({})
    assert not n.enabled
    assert n.ready() is False and n.watchdog() is False and n.reloading() is False
    assert n.watchdog_interval() is None and n.ping_period() is None


def test_a_vanished_socket_drops_messages_instead_of_raising(tmp_path):
    address = str(tmp_path / "gone.sock")
    rx = _receiver(address)
    n = SystemdNotifier(address)
    rx.close()
    (tmp_path / "gone.sock").unlink()
    assert n.ready() is False
    assert n.dropped == 1
    n.close()


def test_watchdog_interval_and_ping_period():
    n = SystemdNotifier.from_environ({"WATCHDOG_USEC": "30000000"}, pid=10, ppid=1)
    assert n.watchdog_interval() == 30.0 and n.ping_period() == 15.0


def test_watchdog_pid_of_the_parent_is_accepted_for_pyinstaller():
    env = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "41"}
    assert SystemdNotifier.from_environ(env, pid=42, ppid=41).watchdog_interval() == 2.0
    assert SystemdNotifier.from_environ(env, pid=41, ppid=1).watchdog_interval() == 2.0


def test_watchdog_for_another_process_is_off_with_a_reason():
    n = SystemdNotifier.from_environ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "7"},
                                     pid=42, ppid=41)
    assert n.watchdog_interval() is None
    assert "WATCHDOG_PID=7" in n.watchdog_note


def test_unset_removes_the_variables_so_children_do_not_inherit_them():
    env = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "5", "HOME": "/"}
    n = SystemdNotifier.from_environ(env, unset=True, pid=5, ppid=1)
    assert env == {"HOME": "/"}
    assert n.address == "@x" and n.watchdog_interval() == 1.0
    n.close()


def test_nonsense_address_is_rejected():
    with pytest.raises(ValueError):
        SystemdNotifier("relative/path")
