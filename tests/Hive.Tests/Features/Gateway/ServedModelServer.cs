namespace Hive.Tests.Features.Gateway;

/// <summary>
/// A model server of the tests' own, in Python, that the host runs as a provider's <c>serve.command</c> (no model weights
/// can be fetched here): <c>python3 server.py PORT DIR</c>. It speaks Anthropic's <c>POST /v1/messages</c> (streaming and
/// not), answers <c>GET /health</c>, and counts the requests it holds at once: <c>GET /stats</c> gives
/// <c>{current, max, requests, pid}</c>. Every request is held until <c>POST /release</c> (from then on none is held), so a
/// test can see how many reach it at once. While the file <c>DIR/hold</c> exists it does not listen yet (a restart that
/// takes its time, as a real server loading its weights).
/// </summary>
internal static class ServedModelServer
{
    public const string Script = """
        import json, os, sys, threading, time
        from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
        port, folder = int(sys.argv[1]), sys.argv[2]
        print(f"fake model server {os.getpid()} starting", flush=True)
        while os.path.exists(os.path.join(folder, "hold")):
            time.sleep(0.02)
        lock = threading.Lock()
        released = threading.Event()
        stats = {"current": 0, "max": 0, "requests": 0, "pid": os.getpid()}
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args):
                pass
            def send(self, status, body, kind="application/json"):
                data = body.encode()
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            def do_GET(self):
                if self.path == "/health":
                    self.send(200, "{}")
                elif self.path == "/stats":
                    with lock:
                        self.send(200, json.dumps(stats))
                else:
                    self.send(404, "{}")
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
                if self.path == "/release":
                    released.set()
                    self.send(200, "{}")
                    return
                if self.path != "/v1/messages":
                    self.send(404, "{}")
                    return
                with lock:
                    stats["current"] += 1
                    stats["requests"] += 1
                    stats["max"] = max(stats["max"], stats["current"])
                try:
                    released.wait()
                    usage = {"input_tokens": 10, "output_tokens": 5}
                    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": body.get("model"),
                               "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "usage": usage}
                    if not body.get("stream"):
                        self.send(200, json.dumps(message))
                        return
                    start = dict(message, content=[], stop_reason=None, usage={"input_tokens": 10, "output_tokens": 1})
                    events = [("message_start", {"type": "message_start", "message": start}),
                              ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                              ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}}),
                              ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                              ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
                              ("message_stop", {"type": "message_stop"})]
                    self.send(200, "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events), "text/event-stream")
                finally:
                    with lock:
                        stats["current"] -= 1
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        print(f"fake model server listening on {port}", flush=True)
        server.serve_forever()
        """;

    /// <summary>Writes the server into <paramref name="dir"/> and returns its path.</summary>
    public static string WriteTo(string dir)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "server.py");
        File.WriteAllText(path, Script);
        return path;
    }
}
