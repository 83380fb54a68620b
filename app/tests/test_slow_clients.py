"""`python -m chatapp` run directly: a client that sends nothing, or trickles its headers or its
body, loses its connection after CHAT_READ_TIMEOUT_S; others are served meanwhile (#18.6)."""

from __future__ import annotations

import http.client
import socket
import time
from pathlib import Path

from conftest import KEY_ACME, free_port
from fakes import FakeModelServer
from test_lifecycle import spawn, wait_healthy

CONFIGS = Path(__file__).parent / "configs"
BOUND_S = 30.0  # how long the test waits for the server to close them; the deadline is 1 s


def open_socket(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setblocking(False)
    return sock


def closed_by_server(sock: socket.socket, seen: bytearray) -> bool:
    try:
        data = sock.recv(65536)
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True
    if not data:
        return True
    seen += data
    return False


def test_slow_and_silent_clients_are_cut_off_and_others_are_served(
    tmp_path: Path, openai_fake: FakeModelServer
) -> None:
    port = free_port()
    env = {
        "CHAT_CONFIG_DIR": str(CONFIGS), "CHAT_PROMPT_VERSION": "slow",
        "CHAT_OPENAI_BASE_URL": openai_fake.base + "/v1", "CHAT_OPENAI_MODEL": "primary-model",
        "CHAT_API_KEYS": '{"acme": "%s"}' % KEY_ACME, "CHAT_SQLITE_PATH": str(tmp_path / "chat.db"),
        "CHAT_READ_TIMEOUT_S": "1",
    }
    proc = spawn(env, port)
    sockets: dict[str, list[socket.socket]] = {"silent": [], "headers": [], "body": []}
    try:
        wait_healthy(proc, port)
        for _ in range(20):
            sockets["silent"].append(open_socket(port))
        for _ in range(20):
            sock = open_socket(port)
            sock.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
            sockets["headers"].append(sock)
        for _ in range(20):
            sock = open_socket(port)
            sock.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY_ACME.encode()
                      + b"\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{")
            sockets["body"].append(sock)
        seen = {id(s): bytearray() for group in sockets.values() for s in group}
        open_ = {id(s): s for group in sockets.values() for s in group}
        served_meanwhile = 0
        deadline = time.monotonic() + BOUND_S
        while open_ and time.monotonic() < deadline:
            for key, sock in list(open_.items()):
                if closed_by_server(sock, seen[key]):
                    del open_[key]
                    continue
                if sock in sockets["headers"] or sock in sockets["body"]:
                    try:
                        sock.send(b"x")  # one byte at a time: a trickling client
                    except OSError:
                        del open_[key]
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/health")
            served_meanwhile += conn.getresponse().status == 200
            conn.close()
            time.sleep(0.2)
        still_open = {name: sum(id(s) in open_ for s in group) for name, group in sockets.items()}
        assert still_open == {"silent": 0, "headers": 0, "body": 0}
        assert served_meanwhile >= 1
        # those that never finished their headers were told why
        assert all(bytes(seen[id(s)]).startswith(b"HTTP/1.1 408") for s in sockets["silent"] + sockets["headers"])
        # and a normal request on a kept-alive connection is not cut by the deadline
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(2):
            conn.request("GET", "/v1/models", headers={"Authorization": f"Bearer {KEY_ACME}"})
            reply = conn.getresponse()
            assert reply.status == 200 and reply.read()
            time.sleep(1.5)  # idle between requests longer than the read deadline: the idle timeout applies
        conn.close()
    finally:
        for group in sockets.values():
            for s in group:
                s.close()
        proc.terminate()
        proc.wait(10)
