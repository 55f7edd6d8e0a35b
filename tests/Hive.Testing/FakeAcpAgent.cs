namespace Hive.Testing;

/// <summary>
/// An agent speaking the Agent Client Protocol on its stdio, in Python (the test command installs python3), standing in
/// for a coding agent where the test needs one that misbehaves on purpose or whose every step it can see: it logs each
/// message it gets (one JSON line each, to the file <c>$FAKE_ACP_LOG</c>). Its mode is its first argument: <c>good</c>
/// (a session per <c>session/new</c>, loaded back by <c>session/load</c>; each prompt answered with its text echoed, a
/// tool call and its result, usage, then <c>end_turn</c>; a prompt holding <c>ASK</c> first asks permission to read
/// <c>notes.txt</c> in its work dir, to run a command and to call the hive's send tool, <c>READ:/path</c> first reads the file through the client), <c>silent</c>
/// (never answers initialize), <c>broken</c> (answers a prompt with a line that is not JSON), <c>flood</c> (a prompt gets
/// 30 000 updates), <c>bench</c> (for the bench: each prompt's arrival stamped, then <c>$FAKE_ACP_UPDATES</c> updates,
/// then <c>end_turn</c>; with <c>$FAKE_ACP_STAMPS</c>, a file, each prompt's arrival time as Unix nanoseconds, a line each).
/// </summary>
public static class FakeAcpAgent
{
    public const string Script = """
        import json, os, re, sys, time, uuid
        mode = sys.argv[1]
        log = open(os.environ["FAKE_ACP_LOG"], "a")
        sessions = {}
        next_id = [-1]  # the first request the agent makes is id 0, as the real adapter's
        def send(obj):
            sys.stdout.write(json.dumps(obj) + "\n"); sys.stdout.flush()
        def note(obj):
            log.write(json.dumps(obj) + "\n"); log.flush()
        def update(session, u):
            send({"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": session, "update": u}})
        def ask(method, params):
            next_id[0] += 1
            send({"jsonrpc": "2.0", "id": next_id[0], "method": method, "params": params})
            while True:
                line = sys.stdin.readline()
                if not line: sys.exit(0)
                msg = json.loads(line)
                note(msg)
                if msg.get("id") == next_id[0] and "method" not in msg: return msg
        for line in sys.stdin:
            msg = json.loads(line)
            note(msg)
            method, mid, params = msg.get("method"), msg.get("id"), msg.get("params") or {}
            if method == "initialize":
                if mode == "silent": continue
                send({"jsonrpc": "2.0", "id": mid, "result": {"protocolVersion": 1, "agentCapabilities": {"loadSession": True}, "authMethods": []}})
            elif method == "session/new":
                sid = "fake-" + uuid.uuid4().hex[:8]
                sessions[sid] = []
                send({"jsonrpc": "2.0", "id": mid, "result": {"sessionId": sid, "models": {"currentModelId": "fake-acp-1", "availableModels": []}}})
            elif method == "session/load":
                sid = params["sessionId"]
                update(sid, {"sessionUpdate": "user_message_chunk", "content": {"type": "text", "text": "(history asked)"}})
                update(sid, {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "(history answered)"}})
                send({"jsonrpc": "2.0", "id": mid, "result": None})
            elif method == "session/prompt":
                sid = params["sessionId"]
                text = "".join(b.get("text", "") for b in params["prompt"])
                if mode == "broken":
                    sys.stdout.write("this is not JSON-RPC\n"); sys.stdout.flush(); continue
                if mode == "bench":
                    with open(os.environ["FAKE_ACP_STAMPS"], "a") as stamps: stamps.write(str(time.time_ns()) + "\n")
                    for i in range(int(os.environ.get("FAKE_ACP_UPDATES", "0"))):
                        update(sid, {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "x"}})
                    send({"jsonrpc": "2.0", "id": mid, "result": {"stopReason": "end_turn"}})
                    continue
                if mode == "flood":
                    for i in range(30000):
                        update(sid, {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "x"}})
                    continue
                for piece in ["echo: ", text.splitlines()[0]]:
                    update(sid, {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": piece}})
                if "READ:" in text:
                    path = re.search(r'READ:([^"\s]+)', text).group(1)
                    answer = ask("fs/read_text_file", {"sessionId": sid, "path": path})
                    if "error" in answer:
                        update(sid, {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "refused"}})
                        continue
                if "ASK-MCP" in text:
                    # The hive's send tool as the other agents name it, with no call announced first: Codex (rawInput),
                    # Gemini CLI (its title) and opencode (its title); and a look-alike that is not the hive's.
                    for call in [{"toolCallId": "c1", "title": "send", "kind": "other", "rawInput": {"server": "hive", "tool": "send", "arguments": {}}},
                                 {"toolCallId": "g1", "title": "send (hive MCP Server)", "kind": "other"},
                                 {"toolCallId": "o1", "title": "hive_send", "kind": "other", "rawInput": {}},
                                 {"toolCallId": "x1", "title": "hivesend", "kind": "other", "rawInput": {}}]:
                        answer = ask("session/request_permission", {"sessionId": sid, "toolCall": call,
                            "options": [{"optionId": "allow", "name": "Allow", "kind": "allow_once"},
                                        {"optionId": "reject", "name": "Reject", "kind": "reject_once"}]})
                    send({"jsonrpc": "2.0", "id": mid, "result": {"stopReason": "end_turn"}})
                    continue
                if "ASK" in text:
                    cwd = os.getcwd()
                    calls = [("Read", "read", "Read notes.txt", {"file_path": os.path.join(cwd, "notes.txt")}, [{"path": os.path.join(cwd, "notes.txt")}]),
                             ("Bash", "execute", "`touch /tmp/x`", {"command": "touch /tmp/x"}, []),
                             ("mcp__hive__send", "other", "send", {}, [])]
                    for tool, kind, title, raw, locations in calls:
                        # As the real adapter: the call first (its tool in _meta), then the request naming the call only.
                        update(sid, {"sessionUpdate": "tool_call", "toolCallId": "p-" + tool, "title": title, "kind": kind, "status": "pending",
                                     "rawInput": {}, "_meta": {"claudeCode": {"toolName": tool}}})
                        answer = ask("session/request_permission", {"sessionId": sid,
                            "toolCall": {"toolCallId": "p-" + tool, "title": title, "kind": kind, "rawInput": raw, "locations": locations},
                            "options": [{"optionId": "allow_always", "name": "Always Allow", "kind": "allow_always"},
                                        {"optionId": "allow", "name": "Allow", "kind": "allow_once"},
                                        {"optionId": "reject", "name": "Reject", "kind": "reject_once"}]})
                update(sid, {"sessionUpdate": "tool_call", "toolCallId": "t1", "title": "Read", "kind": "read", "status": "pending",
                             "rawInput": {}, "_meta": {"claudeCode": {"toolName": "Read"}}})
                update(sid, {"sessionUpdate": "tool_call_update", "toolCallId": "t1", "title": "Read notes.txt", "rawInput": {"file_path": "notes.txt"}})
                update(sid, {"sessionUpdate": "tool_call_update", "toolCallId": "t1", "status": "completed",
                             "content": [{"type": "content", "content": {"type": "text", "text": "the notes"}}]})
                update(sid, {"sessionUpdate": "usage_update", "used": 1234, "size": 200000, "cost": {"amount": 0.25, "currency": "USD"}})
                send({"jsonrpc": "2.0", "id": mid, "result": {"stopReason": "end_turn",
                      "usage": {"inputTokens": 5, "outputTokens": 3, "cachedReadTokens": 7, "cachedWriteTokens": 0, "totalTokens": 15}}})
            elif method == "session/cancel":
                pass
        """;

    /// <summary>Writes the script into <paramref name="directory"/>; its path.</summary>
    public static string WriteTo(string directory)
    {
        var path = Path.Combine(directory, "fake_acp_agent.py");
        File.WriteAllText(path, Script.Replace("\r", ""));
        return path;
    }
}
