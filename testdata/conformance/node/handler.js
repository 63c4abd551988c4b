// A custom handler written from the public protocol: it records every
// request it receives (see ../README.md).
"use strict";
const http = require("http");
const fs = require("fs");

function listenAddr() {
  for (const a of process.argv.slice(2)) {
    if (a.startsWith("--listen=")) {
      const v = a.slice("--listen=".length);
      const i = v.lastIndexOf(":");
      return [v.slice(0, i), Number(v.slice(i + 1))];
    }
  }
  const port = process.env.FUNCTIONS_CUSTOMHANDLER_PORT || process.env.FUNCTIONS_HTTPWORKER_PORT;
  return ["127.0.0.1", Number(port)];
}

// probe says whether the file named by CONFORMANCE_PROBE_FILE can be read.
function probe() {
  const name = process.env.CONFORMANCE_PROBE_FILE;
  if (!name) return "";
  try {
    fs.readFileSync(name);
    return "readable";
  } catch (e) {
    return "denied";
  }
}

function record(req, body) {
  const line = JSON.stringify({
    method: req.method, path: req.url.split("?")[0],
    invocationId: req.headers["x-azure-functions-invocationid"] || "",
    body: body, env: process.env, argv: process.argv.slice(2), uid: process.getuid(), probe: probe(),
  });
  fs.appendFileSync(process.env.CAPTURE_FILE, line + "\n");
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const path = req.url.split("?")[0];
    if (path === "/" && req.method === "GET") {
      res.end();
      return;
    }
    const raw = Buffer.concat(chunks).toString("utf8");
    let parsed = null;
    let body = raw;
    try {
      parsed = JSON.parse(raw);
      body = parsed;
    } catch (e) {
      parsed = null;
    }
    record(req, body);
    if ((process.env.CONFORMANCE_FAIL || "").split(",").includes(path)) {
      res.statusCode = 500;
      res.end("failing as CONFORMANCE_FAIL asks");
      return;
    }
    if (req.method === "POST" && parsed && typeof parsed === "object" && parsed.Data != null) {
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ Outputs: { res: { statusCode: 200, body: "captured" } }, Logs: ["captured " + path], ReturnValue: null }));
      return;
    }
    res.end("forwarded " + path);
  });
});

const [host, port] = listenAddr();
server.listen(port, host, () => console.log(`conformance handler (node) listening on ${host}:${port}`));
