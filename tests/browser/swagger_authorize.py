#!/usr/bin/env python3
"""Swagger UI's Authorize button, driven in headless Chromium as a person would.

Starts the gateway binary with an HS256 secret, opens /docs/, clicks
Authorize, types an admin token, then "Try it out" on CreateUser with a body
and Execute; passes when the page shows 201 (and showed 401 before
authorizing). Talks to Chromium over the DevTools protocol
(websocket-client).

    python3 tests/browser/swagger_authorize.py target/debug/gateway
"""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # websocket-client


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hs256_token(secret, claims):
    def part(value):
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def wait_for(what, check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"FAIL: timed out waiting for {what}")


class Page:
    """One Chromium tab, driven over the DevTools protocol."""

    def __init__(self, debug_port):
        def target():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{debug_port}/json") as answer:
                    pages = [t for t in json.load(answer) if t["type"] == "page"]
                    return pages[0] if pages else None
            except OSError:
                return None

        self.socket = websocket.create_connection(wait_for("Chromium", target)["webSocketDebuggerUrl"])
        self.next_id = 0

    def send(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise SystemExit(f"FAIL: {method}: {message['error']}")
                return message.get("result", {})

    def eval(self, script):
        result = self.send("Runtime.evaluate", expression=script, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise SystemExit(f"FAIL: script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector):
        clicked = self.eval(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            f" if (!el) return false; el.scrollIntoView(); el.click(); return true; }})()"
        )
        if not clicked:
            raise SystemExit(f"FAIL: nothing to click at {selector}")

    def type_into(self, selector, text):
        # React listens for input events on the native value setter.
        typed = self.eval(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)}); if (!el) return false;"
            f" const proto = el.tagName === 'TEXTAREA' ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;"
            f" Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, {json.dumps(text)});"
            f" el.dispatchEvent(new Event('input', {{bubbles: true}})); return true; }})()"
        )
        if not typed:
            raise SystemExit(f"FAIL: nothing to type into at {selector}")

    def has(self, selector):
        return self.eval(f"!!document.querySelector({json.dumps(selector)})")

    def text(self, selector):
        return self.eval(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)}); return el ? el.innerText : ''; }})()"
        )


def execute_create(page, operation):
    """Try it out → body → Execute; the status the page shows."""
    table = f"{operation} .live-responses-table"
    before = page.text(table)
    if page.has(f"{operation} .try-out__btn:not(.cancel)"):
        page.click(f"{operation} .try-out__btn:not(.cancel)")
    wait_for("the body editor", lambda: page.has(f"{operation} textarea.body-param__text"))
    email = f"swagger.{secrets.token_hex(4)}@example.com"
    page.type_into(f"{operation} textarea.body-param__text", json.dumps({"name": "Swagger", "email": email}))
    page.click(f"{operation} .execute")
    # A new answer shows a new request id.
    wait_for("the response", lambda: page.text(table) not in ("", before))
    status = page.text(f"{table} tbody .response-col_status").strip()
    return re.match(r"\d+", status).group(0)


def main():
    gateway = sys.argv[1] if len(sys.argv) > 1 else "target/debug/gateway"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("FAIL: chromium is not installed")
    work = tempfile.mkdtemp()
    secret = secrets.token_hex(32).encode()
    with open(os.path.join(work, "secret"), "wb") as file:
        file.write(secret)
    port, debug_port = free_port(), free_port()
    server = subprocess.Popen(
        [gateway, "--addr", f"127.0.0.1:{port}", "--database", os.path.join(work, "users.db"),
         "--jwt-hs256-secret-file", os.path.join(work, "secret")],
        stdout=subprocess.DEVNULL,
    )
    browser = subprocess.Popen(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={work}/profile", f"--remote-debugging-port={debug_port}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        def serving():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz"):
                    return True
            except OSError:
                return False

        wait_for("the gateway", serving)
        page = Page(debug_port)
        page.send("Page.enable")
        page.send("Page.navigate", url=f"http://127.0.0.1:{port}/docs/")
        operation = "[id$=\"-UserService_CreateUser\"]"
        wait_for("Swagger UI", lambda: page.has(operation) and page.has(".btn.authorize"))
        page.click(f"{operation} .opblock-summary-control")

        unauthorized = execute_create(page, operation)
        if unauthorized != "401":
            raise SystemExit(f"FAIL: before Authorize, create answered {unauthorized}, not 401")

        token = hs256_token(secret, {"sub": "swagger", "roles": ["admin"], "exp": int(time.time()) + 600})
        page.click(".btn.authorize")
        wait_for("the Authorize dialog", lambda: page.has(".auth-container input"))
        page.type_into(".auth-container input", token)
        page.click(".auth-container .btn.modal-btn.auth.authorize")
        wait_for("the token to be taken", lambda: page.has(".auth-container .btn.modal-btn.auth.logout, .auth-btn-wrapper .btn-done"))
        page.click(".btn-done, .close-modal")

        created = execute_create(page, operation)
        if created != "201":
            raise SystemExit(f"FAIL: after Authorize, create answered {created}, not 201")
        print("ok: Swagger UI answered 401 before Authorize and 201 after it")
    finally:
        browser.terminate()
        server.terminate()
        browser.wait(10)
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
