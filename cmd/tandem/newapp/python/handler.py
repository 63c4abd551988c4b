"""{{APP}}: an Azure Functions custom handler (Python standard library only).

Payload mode: the host POSTs /<FunctionName> with {"Data", "Metadata"}; the
reply is {"Outputs", "Logs", "ReturnValue"}. Listens on
FUNCTIONS_CUSTOMHANDLER_PORT.
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def hello(data, metadata):
    req = data["req"]
    name = (req.get("Params") or {}).get("name") or (req.get("Query") or {}).get("name") or "world"
    greeting = f"{os.environ.get('GREETING', 'Hello')}, {name}!"
    return {"Outputs": {"res": {"statusCode": 200, "body": greeting}, "task": f"greet {name}"},
            "Logs": [f"queued a task for {name}"]}


def worker(data, metadata):
    # The host sends a queue message as a JSON string of its text.
    task = data["task"]
    if isinstance(task, str):
        try:
            task = json.loads(task)
        except ValueError:
            pass
    return {"Outputs": {}, "Logs": [f"worked on: {task}"]}


FUNCTIONS = {"hello": hello, "worker": worker}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        fn = FUNCTIONS.get(self.path.strip("/").split("?")[0])
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        if fn is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps(fn(payload.get("Data") or {}, payload.get("Metadata") or {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(os.environ.get("FUNCTIONS_CUSTOMHANDLER_PORT", "8080"))
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
