"""A custom handler written from the public protocol: it records every
request it receives (see ../README.md)."""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def listen_addr():
    for a in sys.argv[1:]:
        if a.startswith("--listen="):
            host, _, port = a[len("--listen="):].rpartition(":")
            return host, int(port)
    port = os.environ.get("FUNCTIONS_CUSTOMHANDLER_PORT") or os.environ.get("FUNCTIONS_HTTPWORKER_PORT")
    return "127.0.0.1", int(port)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        path = self.path.split("?", 1)[0]
        if path == "/" and self.command == "GET":
            return self.reply(200, "", "text/plain")
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace")
        try:
            parsed = json.loads(raw)
            body = parsed
        except ValueError:
            parsed, body = None, raw
        record(self.command, path, self.headers.get("X-Azure-Functions-InvocationId", ""), body)
        if path in os.environ.get("CONFORMANCE_FAIL", "").split(","):
            return self.reply(500, "failing as CONFORMANCE_FAIL asks", "text/plain")
        if self.command == "POST" and isinstance(parsed, dict) and parsed.get("Data") is not None:
            out = {"Outputs": {"res": {"statusCode": 200, "body": "captured"}}, "Logs": ["captured " + path], "ReturnValue": None}
            return self.reply(200, json.dumps(out), "application/json")
        self.reply(200, "forwarded " + path, "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


def probe():
    name = os.environ.get("CONFORMANCE_PROBE_FILE")
    if not name:
        return ""
    try:
        with open(name, "rb") as f:
            f.read(1)
        return "readable"
    except OSError:
        return "denied"


def record(method, path, invocation_id, body):
    line = json.dumps({"method": method, "path": path, "invocationId": invocation_id, "body": body,
                       "env": dict(os.environ), "argv": sys.argv[1:], "uid": os.getuid(), "probe": probe()})
    with LOCK:
        with open(os.environ["CAPTURE_FILE"], "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    addr = listen_addr()
    print("conformance handler (python) listening on %s:%d" % addr, flush=True)
    ThreadingHTTPServer(addr, Handler).serve_forever()
