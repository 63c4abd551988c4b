"""hello-python: an Azure Functions custom handler using only the standard library.

Payload mode (no request forwarding): every function is a POST /<FunctionName>
with {"Data": ..., "Metadata": ...}; the reply is {"Outputs", "Logs", "ReturnValue"}.
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def greet(data, metadata):
    req = data["req"]
    name = (req.get("Params") or {}).get("name") or req["Query"].get("name") or "world"
    body = {"message": f"{os.environ.get('GREETING', 'Hello')}, {name}!", "method": req["Method"],
            "region": os.environ.get("REGION_NAME")}
    return {"Outputs": {}, "Logs": [f"greeted {name}"],
            "ReturnValue": {"statusCode": 200, "body": json.dumps(body),
                            "headers": {"Content-Type": "application/json"}}}


def enqueue(data, metadata):
    text = data["req"].get("Body") or ""
    return {"Outputs": {"msg": [line for line in text.splitlines() if line.strip()],
                        "res": {"statusCode": "202", "body": "queued"}},
            "Logs": ["enqueued"]}


FUNCTIONS = {"greet": greet, "enqueue": enqueue}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # readiness probe
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        fn = FUNCTIONS.get(self.path.strip("/"))
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        if fn is None:
            self.send_error(404, "no such function")
            return
        out = json.dumps(fn(payload.get("Data", {}), payload.get("Metadata", {}))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, fmt, *args):
        pass


if __name__ == "__main__":
    port = int(os.environ["FUNCTIONS_CUSTOMHANDLER_PORT"])
    print(f"hello-python listening on {port}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
