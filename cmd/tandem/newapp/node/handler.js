// {{APP}}: an Azure Functions custom handler (Node, no dependencies).
//
// Payload mode: the host POSTs /<FunctionName> with {"Data", "Metadata"};
// the reply is {"Outputs", "Logs", "ReturnValue"}. Listens on
// FUNCTIONS_CUSTOMHANDLER_PORT.
"use strict";
const http = require("http");

const functions = {
  hello(data) {
    const req = data.req || {};
    const name = (req.Params && req.Params.name) || (req.Query && req.Query.name) || "world";
    const greeting = `${process.env.GREETING || "Hello"}, ${name}!`;
    return {Outputs: {res: {statusCode: 200, body: greeting}, task: `greet ${name}`}, Logs: [`queued a task for ${name}`]};
  },
  worker(data) {
    // The host sends a queue message as a JSON string of its text.
    let task = data.task;
    if (typeof task === "string") {
      try { task = JSON.parse(task); } catch (e) { /* plain text */ }
    }
    return {Outputs: {}, Logs: [`worked on: ${task}`]};
  },
};

http.createServer((req, res) => {
  if (req.method === "GET") { res.writeHead(200, {"Content-Length": "0"}); res.end(); return; }
  let raw = "";
  req.on("data", (c) => { raw += c; });
  req.on("end", () => {
    const fn = functions[req.url.replace(/^\//, "").split("?")[0]];
    if (!fn) { res.writeHead(404, {"Content-Length": "0"}); res.end(); return; }
    const payload = raw ? JSON.parse(raw) : {};
    const body = JSON.stringify(fn(payload.Data || {}, payload.Metadata || {}));
    res.writeHead(200, {"Content-Type": "application/json", "Content-Length": Buffer.byteLength(body)});
    res.end(body);
  });
}).listen(Number(process.env.FUNCTIONS_CUSTOMHANDLER_PORT || 8080), "127.0.0.1");
