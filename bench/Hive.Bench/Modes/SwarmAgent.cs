using System.Globalization;
using System.Text.Json.Nodes;

namespace Hive.Bench.Modes;

/// <summary>
/// The swarm's agent: the fake COMMAND every agent runs under <c>hivectl run</c> (<see cref="Script"/>, sh) and its turn's
/// model client (<see cref="ModelClient"/>, python3), written into the run's root; and the reading of what they log in
/// the log dir (<c>&lt;agent&gt;.log</c>: turns, messages seen, sends acknowledged; <c>&lt;agent&gt;.calls</c>: model calls).
/// </summary>
internal static class SwarmAgent
{
    /// <summary>A message as a COMMAND was handed it: in the turn that started at <see cref="StartNs"/> (Unix ns).</summary>
    public sealed record Sighting(string Agent, long StartNs, long Id, bool Redelivered);

    /// <summary>What the COMMANDs logged: messages seen, each agent's turns (start, end if it ended) in Unix ns, the uids of sends acknowledged.</summary>
    public sealed record Logs(List<Sighting> Sightings, Dictionary<string, List<(long Start, long? End)>> Turns, HashSet<string> AckedSends);

    /// <summary>A model call as the agent's client saw it (one <c>call</c> line of <c>&lt;agent&gt;.calls</c>).</summary>
    public sealed record ClientCall(long Serial, double FirstByteMs, int Deltas, bool Stopped, bool Direct, int Status, bool Fresh, string Label)
    {
        /// <summary>A call past the gateway through the bare forwarder (label <c>…-f</c>), not straight to the provider (<c>…-d</c>).</summary>
        public bool ViaForwarder => Direct && Label.EndsWith("-f", StringComparison.Ordinal);
    }

    /// <summary>The agents' model calls: those logged whole, the count of failed ones (<c>callerr</c> lines) and the last of those.</summary>
    public sealed record ClientCalls(List<ClientCall> Calls, int Errors, string? LastError);

    private const string Script = """
        #!/bin/sh
        # $1 the log dir, $2 this agent, $3 the seed, $4 agents in the swarm, $5 this agent's index,
        # $6 python3, $7 the model client, $8 the provider's own URL, $9 the key for a direct call, $10 the bare forwarder's socket
        dir="$1"; me="$2"; seed="$3"; n="$4"; idx="$5"; py="$6"; model="$7"; direct="$8"; directkey="$9"; forwarder="${10}"
        log="$dir/$me.log"
        start=$(date +%s%N)
        turn=$(( $(cat "$dir/$me.turn" 2>/dev/null || echo 0) + 1 ))
        echo "$turn" > "$dir/$me.turn"
        echo "start $start $turn" >> "$log"
        count=0
        while IFS= read -r line; do
          printf 'seen %s %s\n' "$start" "$line" >> "$log"
          count=$((count+1))
        done
        set -- $(awk -v s="$seed" -v t="$turn" -v i="$idx" -v n="$n" 'BEGIN {
          srand((s * 131 + i * 7919 + t * 104729) % 2147483647)
          if (rand() < 0.15 || n < 2) to = "operator"; else { p = int(rand() * (n - 1)); if (p >= i) p++; to = "a" p }
          remind = rand() < 0.1 ? 2 + int(rand() * 9) : 0
          ask = rand() < 0.05 ? 1 : 0
          printf "%s %d %d\n", to, remind, ask }')
        to=$1; remind=$2; ask=$3
        # The turn's model calls, through the hive's gateway (ANTHROPIC_BASE_URL and the placeholder key come from the host).
        "$py" "$model" "$dir" "$me" "$seed" "$turn" "$direct" "$directkey" "$forwarder" 2>>"$log.err"
        if [ ! -e "$dir/drain" ]; then
          uid="$me-$turn"
          if hivectl send --client-id "$uid" "$to" "swarm $uid" >/dev/null 2>>"$log.err"; then echo "sent $uid $to" >> "$log"; fi
          if [ "$remind" -gt 0 ]; then
            if hivectl remind --in "$remind" "swarm $uid-r" >/dev/null 2>>"$log.err"; then echo "sent $uid-r $me" >> "$log"; fi
          fi
          if [ "$ask" -gt 0 ]; then
            if hivectl ask "swarm question $uid-q" >/dev/null 2>>"$log.err"; then echo "asked $uid-q" >> "$log"; fi
          fi
        fi
        echo "end $(date +%s%N) $turn" >> "$log"
        echo '{"type":"assistant","message":{"model":"fake-swarm","content":[{"type":"text","text":"done"}]}}'
        echo '{"type":"result","subtype":"success","is_error":false,"total_cost_usd":0.001,"usage":{"input_tokens":'"$((1000 + count * 200))"',"output_tokens":150}}'
        """;

    /// <summary>
    /// The turn's model: 1–3 streamed Messages calls through the gateway (ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY) on one
    /// keep-alive connection, 0.1–0.4 s of "tools" between them; on one turn in five one call straight to the provider
    /// (the floor of this measurement: the same client, no gateway), and on one in five one call through a bare forwarder in
    /// a process of its own (a Unix socket, YARP and nothing else: the floor of any gateway). Per call one line in <c>&lt;agent&gt;.calls</c>: the
    /// provider's serial (from the message id), the time from just before the request was written to the response's head
    /// read (its first byte: the provider writes its head with <c>message_start</c>), the deltas read, whether
    /// <c>message_stop</c> came, direct or not, the status, whether the call opened its connection (a turn's first), and the
    /// label; a failed call is a <c>callerr</c> line.
    /// </summary>
    private const string ModelClient = """
        import http.client, json, os, random, socket, sys, time, urllib.parse
        log_dir, me, seed, turn, direct_url, direct_key, forwarder_socket = sys.argv[1:8]
        rnd = random.Random(f"{seed}-{me}-{turn}")
        out = open(os.path.join(log_dir, me + ".calls"), "a")

        def connect(url):
            u = urllib.parse.urlsplit(url)
            return http.client.HTTPConnection(u.hostname, u.port, timeout=120), u.path.rstrip("/")

        class UnixConnection(http.client.HTTPConnection):
            def __init__(self, path):
                super().__init__("localhost", timeout=120)
                self.unix_path = path

            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(120)
                self.sock.connect(self.unix_path)

        def call(conn, prefix, key, label, direct):
            body = json.dumps({"model": "claude-test", "max_tokens": 256, "stream": True,
                               "messages": [{"role": "user", "content": label}]})
            headers = {"content-type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01"}
            try:
                fresh = 1 if conn.sock is None else 0
                started = time.perf_counter_ns()
                conn.request("POST", prefix + "/v1/messages", body, headers)
                response = conn.getresponse()
                first = time.perf_counter_ns() - started
                serial, deltas, stop = "-", 0, 0
                for raw in response:
                    line = raw.decode("utf-8").rstrip("\n")
                    if not line.startswith("data: "):
                        continue
                    data = json.loads(line[6:])
                    kind = data.get("type")
                    if kind == "message_start":
                        serial = data["message"]["id"].rsplit("_", 1)[1]
                    elif kind == "content_block_delta":
                        deltas += 1
                    elif kind == "message_stop":
                        stop = 1
                out.write(f"call {serial} {first // 1000} {deltas} {stop} {1 if direct else 0} {response.status} {fresh} {label}\n")
            except Exception as e:
                out.write(f"callerr {label} {type(e).__name__}: {str(e)[:200]}\n".replace("\n", " ").rstrip() + "\n")
                conn.close()
            out.flush()

        gateway, prefix = connect(os.environ["ANTHROPIC_BASE_URL"])
        key = os.environ["ANTHROPIC_API_KEY"]
        calls = 1 + rnd.randrange(3)
        for i in range(calls):
            if i > 0:
                time.sleep(0.1 + rnd.random() * 0.3)
            call(gateway, prefix, key, f"{me}-{turn}-{i}", False)
        if rnd.random() < 0.2:
            floor, floor_prefix = connect(direct_url)
            call(floor, floor_prefix, direct_key, f"{me}-{turn}-d", True)
        if rnd.random() < 0.2:
            call(UnixConnection(forwarder_socket), "", direct_key, f"{me}-{turn}-f", True)
        """;

    /// <summary>The agents' model client: Debian's python3 (./test.sh installs it), where the agents' own users can run it; null if there is none.</summary>
    public static string? FindPython() => new[] { "/usr/bin/python3", "/usr/local/bin/python3" }.FirstOrDefault(File.Exists);

    /// <summary>Writes the COMMAND and the model client into <paramref name="root"/>, readable by the agents' users; their paths.</summary>
    public static async Task<(string Script, string ModelClient)> WriteAsync(string root)
    {
        var script = Path.Combine(root, "swarm-agent.sh");
        await File.WriteAllTextAsync(script, Script.Replace("\r", ""));
        File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
        var modelClient = Path.Combine(root, "swarm-model.py");
        await File.WriteAllTextAsync(modelClient, ModelClient.Replace("\r", ""));
        File.SetUnixFileMode(modelClient, (UnixFileMode)0b110_100_100);
        return (script, modelClient);
    }

    /// <summary>The turns started so far, by every agent (its <c>start</c> lines).</summary>
    public static int CountStarts(string logDir) =>
        Directory.EnumerateFiles(logDir, "*.log").Sum(f => LogLines(f).Count(l => l.StartsWith("start ", StringComparison.Ordinal)));

    public static Logs ReadLogs(string logDir)
    {
        var sightings = new List<Sighting>();
        var turns = new Dictionary<string, List<(long Start, long? End)>>();
        var ackedSends = new HashSet<string>();
        foreach (var file in Directory.EnumerateFiles(logDir, "*.log"))
        {
            var agent = Path.GetFileNameWithoutExtension(file);
            var agentTurns = turns[agent] = [];
            foreach (var line in LogLines(file))
            {
                var parts = line.Split(' ', 3);
                switch (parts[0])
                {
                    case "start": agentTurns.Add((long.Parse(parts[1], CultureInfo.InvariantCulture), null)); break;
                    case "end" when agentTurns.Count > 0: agentTurns[^1] = (agentTurns[^1].Start, long.Parse(parts[1], CultureInfo.InvariantCulture)); break;
                    case "sent": ackedSends.Add(parts[1]); break;
                    case "seen":
                        var message = JsonNode.Parse(parts[2])!;
                        sightings.Add(new Sighting(agent, long.Parse(parts[1], CultureInfo.InvariantCulture), message["id"]!.GetValue<long>(),
                            message["redelivered"]?.GetValue<bool>() == true));
                        break;
                }
            }
        }
        return new Logs(sightings, turns, ackedSends);
    }

    public static ClientCalls ReadCalls(string logDir)
    {
        var calls = new List<ClientCall>();
        var errors = 0;
        string? lastError = null;
        foreach (var file in Directory.EnumerateFiles(logDir, "*.calls"))
            foreach (var line in LogLines(file))
            {
                var parts = line.Split(' ', 9);
                if (parts[0] == "callerr")
                {
                    errors++;
                    lastError = line;
                }
                else if (parts is ["call", var serial, var micros, var deltas, var stop, var direct, var status, var fresh, var label] && long.TryParse(serial, out var s))
                    calls.Add(new ClientCall(s, long.Parse(micros, CultureInfo.InvariantCulture) / 1000.0, int.Parse(deltas, CultureInfo.InvariantCulture),
                        stop == "1", direct == "1", int.Parse(status, CultureInfo.InvariantCulture), fresh == "1", label));
            }
        return new ClientCalls(calls, errors, lastError);
    }

    private static IEnumerable<string> LogLines(string file)
    {
        // An agent may be writing its log: a torn last line is skipped.
        return File.ReadAllText(file).Split('\n')[..^1];
    }
}
