using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using Microsoft.Data.Sqlite;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// A swarm of agents run by the host (process driver, <c>hivectl run -- /bin/sh swarm-agent.sh</c>), the
/// governor on (8 slots, budgets high), a scripted operator answering questions and keeping mail flowing over HTTP, and
/// <c>--kills</c> SIGKILLs of the host at random moments (restarted on the same data dir; it restarts its agents).
/// The fake COMMAND logs every message it is handed (with the turn's start stamp and the redelivered flag), makes its
/// turn's model calls through the hive's gateway (<see cref="ModelClient"/>, python3: 1–3 streamed Messages calls to a fake
/// provider in this process, <see cref="StreamingProvider"/>, first byte after 200–800 ms, 20–60 deltas, the provider's
/// <c>MaxInFlight</c> 8), replies once to a random peer or the operator (awk's rand, seeded by the bench seed, the agent
/// and its turn number),
/// sometimes schedules a reminder to itself or asks the operator, and prints stream-json with tokens. Every body is
/// <c>swarm &lt;uid&gt;</c>; the database (which survives the kills) is the list of what was sent, the agents' logs what
/// was delivered. At the end: the agents are told to stop replying, the hive drains, and lost = committed messages no
/// COMMAND (or, for the operator, no inbox) ever got, plus acknowledged sends missing from the database. The model calls:
/// <see cref="ModelCalls"/> (metered against served, and the gateway's added time to first byte).
/// </summary>
internal sealed class SwarmBench : IBenchMode
{
    public string Name => "swarm";
    public string Summary => "N agents under hivectl run, model calls through the gateway, governor on, scripted operator, SIGKILLs of the host: lost/duplicated mail, calls metered vs served, added first byte, RSS";

    private const int DefaultAgents = 50;
    private const int DefaultKills = 0;
    private const double DefaultMinutes = 10;
    private const int Slots = 8;
    private const int ProviderSlots = 8;
    private const double RssGoalMib = 300;
    private const double AddedFirstByteGoalMs = 2;

    /// <summary>
    /// A call the provider served whole but the host never booked complete counts as cut by a kill when its stream ended at
    /// most this long before a SIGKILL of the host (the host books a call after the agent has its whole answer); anywhere
    /// else it is a call the meter missed.
    /// </summary>
    private static readonly TimeSpan BookingWindow = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DrainLimit = TimeSpan.FromMinutes(3);

    private const string Script = """
        #!/bin/sh
        # $1 the log dir, $2 this agent, $3 the seed, $4 agents in the swarm, $5 this agent's index,
        # $6 python3, $7 the model client, $8 the provider's own URL, $9 the key for a direct call
        dir="$1"; me="$2"; seed="$3"; n="$4"; idx="$5"; py="$6"; model="$7"; direct="$8"; directkey="$9"
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
        "$py" "$model" "$dir" "$me" "$seed" "$turn" "$direct" "$directkey" 2>>"$log.err"
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
    /// keep-alive connection, 0.1–0.4 s of "tools" between them, and on one turn in five one call straight to the provider
    /// (the floor of this measurement: the same client, no gateway). Per call one line in <c>&lt;agent&gt;.calls</c>: the
    /// provider's serial (from the message id), the time from just before the request was written to the response's head
    /// read (its first byte: the provider writes its head with <c>message_start</c>), the deltas read, whether
    /// <c>message_stop</c> came, direct or not, the status, whether the call opened its connection (a turn's first), and the
    /// label; a failed call is a <c>callerr</c> line.
    /// </summary>
    private const string ModelClient = """
        import http.client, json, os, random, sys, time, urllib.parse
        log_dir, me, seed, turn, direct_url, direct_key = sys.argv[1:7]
        rnd = random.Random(f"{seed}-{me}-{turn}")
        out = open(os.path.join(log_dir, me + ".calls"), "a")

        def connect(url):
            u = urllib.parse.urlsplit(url)
            return http.client.HTTPConnection(u.hostname, u.port, timeout=120), u.path.rstrip("/")

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
        """;

    public async Task<int> RunAsync(BenchOptions options)
    {
        // The agents' model client: Debian's python3 (./test.sh installs it), where the agents' own users can run it.
        var python = new[] { "/usr/bin/python3", "/usr/local/bin/python3" }.FirstOrDefault(File.Exists);
        if (python is null)
        {
            Console.Error.WriteLine("swarm: the agents' model client needs python3 at /usr/bin/python3 (apt-get install python3)");
            return 2;
        }
        var agents = options.Agents ?? DefaultAgents;
        var kills = options.Kills ?? DefaultKills;
        var minutes = options.Minutes ?? DefaultMinutes;
        var root = TempRoot("swarm");
        var dataDir = Path.Combine(root, "hive");
        var logDir = Path.Combine(root, "logs");
        Directory.CreateDirectory(logDir);
        // The host runs as root here: its agents run as users of their own and must reach the script and the logs.
        File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(logDir, (UnixFileMode)0b111_111_111);
        var script = Path.Combine(root, "swarm-agent.sh");
        await File.WriteAllTextAsync(script, Script.Replace("\r", ""));
        File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
        var modelClient = Path.Combine(root, "swarm-model.py");
        await File.WriteAllTextAsync(modelClient, ModelClient.Replace("\r", ""));
        File.SetUnixFileMode(modelClient, (UnixFileMode)0b110_100_100);

        PrintHeader("Hive swarm under the harness, its model calls through the gateway", dataDir);
        var loadStart = LoadAverage();
        Console.WriteLine($"agents {agents}   minutes {Stats.F(minutes, 1)}   kills {kills}   seed {options.Seed}   MaxConcurrentTurns {Slots}   " +
                          $"provider MaxInFlight {ProviderSlots}   model client {python}   host: dotnet {HostProcess.HostDll}");
        var secret = "sk-ant-swarm-" + Guid.NewGuid().ToString("N");
        await using var provider = await StreamingProvider.StartAsync(secret);
        string[] args =
        [
            "--Hive:Gateway:Providers:anthropic:Upstream", provider.Url,
            "--Hive:Gateway:Providers:anthropic:MaxInFlight", ProviderSlots.ToString(CultureInfo.InvariantCulture),
            "--Hive:Gateway:Providers:anthropic:Prices:claude-test:InputPerMtok", "3",
            "--Hive:Gateway:Providers:anthropic:Prices:claude-test:OutputPerMtok", "15",
            "--Hive:Governance:MaxConcurrentTurns", Slots.ToString(CultureInfo.InvariantCulture),
            "--Hive:Governance:Budgets:Hive:DailyUsd", "1000000",
            "--Hive:Governance:Budgets:Agent:DailyUsd", "100000",
            "--Hive:Governance:LoopTurns", "0",
            "--Hive:Database:Synchronous", options.Synchronous,
        ];

        var random = new Random(options.Seed);
        var run = new Run(dataDir, logDir);
        HostProcess? host = null;
        using var stop = new CancellationTokenSource();
        Task? operatorLoop = null, sampler = null;
        try
        {
            host = await HostProcess.StartAsync(dataDir, [], extraArgs: args);
            run.Host = host;
            run.Http = host.CreateClient();
            (await run.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = secret })).EnsureSuccessStatusCode();
            var created = Stopwatch.StartNew();
            for (var i = 0; i < agents; i++)
            {
                var name = $"a{i}";
                using var response = await run.Http.PostAsJsonAsync("/api/agents", new
                {
                    name,
                    driver = "process",
                    provider = "anthropic",
                    command = new[] { "hivectl", "run", "--", "/bin/sh", script, logDir, name, options.Seed.ToString(CultureInfo.InvariantCulture),
                        agents.ToString(CultureInfo.InvariantCulture), i.ToString(CultureInfo.InvariantCulture), python, modelClient, provider.Url, provider.DirectKey },
                });
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException($"creating {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            Console.WriteLine($"{agents} agents created in {Stats.F(created.Elapsed.TotalSeconds, 1)} s");

            var duration = TimeSpan.FromMinutes(minutes);
            var killAt = Enumerable.Range(0, kills).Select(_ => duration * (0.1 + 0.8 * random.NextDouble())).Order().ToList();
            var clock = Stopwatch.StartNew();
            run.StartedAt = DateTimeOffset.UtcNow;
            operatorLoop = Task.Run(() => OperatorAsync(run, agents, new Random(options.Seed + 1), stop.Token));
            sampler = Task.Run(() => SampleAsync(run, stop.Token));
            var lastReport = TimeSpan.Zero;
            foreach (var at in killAt.Append(duration))
            {
                while (clock.Elapsed < at)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, Math.Max(1, (at - clock.Elapsed).TotalMilliseconds))));
                    if (clock.Elapsed - lastReport >= TimeSpan.FromSeconds(30))
                    {
                        lastReport = clock.Elapsed;
                        Console.WriteLine($"  +{Stats.F(clock.Elapsed.TotalSeconds, 0)} s: turns started {run.CountStarts()}   operator sent {run.OperatorSent.Count}, errors {run.OperatorErrors} ({run.LastOperatorError})   load {LoadAverage()}");
                    }
                }
                if (at == duration) break;
                run.Sample();
                var down = DateTimeOffset.UtcNow;
                await host.KillAsync();
                run.Kills.Add((down, DateTimeOffset.UtcNow));
                run.Lives.Add(run.Current);
                run.Current = new Life();
                Console.WriteLine($"  +{Stats.F(clock.Elapsed.TotalSeconds, 1)} s: host SIGKILLed");
                var restarted = Stopwatch.StartNew();
                run.Host = null;
                await host.DisposeAsync();
                host = null;
                host = await HostProcess.StartAsync(dataDir, [], extraArgs: args);
                var old = run.Http;
                run.Host = host;
                run.Http = host.CreateClient();
                old.Dispose();
                run.Down.Add((down, DateTimeOffset.UtcNow));
                Console.WriteLine($"  host up again in {Stats.F(restarted.Elapsed.TotalSeconds, 1)} s");
            }
            run.MeasuredSeconds = clock.Elapsed.TotalSeconds;
            var turnsInRun = run.CountStarts();

            // Drain: the agents stop replying (the file), the operator stops feeding mail but keeps answering.
            await File.WriteAllTextAsync(Path.Combine(logDir, "drain"), "");
            run.Draining = true;
            var drain = Stopwatch.StartNew();
            var quiet = 0;
            while (quiet < 3)
            {
                if (drain.Elapsed > DrainLimit) break;
                await Task.Delay(1000);
                quiet = run.Idle() ? quiet + 1 : 0;
            }
            var drained = quiet >= 3;
            Console.WriteLine($"drain: {(drained ? "idle" : "NOT IDLE")} after {Stats.F(drain.Elapsed.TotalSeconds, 1)} s");
            run.Sample();
            await stop.CancelAsync();
            await operatorLoop;
            await sampler;
            var walAtEnd = FileSize(Path.Combine(dataDir, "hive.db-wal"));
            var dbAtEnd = FileSize(Path.Combine(dataDir, "hive.db"));
            await host.TerminateAsync(TimeSpan.FromSeconds(60));
            run.Lives.Add(run.Current);

            var result = Analyse(run, agents, kills, minutes, options.Seed, turnsInRun, drained, drain.Elapsed.TotalSeconds, dbAtEnd, walAtEnd, loadStart);
            var (model, modelGreen) = ModelCalls(run, provider);
            result["model_calls"] = model;
            result["peak_rss_goal_met"] = result["host"]!["peak_rss_mib"]!.GetValue<double>() < RssGoalMib;
            result["green"] = result["green"]!.GetValue<bool>() && modelGreen;
            var json = result.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            var markdown = Markdown(result);
            await File.WriteAllTextAsync("swarm-result.json", json + "\n");
            await File.WriteAllTextAsync("swarm-result.md", markdown);
            Console.WriteLine();
            Console.WriteLine(markdown);
            Console.WriteLine($"written: {Path.GetFullPath("swarm-result.json")} and {Path.GetFullPath("swarm-result.md")}");
            var ok = result["green"]!.GetValue<bool>();
            var addedP99 = model["gateway_added_first_byte_ms"]?["p99"]?.GetValue<double>();
            Console.WriteLine($"GOAL host peak RSS < {RssGoalMib} MiB: {(result["peak_rss_goal_met"]!.GetValue<bool>() ? "met" : "MISSED")} ({result["host"]!["peak_rss_mib"]} MiB)");
            Console.WriteLine($"GOAL gateway's added time to first byte p99 < {AddedFirstByteGoalMs} ms: " +
                              $"{(model["gateway_added_first_byte_goal_met"]!.GetValue<bool>() ? "met" : "MISSED")} ({(addedP99 is { } p ? Stats.F(p, 3) + " ms" : "no calls")})");
            Console.WriteLine($"verdict: {(ok ? "green (0 lost, duplicates only as flagged redeliveries, drained; model calls metered = served, none twice, but those cut by a kill)" : "FAILED")}");
            return ok ? 0 : 1;
        }
        finally
        {
            await stop.CancelAsync();
            try { if (operatorLoop is not null) await operatorLoop; } catch (Exception e) { Console.WriteLine($"operator: {e.Message}"); }
            try { if (sampler is not null) await sampler; } catch (Exception e) { Console.WriteLine($"sampler: {e.Message}"); }
            if (host is not null)
            {
                try { if (!host.HasExited) await host.TerminateAsync(TimeSpan.FromSeconds(60)); }
                catch (Exception e) { Console.WriteLine($"SIGTERM of the host failed ({e.Message}): SIGKILL"); }
                await host.DisposeAsync();
            }
            run.Http?.Dispose();
            SqliteConnection.ClearAllPools();
            RemoveOrKeep(root, options.Keep);
        }
    }

    private sealed class Life
    {
        public double CpuSeconds;
        public long PeakRssKb;
    }

    /// <summary>The state shared by the main loop, the scripted operator and the sampler.</summary>
    private sealed class Run(string dataDir, string logDir)
    {
        public string DataDir { get; } = dataDir;
        public string LogDir { get; } = logDir;
        public volatile HostProcess? Host;
        public volatile HttpClient? Http;
        public volatile bool Draining;
        public DateTimeOffset StartedAt;
        public double MeasuredSeconds;
        public Life Current = new();
        public List<Life> Lives { get; } = [];
        public List<(DateTimeOffset From, DateTimeOffset To)> Down { get; } = [];

        /// <summary>Each SIGKILL of the host: just before it was sent, and once the host was gone.</summary>
        public List<(DateTimeOffset Sent, DateTimeOffset Gone)> Kills { get; } = [];
        public long PeakWal;
        public long PeakDb;
        public HashSet<string> OperatorSent { get; } = [];
        public int QuestionsAnswered;
        public int OperatorErrors;
        public string? LastOperatorError;

        public void Failed(string why)
        {
            Interlocked.Increment(ref OperatorErrors);
            LastOperatorError = why;
        }

        public void Sample()
        {
            try
            {
                if (Host is not { HasExited: false } host) return;
                var stat = File.ReadAllText($"/proc/{host.ProcessId}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                // utime and stime: fields 14 and 15 of stat, 12 and 13 after the ')' split; clock ticks of 1/100 s.
                Current.CpuSeconds = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
                foreach (var line in File.ReadLines($"/proc/{host.ProcessId}/status"))
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                        Current.PeakRssKb = Math.Max(Current.PeakRssKb, long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException) { }
            PeakWal = Math.Max(PeakWal, FileSize(Path.Combine(DataDir, "hive.db-wal")));
            PeakDb = Math.Max(PeakDb, FileSize(Path.Combine(DataDir, "hive.db")));
        }

        public int CountStarts() =>
            Directory.EnumerateFiles(LogDir, "*.log").Sum(f => ReadLines(f).Count(l => l.StartsWith("start ", StringComparison.Ordinal)));

        /// <summary>No mail waiting for an agent, no reminder due, no open question, no turn running.</summary>
        public bool Idle()
        {
            try
            {
                return Scalar(DataDir, "SELECT count(*) FROM messages WHERE delivered_at IS NULL AND recipient GLOB 'a[0-9]*'") == 0
                       && Scalar(DataDir, "SELECT count(*) FROM reminders") == 0
                       && Scalar(DataDir, "SELECT count(*) FROM questions WHERE answered_at IS NULL") == 0
                       && Scalar(DataDir, "SELECT count(*) FROM governed_turns WHERE ended_at IS NULL") == 0;
            }
            catch (SqliteException)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// The scripted operator, once a second: answers every open question (body <c>swarm ans-&lt;question id&gt;</c>) and,
    /// until the drain, keeps as many messages waiting for agents as there are agents (bodies <c>swarm op-&lt;k&gt;</c>).
    /// A refused or failed call (the host is down) is tried again on the next round.
    /// </summary>
    private static async Task OperatorAsync(Run run, int agents, Random random, CancellationToken ct)
    {
        var next = 0;
        while (!ct.IsCancellationRequested)
        {
            if (run.Http is { } http)
            {
                await AttemptAsync(run, async () =>
                {
                    var questions = await http.GetFromJsonAsync<JsonObject>("/api/questions?pending_limit=500&limit=1", ct);
                    foreach (var q in questions?["pending"]?.AsArray() ?? [])
                    {
                        var id = q!["id"]!.GetValue<long>();
                        using var answered = await http.PostAsJsonAsync($"/api/questions/{id}/answer", new { answer = $"swarm ans-{id}" }, ct);
                        if (answered.IsSuccessStatusCode) Interlocked.Increment(ref run.QuestionsAnswered);
                        else run.Failed($"answer {id}: {(int)answered.StatusCode} {await answered.Content.ReadAsStringAsync(ct)}");
                    }
                }, ct);
                if (!run.Draining)
                    await AttemptAsync(run, async () =>
                    {
                        var waiting = Scalar(run.DataDir, "SELECT count(*) FROM messages WHERE delivered_at IS NULL AND recipient GLOB 'a[0-9]*'");
                        for (var i = waiting; i < agents && !ct.IsCancellationRequested; i++)
                        {
                            var uid = $"op-{next++}";
                            using var sent = await http.PostAsJsonAsync("/api/messages",
                                new { to = $"a{random.Next(agents)}", body = $"swarm {uid}", client_id = uid }, ct);
                            if (sent.IsSuccessStatusCode) lock (run.OperatorSent) run.OperatorSent.Add(uid);
                            else run.Failed($"send {uid}: {(int)sent.StatusCode} {await sent.Content.ReadAsStringAsync(ct)}");
                        }
                    }, ct);
            }
            try { await Task.Delay(1000, ct); } catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>One step of the operator; a failure (the host is down, say) is counted and the step tried again next round.</summary>
    private static async Task AttemptAsync(Run run, Func<Task> step, CancellationToken ct)
    {
        try
        {
            await step();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or SqliteException or JsonException or ObjectDisposedException
                                      or InvalidOperationException)
        {
            run.Failed(e.GetType().Name + ": " + e.Message);
        }
    }

    private static async Task SampleAsync(Run run, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            run.Sample();
            try { await Task.Delay(1000, ct); } catch (OperationCanceledException) { break; }
        }
    }

    private sealed record Row(long Id, string Sender, string Recipient, string Kind, string Uid, DateTimeOffset SentAt, bool Delivered);
    private sealed record Sighting(string Agent, long StartNs, long Id, bool Redelivered);

    private static JsonObject Analyse(Run run, int agents, int kills, double minutes, int seed, int turnsInRun, bool drained, double drainSeconds,
        long dbAtEnd, long walAtEnd, string loadStart)
    {
        // What the database holds (it survived every kill): every swarm body.
        var rows = new List<Row>();
        using (var connection = Open(run.DataDir))
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT id, sender, recipient, kind, body, sent_at, delivered_at IS NOT NULL FROM messages WHERE body LIKE 'swarm %'";
            using var reader = command.ExecuteReader();
            while (reader.Read())
                rows.Add(new Row(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)["swarm ".Length..],
                    DateTimeOffset.Parse(reader.GetString(5), CultureInfo.InvariantCulture), reader.GetInt64(6) == 1));
        }
        var questionsAsked = Scalar(run.DataDir, "SELECT count(*) FROM questions WHERE asker LIKE 'a%'");
        var governedTurns = Scalar(run.DataDir, "SELECT count(*) FROM governed_turns");
        var turnsByEnd = new JsonObject();
        using (var connection = Open(run.DataDir))
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT coalesce(end_reason, 'open'), count(*) FROM governed_turns GROUP BY 1";
            using var reader = command.ExecuteReader();
            while (reader.Read()) turnsByEnd[reader.GetString(0)] = reader.GetInt64(1);
        }

        // What the agents' COMMANDs logged.
        var sightings = new List<Sighting>();
        var starts = new Dictionary<string, List<(long Start, long? End)>>();
        var ackedSends = new HashSet<string>();
        foreach (var file in Directory.EnumerateFiles(run.LogDir, "*.log"))
        {
            var agent = Path.GetFileNameWithoutExtension(file);
            var agentTurns = starts[agent] = [];
            foreach (var line in ReadLines(file))
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

        var byId = sightings.GroupBy(s => s.Id).ToDictionary(g => g.Key, g => g.OrderBy(s => s.StartNs).ToList());
        var toAgents = rows.Where(r => r.Recipient != "operator").ToList();
        var toOperator = rows.Where(r => r.Recipient == "operator").ToList();
        var lostToAgents = toAgents.Where(r => !byId.ContainsKey(r.Id)).ToList();
        var uids = rows.Select(r => r.Uid).ToHashSet();
        var ackedMissing = ackedSends.Where(u => !uids.Contains(u)).ToList();
        List<string> operatorMissing;
        lock (run.OperatorSent) operatorMissing = run.OperatorSent.Where(u => !uids.Contains(u)).ToList();
        var committedTwice = rows.GroupBy(r => (r.Recipient, r.Uid)).Count(g => g.Count() > 1);
        var duplicated = byId.Values.Where(s => s.Count > 1).ToList();
        var unflagged = duplicated.Count(s => s.Skip(1).Any(x => !x.Redelivered));
        var lost = lostToAgents.Count + ackedMissing.Count + operatorMissing.Count;

        // Wake latency: a message's sent_at -> the start of the COMMAND first handed it.
        var rowsById = toAgents.ToDictionary(r => r.Id);
        var wakes = byId.Where(kv => rowsById.ContainsKey(kv.Key))
            .Select(kv => (kv.Value[0].StartNs / 1_000_000.0) - rowsById[kv.Key].SentAt.ToUnixTimeMilliseconds()).ToList();
        var wake = Latency.Of(wakes.Count == 0 ? [0.0] : wakes);

        // The longest stall: a span in which an agent had mail waiting (sent, not yet handed to a COMMAND) and no COMMAND running.
        var stall = (Seconds: 0.0, Agent: "", From: 0L);
        foreach (var agentRows in toAgents.GroupBy(r => r.Recipient))
        {
            var waiting = agentRows.Where(r => byId.ContainsKey(r.Id))
                .Select(r => (From: r.SentAt.ToUnixTimeMilliseconds() * 1_000_000, To: byId[r.Id][0].StartNs)).Where(w => w.To > w.From).ToList();
            var running = starts.GetValueOrDefault(agentRows.Key, []).Select(t => (From: t.Start, To: t.End ?? t.Start)).ToList();
            foreach (var gap in Subtract(Merge(waiting), Merge(running)))
                if ((gap.To - gap.From) / 1e9 > stall.Seconds) stall = ((gap.To - gap.From) / 1e9, agentRows.Key, gap.From);
        }
        var stallAt = stall.From == 0 ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeMilliseconds(stall.From / 1_000_000);
        var stallInDown = stallAt is { } s0 && run.Down.Any(d => s0 <= d.To && s0.AddSeconds(stall.Seconds) >= d.From);

        var cpu = run.Lives.Sum(l => l.CpuSeconds);
        var peakRss = run.Lives.Count == 0 ? 0 : run.Lives.Max(l => l.PeakRssKb);
        var turns = starts.Values.Sum(x => x.Count);
        var green = lost == 0 && unflagged == 0 && committedTwice == 0 && drained && turns > 0;

        return new JsonObject
        {
            ["mode"] = "swarm",
            ["agents"] = agents,
            ["minutes"] = minutes,
            ["kills"] = kills,
            ["seed"] = seed,
            ["max_concurrent_turns"] = Slots,
            ["machine"] = Machine(loadStart),
            ["messages"] = new JsonObject
            {
                ["sent"] = rows.Count,
                ["sent_by_kind"] = new JsonObject(rows.GroupBy(r => r.Kind).OrderBy(g => g.Key).Select(g => KeyValuePair.Create(g.Key, (JsonNode?)g.Count()))),
                ["sent_by_agents_acknowledged"] = ackedSends.Count,
                ["sent_by_operator"] = run.OperatorSent.Count,
                ["to_operator"] = toOperator.Count,
                ["delivered"] = toAgents.Count - lostToAgents.Count + toOperator.Count,
                ["delivered_to_a_command"] = toAgents.Count - lostToAgents.Count,
                ["lost"] = lost,
                ["lost_never_handed_to_a_command"] = lostToAgents.Count,
                ["lost_acknowledged_send_missing"] = ackedMissing.Count + operatorMissing.Count,
                ["duplicated"] = duplicated.Count,
                ["duplicated_flagged_redelivered"] = duplicated.Count - unflagged,
                ["duplicated_unflagged"] = unflagged,
                ["committed_twice"] = committedTwice,
                ["lost_ids"] = new JsonArray(lostToAgents.Take(20).Select(r => (JsonNode?)$"{r.Id} {r.Sender}->{r.Recipient} {r.Uid}").ToArray()),
            },
            ["questions"] = new JsonObject { ["asked"] = questionsAsked, ["answered_by_operator"] = run.QuestionsAnswered },
            ["wake_latency_ms"] = new JsonObject
            {
                ["n"] = wakes.Count, ["p50"] = Math.Round(wake.P50, 1), ["p90"] = Math.Round(wake.P90, 1), ["p99"] = Math.Round(wake.P99, 1),
                ["max"] = Math.Round(wake.Max, 1),
            },
            ["turns"] = new JsonObject
            {
                ["started_in_run"] = turnsInRun,
                ["started_total"] = turns,
                ["per_minute"] = Math.Round(turnsInRun / Math.Max(1e-9, run.MeasuredSeconds / 60), 1),
                ["governed"] = governedTurns,
                ["governed_by_end"] = turnsByEnd,
            },
            ["host"] = new JsonObject
            {
                ["lives"] = run.Lives.Count,
                ["cpu_seconds"] = Math.Round(cpu, 1),
                ["cpu_percent_of_one_core"] = Math.Round(100 * cpu / Math.Max(1e-9, run.MeasuredSeconds + drainSeconds), 1),
                ["peak_rss_mib"] = Math.Round(peakRss / 1024.0, 1),
                ["restart_seconds"] = new JsonArray(run.Down.Select(d => (JsonNode?)Math.Round((d.To - d.From).TotalSeconds, 1)).ToArray()),
            },
            ["sqlite"] = new JsonObject
            {
                ["db_bytes_end"] = dbAtEnd, ["wal_bytes_end"] = walAtEnd, ["db_bytes_peak"] = run.PeakDb, ["wal_bytes_peak"] = run.PeakWal,
            },
            ["longest_stall"] = new JsonObject
            {
                ["seconds"] = Math.Round(stall.Seconds, 2),
                ["agent"] = stall.Agent,
                ["at"] = stallAt?.ToString("O", CultureInfo.InvariantCulture),
                ["overlaps_a_host_restart"] = stallInDown,
            },
            ["run_seconds"] = Math.Round(run.MeasuredSeconds, 1),
            ["drain_seconds"] = Math.Round(drainSeconds, 1),
            ["drained"] = drained,
            ["operator_errors"] = run.OperatorErrors,
            ["operator_last_error"] = run.LastOperatorError,
            ["load_end"] = LoadAverage(),
            ["green"] = green,
        };
    }

    private sealed record ClientCall(long Serial, double FirstByteMs, int Deltas, bool Stopped, bool Direct, int Status, bool Fresh, string Label);

    /// <summary>
    /// The model calls, three ways: what the provider served (<see cref="StreamingProvider.Calls"/>, by serial), what the host
    /// metered (its <c>model_calls</c> rows; a complete row's input tokens are the serial of the call it booked), and what the
    /// agents' client saw (<c>&lt;agent&gt;.calls</c>). Served and metered must be the same calls, none booked twice, except
    /// calls cut by a kill: served whole by the provider but ended at most <see cref="BookingWindow"/> before a SIGKILL of the
    /// host, which died before booking them (their rows are left open and marked interrupted at the next start, or there
    /// is none: a call is written once, at its end, unless it is still streaming half a second after its first byte). The
    /// gateway's added time to first byte of a call is the client's time to the response's first byte minus the provider's
    /// own, from the request's arrival to its first byte written; the same difference for the calls the client made
    /// straight to the provider is this measurement's floor (the client and the loopback, no gateway).
    /// </summary>
    private static (JsonObject Result, bool Green) ModelCalls(Run run, StreamingProvider provider)
    {
        var providerCalls = provider.Calls;
        var viaGateway = providerCalls.Where(c => !c.Direct).ToDictionary(c => c.Serial);
        var served = viaGateway.Values.Where(c => c.Served).ToDictionary(c => c.Serial);

        var rowsByState = new JsonObject();
        var complete = new List<(long Serial, double? FirstByteMs)>();
        using (var connection = Open(run.DataDir))
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT state, input_tokens, first_byte_ms FROM model_calls WHERE provider = 'anthropic'";
            using var reader = command.ExecuteReader();
            var states = new SortedDictionary<string, int>(StringComparer.Ordinal);
            while (reader.Read())
            {
                var state = reader.GetString(0);
                states[state] = states.GetValueOrDefault(state) + 1;
                if (state == "complete") complete.Add((reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetDouble(2)));
            }
            foreach (var (state, n) in states) rowsByState[state] = n;
        }
        var metered = complete.GroupBy(c => c.Serial).ToDictionary(g => g.Key, g => g.ToList());
        var bookedTwice = metered.Count(m => m.Value.Count > 1);
        var meteredNotServed = metered.Keys.Count(k => !served.ContainsKey(k));
        var cutByKill = new List<(StreamingProvider.Call Call, double SecondsBeforeKill)>();
        var unbooked = new List<StreamingProvider.Call>();
        foreach (var call in served.Values.Where(c => !metered.ContainsKey(c.Serial)).OrderBy(c => c.Serial))
        {
            var kill = run.Kills.Where(k => call.EndedAt <= k.Gone && call.EndedAt >= k.Sent - BookingWindow).Select(k => (DateTimeOffset?)k.Sent).FirstOrDefault();
            if (kill is { } sent) cutByKill.Add((call, (sent - call.EndedAt).TotalSeconds));
            else unbooked.Add(call);
        }

        var clientCalls = new List<ClientCall>();
        var clientErrors = 0;
        string? lastClientError = null;
        foreach (var file in Directory.EnumerateFiles(run.LogDir, "*.calls"))
            foreach (var line in ReadLines(file))
            {
                var parts = line.Split(' ', 9);
                if (parts[0] == "callerr")
                {
                    clientErrors++;
                    lastClientError = line;
                }
                else if (parts is ["call", var serial, var micros, var deltas, var stop, var direct, var status, var fresh, var label] && long.TryParse(serial, out var s))
                    clientCalls.Add(new ClientCall(s, long.Parse(micros, CultureInfo.InvariantCulture) / 1000.0, int.Parse(deltas, CultureInfo.InvariantCulture),
                        stop == "1", direct == "1", int.Parse(status, CultureInfo.InvariantCulture), fresh == "1", label));
            }
        var clientViaGateway = clientCalls.Where(c => !c.Direct).ToList();
        var matched = clientViaGateway.Where(c => viaGateway.TryGetValue(c.Serial, out var p) && !double.IsNaN(p.FirstByteMs)).ToList();
        var added = matched.Select(c => c.FirstByteMs - viaGateway[c.Serial].FirstByteMs).ToList();
        var addedFresh = matched.Where(c => c.Fresh).Select(c => c.FirstByteMs - viaGateway[c.Serial].FirstByteMs).ToList();
        var addedReused = matched.Where(c => !c.Fresh).Select(c => c.FirstByteMs - viaGateway[c.Serial].FirstByteMs).ToList();
        var byId = providerCalls.Where(c => c.Direct).ToDictionary(c => c.Serial);
        var floor = clientCalls.Where(c => c.Direct && byId.TryGetValue(c.Serial, out var p) && !double.IsNaN(p.FirstByteMs))
            .Select(c => c.FirstByteMs - byId[c.Serial].FirstByteMs).ToList();
        // Where the added time goes: the host's own (its row's first byte, from the call's arrival at the host, minus the
        // provider's) and the rest (the client, the forwarding port in front of the agent, the door's socket).
        var hostFirstByte = metered.Where(m => m.Value[0].FirstByteMs is not null).ToDictionary(m => m.Key, m => m.Value[0].FirstByteMs!.Value);
        var inHost = hostFirstByte.Where(h => served.ContainsKey(h.Key)).Select(h => h.Value - served[h.Key].FirstByteMs).ToList();
        var outsideHost = clientViaGateway.Where(c => hostFirstByte.ContainsKey(c.Serial)).Select(c => c.FirstByteMs - hostFirstByte[c.Serial]).ToList();
        var providerFirstByte = viaGateway.Values.Where(c => !double.IsNaN(c.FirstByteMs)).Select(c => c.FirstByteMs).ToList();

        JsonObject Figures(List<double> values)
        {
            var l = Latency.Of(values.Count == 0 ? [double.NaN] : values);
            return values.Count == 0
                ? new JsonObject { ["n"] = 0 }
                : new JsonObject
                {
                    ["n"] = values.Count, ["p50"] = Math.Round(l.P50, 3), ["p90"] = Math.Round(l.P90, 3), ["p99"] = Math.Round(l.P99, 3), ["max"] = Math.Round(l.Max, 3),
                };
        }
        var addedFigures = Figures(added);
        var addedP99 = added.Count == 0 ? double.NaN : addedFigures["p99"]!.GetValue<double>();
        var equal = bookedTwice == 0 && meteredNotServed == 0 && unbooked.Count == 0;
        var green = served.Count > 0 && equal;
        return (new JsonObject
        {
            ["provider_max_in_flight"] = ProviderSlots,
            ["provider_peak_in_flight"] = provider.PeakInFlight,
            ["received_via_gateway"] = viaGateway.Count,
            ["served"] = served.Count,
            ["cut_at_the_provider"] = viaGateway.Count - served.Count,
            ["metered_complete"] = metered.Count,
            ["host_rows_by_state"] = rowsByState,
            ["booked_twice"] = bookedTwice,
            ["metered_not_served"] = meteredNotServed,
            ["served_cut_by_a_kill"] = cutByKill.Count,
            ["served_cut_by_a_kill_seconds_before_it"] = new JsonArray(cutByKill.Select(c => (JsonNode?)Math.Round(c.SecondsBeforeKill, 3)).ToArray()),
            ["served_not_metered_outside_kills"] = unbooked.Count,
            ["served_not_metered_outside_kills_labels"] = new JsonArray(unbooked.Take(20).Select(c => (JsonNode?)$"{c.Serial} {c.Label} {c.EndedAt:O}").ToArray()),
            ["metered_equals_served_minus_cut_by_kills"] = equal && metered.Count == served.Count - cutByKill.Count,
            ["client_calls"] = clientViaGateway.Count,
            ["client_calls_whole"] = clientViaGateway.Count(c => c.Stopped),
            ["client_calls_not_200"] = clientViaGateway.Count(c => c.Status != 200),
            ["client_errors"] = clientErrors,
            ["client_last_error"] = lastClientError,
            ["client_direct_calls"] = clientCalls.Count(c => c.Direct),
            ["provider_first_byte_ms"] = Figures(providerFirstByte),
            ["gateway_added_first_byte_ms"] = addedFigures,
            ["gateway_added_first_byte_goal_met"] = added.Count > 0 && addedP99 < AddedFirstByteGoalMs,
            ["gateway_added_first_byte_new_connection_ms"] = Figures(addedFresh),
            ["gateway_added_first_byte_kept_alive_ms"] = Figures(addedReused),
            ["direct_added_first_byte_ms"] = Figures(floor),
            ["added_in_host_ms"] = Figures(inHost),
            ["added_outside_host_ms"] = Figures(outsideHost),
        }, green);
    }

    private static JsonObject Machine(string loadStart)
    {
        string Read(string path) { try { return File.ReadAllText(path).Trim(); } catch (IOException) { return "unknown"; } }
        var memKb = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
        return new JsonObject
        {
            ["cores"] = Environment.ProcessorCount,
            ["cpu"] = model,
            ["ram_gib"] = memKb is null ? null : Math.Round(long.Parse(memKb, CultureInfo.InvariantCulture) / 1024.0 / 1024.0, 1),
            ["kernel"] = Read("/proc/sys/kernel/osrelease"),
            ["runtime"] = $".NET {Environment.Version}",
            ["build"] = BuildConfiguration,
            ["load_start"] = loadStart,
        };
    }

    private static string Markdown(JsonObject r)
    {
        var m = r["messages"]!;
        var w = r["wake_latency_ms"]!;
        var t = r["turns"]!;
        var h = r["host"]!;
        var q = r["sqlite"]!;
        var s = r["longest_stall"]!;
        var machine = r["machine"]!;
        string Mib(JsonNode? bytes) => Stats.F(bytes!.GetValue<long>() / 1024.0 / 1024.0, 1) + " MiB";
        var text = new StringBuilder();
        text.AppendLine($"### `bench -- swarm --minutes {r["minutes"]} --agents {r["agents"]} --kills {r["kills"]} --seed {r["seed"]}` ({(r["green"]!.GetValue<bool>() ? "green" : "FAILED")})");
        text.AppendLine();
        text.AppendLine($"Machine: {machine["cores"]} cores ({machine["cpu"]}), {machine["ram_gib"]} GiB RAM, Linux {machine["kernel"]}, {machine["runtime"]}, {machine["build"]} build; " +
                        $"load average {machine["load_start"]} at start, {r["load_end"]} at the end.");
        text.AppendLine();
        text.AppendLine("| figure | value |");
        text.AppendLine("|---|---|");
        text.AppendLine($"| messages sent (committed; by kind) | {m["sent"]} ({string.Join(", ", m["sent_by_kind"]!.AsObject().Select(k => $"{k.Key} {k.Value}"))}); agents' acknowledged sends {m["sent_by_agents_acknowledged"]}, operator's {m["sent_by_operator"]}, questions answered {r["questions"]!["answered_by_operator"]} of {r["questions"]!["asked"]} |");
        text.AppendLine($"| delivered | {m["delivered"]} ({m["delivered_to_a_command"]} handed to a COMMAND, {m["to_operator"]} in the operator's inbox) |");
        text.AppendLine($"| lost | **{m["lost"]}** (never handed out {m["lost_never_handed_to_a_command"]}, acknowledged send not in the database {m["lost_acknowledged_send_missing"]}) |");
        text.AppendLine($"| duplicated | {m["duplicated"]} (flagged `redelivered` {m["duplicated_flagged_redelivered"]}, unflagged **{m["duplicated_unflagged"]}**; bodies committed twice {m["committed_twice"]}) |");
        text.AppendLine($"| wake latency, send → COMMAND started | p50 {w["p50"]} ms, p90 {w["p90"]} ms, p99 {w["p99"]} ms, max {w["max"]} ms (n={w["n"]}) |");
        text.AppendLine($"| turns per minute | {t["per_minute"]} ({t["started_in_run"]} turns in {r["run_seconds"]} s; {t["started_total"]} with the drain; governed turns by end: {string.Join(", ", t["governed_by_end"]!.AsObject().Select(k => $"{k.Key} {k.Value}"))}) |");
        text.AppendLine($"| host CPU | {h["cpu_seconds"]} s over {h["lives"]} lives ({h["cpu_percent_of_one_core"]} % of one core) |");
        text.AppendLine($"| host peak RSS | {h["peak_rss_mib"]} MiB (largest life's VmHWM) |");
        text.AppendLine($"| host restarts (SIGKILL → ready) | {(h["restart_seconds"]!.AsArray().Count == 0 ? "none" : string.Join(", ", h["restart_seconds"]!.AsArray().Select(x => $"{x} s")))} |");
        text.AppendLine($"| SQLite `hive.db` / WAL | end {Mib(q["db_bytes_end"])} / {Mib(q["wal_bytes_end"])}; peak {Mib(q["db_bytes_peak"])} / {Mib(q["wal_bytes_peak"])} |");
        text.AppendLine($"| longest stall with work waiting | {s["seconds"]} s ({s["agent"]} at {s["at"]}{(s["overlaps_a_host_restart"]!.GetValue<bool>() ? ", across a host restart" : "")}) |");
        text.AppendLine($"| drain (agents stop replying → idle) | {r["drain_seconds"]} s{(r["drained"]!.GetValue<bool>() ? "" : " — NOT IDLE")} |");
        if (r["model_calls"] is JsonObject c)
        {
            string L(JsonNode? f) => f!["n"]!.GetValue<int>() == 0 ? "none" : $"p50 {f["p50"]} ms, p90 {f["p90"]} ms, p99 {f["p99"]} ms, max {f["max"]} ms (n={f["n"]})";
            text.AppendLine($"| model calls served (provider, whole streams) | {c["served"]} of {c["received_via_gateway"]} received through the gateway ({c["cut_at_the_provider"]} cut while streaming); " +
                            $"provider's peak in flight {c["provider_peak_in_flight"]} (max_in_flight {c["provider_max_in_flight"]}) |");
            text.AppendLine($"| model calls metered (host, complete rows) | {c["metered_complete"]} (rows by state: {string.Join(", ", c["host_rows_by_state"]!.AsObject().Select(k => $"{k.Key} {k.Value}"))}); " +
                            $"booked twice **{c["booked_twice"]}**, metered not served **{c["metered_not_served"]}** |");
            var before = c["served_cut_by_a_kill_seconds_before_it"]!.AsArray();
            text.AppendLine($"| served, not metered | cut by a kill {c["served_cut_by_a_kill"]}{(before.Count == 0 ? "" : $" (ended {string.Join(", ", before.Select(x => $"{x} s"))} before the SIGKILL)")}, " +
                            $"elsewhere **{c["served_not_metered_outside_kills"]}**; metered = served − cut by kills: {c["metered_equals_served_minus_cut_by_kills"]} |");
            text.AppendLine($"| the agents' client | {c["client_calls"]} calls through the gateway ({c["client_calls_whole"]} read whole, {c["client_calls_not_200"]} not 200), {c["client_errors"]} failed, {c["client_direct_calls"]} straight to the provider |");
            text.AppendLine($"| provider's request → first byte | {L(c["provider_first_byte_ms"])} |");
            text.AppendLine($"| gateway's added time to first byte (client's − provider's) | {L(c["gateway_added_first_byte_ms"])} |");
            text.AppendLine($"| … a turn's first call (opens its connection) | {L(c["gateway_added_first_byte_new_connection_ms"])} |");
            text.AppendLine($"| … its later calls (the connection kept alive) | {L(c["gateway_added_first_byte_kept_alive_ms"])} |");
            text.AppendLine($"| … of it in the host (its row's first byte − provider's) | {L(c["added_in_host_ms"])} |");
            text.AppendLine($"| … the rest (client, forwarding port, door) | {L(c["added_outside_host_ms"])} |");
            text.AppendLine($"| the same measured on direct calls (the floor: client, loopback) | {L(c["direct_added_first_byte_ms"])} |");
        }
        return text.ToString();
    }

    private static List<(long From, long To)> Merge(IEnumerable<(long From, long To)> spans)
    {
        var merged = new List<(long From, long To)>();
        foreach (var span in spans.Where(x => x.To > x.From).OrderBy(x => x.From))
            if (merged.Count > 0 && span.From <= merged[^1].To) merged[^1] = (merged[^1].From, Math.Max(merged[^1].To, span.To));
            else merged.Add(span);
        return merged;
    }

    /// <summary>The parts of the (merged) spans <paramref name="from"/> not covered by the (merged) spans <paramref name="minus"/>.</summary>
    private static IEnumerable<(long From, long To)> Subtract(List<(long From, long To)> from, List<(long From, long To)> minus)
    {
        var j = 0;
        foreach (var (start, end) in from)
        {
            var cursor = start;
            while (j < minus.Count && minus[j].To <= cursor) j++;
            var k = j;
            while (k < minus.Count && minus[k].From < end)
            {
                if (minus[k].From > cursor) yield return (cursor, minus[k].From);
                cursor = Math.Max(cursor, minus[k].To);
                k++;
            }
            if (cursor < end) yield return (cursor, end);
        }
    }

    private static IEnumerable<string> ReadLines(string file)
    {
        // An agent may be writing its log: a torn last line is skipped.
        return File.ReadAllText(file).Split('\n')[..^1];
    }

    private static long FileSize(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    private static SqliteConnection Open(string dataDir) => HiveDatabase.Open(dataDir);

    private static long Scalar(string dataDir, string sql) => HiveDatabase.Scalar(dataDir, sql);
}
