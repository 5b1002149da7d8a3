#!/usr/bin/env python3
"""The resident memory of the gateway under hostile clients, one case a run.

    python3 benches/memory_budgets.py BINARY CASE [GATEWAY FLAGS...]

BINARY is a release build (target/release/gateway); CASE is one of
  posts    200 concurrent POSTs of a 1 MB body;
  stalled  150 StreamUsers readers that read nothing (300 users of 30 kB);
  page     3 concurrent GET /v1/users?page_size=1000 over 200 users of
           600 kB, then every user read by id (the read cache).
It starts the binary on a free loopback port with a fresh database, samples
VmRSS from /proc every 20 ms and prints the baseline, peak and final RSS.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(port, method, path, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"content-type": "application/json"} if body is not None else {}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def user_body(n, tag_bytes):
    return json.dumps({"name": f"User {n}", "email": f"user.{n}@example.com",
                       "tags": ["x" * tag_bytes]}).encode()


def create_users(port, count, tag_bytes):
    ids = []
    for n in range(count):
        status, data = request(port, "POST", "/v1/users", user_body(n, tag_bytes))
        assert status == 201, (status, data[:200])
        ids.append(json.loads(data)["id"])
    return ids


def in_threads(count, work):
    results = [None] * count
    def run(index):
        results[index] = work(index)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def case_posts(port):
    bodies = [user_body(100_000 + n, 1_000_000 - 200) for n in range(200)]
    def post(index):
        try:
            return request(port, "POST", "/v1/users", bodies[index])[0]
        except OSError:
            # Refused before its body was read: the server answered and
            # closed while this client was still sending.
            return "closed while sending"
    statuses = in_threads(200, post)
    return {"statuses": {s: statuses.count(s) for s in set(statuses)}}


def case_stalled(port):
    create_users(port, 300, 30_000)
    sockets = []
    for _ in range(150):
        stalled = socket.create_connection(("127.0.0.1", port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(b"GET /v1/users:stream HTTP/1.1\r\nHost: test\r\n\r\n")
        sockets.append(stalled)
    time.sleep(5)
    return {"readers": len(sockets), "_keep": sockets}


def case_page(port):
    ids = create_users(port, 200, 600_000)
    def listed(_):
        status, data = request(port, "GET", "/v1/users?page_size=1000")
        return status, len(data), len(json.loads(data)["users"]) if status == 200 else 0
    pages = in_threads(3, listed)
    for user_id in ids:
        request(port, "GET", f"/v1/users/{user_id}")
    return {"pages (status, body bytes, users)": pages}


def main():
    binary, case, flags = sys.argv[1], sys.argv[2], sys.argv[3:]
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        gateway = subprocess.Popen(
            [binary, "--addr", f"127.0.0.1:{port}", "--database", f"{directory}/users.db", *flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    if request(port, "GET", "/v1/users")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.05)
            baseline = rss_mb(gateway.pid)
            sampler = Sampler(gateway.pid)
            sampler.start()
            outcome = {"posts": case_posts, "stalled": case_stalled, "page": case_page}[case](port)
            time.sleep(0.5)
            sampler.running = False
            sampler.join()
            outcome.pop("_keep", None)
            print(f"{case}: RSS baseline {baseline:.0f} MB, peak {sampler.peak:.0f} MB, "
                  f"after {rss_mb(gateway.pid):.0f} MB; {outcome}")
        finally:
            gateway.kill()
            gateway.wait()


if __name__ == "__main__":
    main()
