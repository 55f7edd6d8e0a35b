using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Hive.Tests.Host;

/// <summary>
/// <c>Hive:Metrics:Urls</c>: the built host serves Prometheus text on a listener of its own after a scripted workload
/// over the agents' sockets and HTTP, checked by Prometheus' own parser (promtool, fetched by test.sh); the dashboard's
/// port has no <c>/metrics</c>, and with the setting absent the host opens no second port.
/// </summary>
public sealed partial class MetricsTests : IAsyncLifetime
{
    private const string SecretBody = "zebra-7f3a-only-in-a-body";

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-metrics-" + Guid.NewGuid().ToString("N")[..12]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Serves_every_series_on_its_own_port_after_a_workload()
    {
        var promtool = Promtool(); // first: without the parser this test cannot pass
        var metricsPort = HostProcess.FreePort();
        await using var host = await HostProcess.StartAsync(_dataDir, ["alice", "bob"], extraArgs:
        [
            "--Hive:Metrics:Urls", $"http://127.0.0.1:{metricsPort}",
            // Short enough to see a redelivery and a message set aside within the test.
            "--Hive:Messages:AckTimeoutSeconds", "0.4", "--Hive:Messages:MaxDeliveries", "2",
            "--Hive:Reminders:TickSeconds", "0.2",
            "--Hive:Notifications:Channels:phone:Type", "ntfy", "--Hive:Notifications:Channels:phone:Url", "http://127.0.0.1:9/hive",
        ]);
        await using var alice = await host.ConnectAsync("alice");
        await using var bob = await host.ConnectAsync("bob");
        using var http = host.CreateClient();
        await using var stream = await SseStream.OpenAsync(host.BaseAddress, host.Token);

        // Messages: three sent; the first acknowledged; the second handed out twice unacknowledged (a redelivery) and then
        // set aside by the next look, which hands out the third (acknowledged).
        var first = await alice.SendAsync("bob", "first");
        var second = await alice.SendAsync("bob", $"second {SecretBody}");
        var third = await alice.SendAsync("bob", "third");
        Assert.Equal(first, (await bob.RecvAndAckAsync())!.Value.GetProperty("id").GetInt64());
        Assert.Equal(second, (await bob.RecvAsync())!.Value.GetProperty("id").GetInt64());
        await Task.Delay(600);
        var again = (await bob.RecvAsync())!.Value;
        Assert.True(again.GetProperty("redelivered").GetBoolean());
        await Task.Delay(600);
        Assert.Equal(third, (await bob.RecvAndAckAsync())!.Value.GetProperty("id").GetInt64());

        // A turn held (bob paused by the operator) and one granted, recorded with tokens and cost; a reminder delivered.
        using (var pause = await http.PostAsync("/api/governance/agents/bob/pause", null)) Assert.Equal(HttpStatusCode.OK, pause.StatusCode);
        var held = AgentClient.Ok(await bob.CallAsync(new { op = "begin_turn", wait_ms = 100 }));
        Assert.Equal("paused", held.GetProperty("held").GetProperty("reason").GetString());
        var turnId = AgentClient.Ok(await alice.CallAsync(new { op = "begin_turn", wait_ms = 5000 })).GetProperty("turn_id").GetInt64();
        AgentClient.Ok(await alice.CallAsync(new { op = "remind", body = "tick", in_seconds = 0.2 }));
        AgentClient.Ok(await alice.CallAsync(new Dictionary<string, object?>
        {
            ["op"] = "record_turn", ["turn_id"] = turnId, ["model"] = "claude-test", ["result_kind"] = "ok",
            ["started_at"] = DateTimeOffset.UtcNow.AddSeconds(-3).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            ["ended_at"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            ["input_tokens"] = 100, ["output_tokens"] = 20, ["cache_read_tokens"] = 5, ["cache_creation_tokens"] = 0, ["cost_usd"] = 0.25,
        }));

        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}"), Timeout = TimeSpan.FromSeconds(30) };
        var text = "";
        await HiveInstance.Until(() =>
        {
            text = metrics.GetStringAsync("/metrics").GetAwaiter().GetResult();
            return Value(text, "hive_reminders_delivered_total", "agent=\"alice\"") == 1;
        }, TimeSpan.FromSeconds(15), "the reminder's delivery in the exposition");

        using (var response = await metrics.GetAsync("/metrics"))
        {
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
            text = await response.Content.ReadAsStringAsync();
        }
        Check(promtool, text);

        Assert.Equal(3, Value(text, "hive_messages_sent_total", "agent=\"alice\""));
        Assert.Equal(2, Value(text, "hive_messages_delivered_total", "agent=\"bob\""));
        Assert.Equal(1, Value(text, "hive_messages_redelivered_total", "agent=\"bob\""));
        Assert.Equal(1, Value(text, "hive_messages_dead_total", "agent=\"bob\""));
        Assert.Equal(3, Value(text, "hive_send_latency_seconds_count", ""));
        Assert.Equal(3, Value(text, "hive_send_latency_seconds_bucket", "le=\"+Inf\""));
        Assert.Equal(4, Value(text, "hive_recv_wait_seconds_count", "")); // first, second, second again, third
        Assert.Equal(1, Value(text, "hive_turns_total", "agent=\"alice\",model=\"claude-test\""));
        Assert.Equal(100, Value(text, "hive_tokens_total", "agent=\"alice\",kind=\"input\",model=\"claude-test\""));
        Assert.Equal(20, Value(text, "hive_tokens_total", "agent=\"alice\",kind=\"output\",model=\"claude-test\""));
        Assert.Equal(5, Value(text, "hive_tokens_total", "agent=\"alice\",kind=\"cache_read\",model=\"claude-test\""));
        Assert.Equal(0.25, Value(text, "hive_cost_usd_total", "agent=\"alice\",model=\"claude-test\""));
        Assert.Equal(1, Value(text, "hive_turns_held_total", "reason=\"paused\""));
        foreach (var reason in new[] { "halted", "quota", "budget", "queued" })
            Assert.Equal(0, Value(text, "hive_turns_held_total", $"reason=\"{reason}\""));
        Assert.Equal(1, Value(text, "hive_turns_granted_total", "provider=\"anthropic\""));
        Assert.Equal(3, Value(text, "hive_agents", "state=\"running\"")); // the manager, alice and bob
        Assert.Equal(0, Value(text, "hive_agents", "state=\"failed\""));
        Assert.Equal(0, Value(text, "hive_agent_restarts_total", "agent=\"alice\""));
        Assert.Equal(0, Value(text, "hive_agent_oom_kills_total", "agent=\"bob\""));
        Assert.Equal(1, Value(text, "hive_reminders_delivered_total", "agent=\"alice\""));
        Assert.Equal(0, Value(text, "hive_reminders_failed_total", "agent=\"alice\""));
        Assert.Equal(1, Value(text, "hive_sse_subscribers", ""));
        Assert.Equal(1, Value(text, "hive_storage_healthy", ""));

        // A recv of bob's (paused, his inbox empty) parks, and the exposition says so while it waits.
        Task waiting;
        await using (var waiter = await host.ConnectAsync("bob"))
        {
            waiting = waiter.RecvAsync(waitMs: 30_000);
            await HiveInstance.Until(() => Value(metrics.GetStringAsync("/metrics").GetAwaiter().GetResult(), "hive_recv_parked", "agent=\"bob\"") == 1,
                TimeSpan.FromSeconds(15), "bob's parked recv in the exposition");
            Assert.False(waiting.IsCompleted);
        }
        await Assert.ThrowsAnyAsync<Exception>(() => waiting); // hung up on while parked: no reply
        Assert.NotNull(Value(text, "hive_notifications_delivered_total", "channel=\"phone\""));
        Assert.NotNull(Value(text, "hive_notifications_failed_total", "channel=\"phone\""));
        // The sample dashboard (docs/) asks only for series the host serves.
        var dashboard = File.ReadAllText(Path.Combine(Hive.Tests.Architecture.HiveSources.RepoRoot(), "docs", "grafana-dashboard.json"));
        foreach (var series in SeriesName().Matches(dashboard).Select(m => m.Value).Distinct())
            Assert.Contains($"\n{series}", text);
        // Bounded labels: no body ever reaches the exposition, nor any label outside the allowed names.
        Assert.DoesNotContain(SecretBody, text);
        foreach (Match label in LabelName().Matches(text))
            Assert.Contains(label.Groups[1].Value, (string[])["agent", "model", "provider", "reason", "state", "channel", "kind", "decision", "direction", "le"]);

        // The two listeners serve nothing of each other's (the dashboard is asked with the operator's token).
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await metrics.GetAsync("/api/state")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await metrics.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await metrics.PostAsync("/metrics", null)).StatusCode);
        Assert.Equal(new[] { host.BaseAddress.Port, metricsPort }.Order(), ListeningPorts(host.ProcessId).Order());
    }

    [Fact]
    public async Task An_agents_first_turn_is_counted_by_increase_and_its_series_start_at_0_after_a_restart()
    {
        const string series = "agent=\"alice\",model=\"claude-first\"";
        var metricsPort = HostProcess.FreePort();
        string[] args = ["--Hive:Metrics:Urls", $"http://127.0.0.1:{metricsPort}"];
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}"), Timeout = TimeSpan.FromSeconds(30) };
        await using (var host = await HostProcess.StartAsync(_dataDir, ["alice"], extraArgs: args))
        {
            await using var alice = await host.ConnectAsync("alice");
            // What Prometheus would store: each scrape's sample of the series (null: not in that scrape).
            var turns = new List<double?>();
            var cost = new List<double?>();
            void Scrape()
            {
                var text = metrics.GetStringAsync("/metrics").GetAwaiter().GetResult();
                turns.Add(Value(text, "hive_turns_total", series));
                cost.Add(Value(text, "hive_cost_usd_total", series));
            }
            Scrape();
            await RecordTurnAsync(alice, "claude-first", 0.25);
            await HiveInstance.Until(() =>
            {
                Scrape();
                return turns[^1] == 1;
            }, TimeSpan.FromSeconds(15), "the first turn in the exposition");
            // increase() over these scrapes: the first sample the series has, then its last. Without a 0 first, it is 0.
            Assert.Equal(1, Increase(turns));
            Assert.Equal(0.25, Increase(cost));
        }

        await using (var host = await HostProcess.StartAsync(_dataDir, ["alice"], extraArgs: args))
        {
            // After a restart, before any turn: the pair alice's stored turns name is there at 0, every kind of token too.
            var text = await metrics.GetStringAsync("/metrics");
            Assert.Equal(0, Value(text, "hive_turns_total", series));
            Assert.Equal(0, Value(text, "hive_cost_usd_total", series));
            foreach (var kind in new[] { "input", "output", "cache_read", "cache_creation" })
                Assert.Equal(0, Value(text, "hive_tokens_total", $"agent=\"alice\",kind=\"{kind}\",model=\"claude-first\""));
            await using var alice = await host.ConnectAsync("alice");
            await RecordTurnAsync(alice, "claude-first", 0.5);
            await HiveInstance.Until(() => Value(metrics.GetStringAsync("/metrics").GetAwaiter().GetResult(), "hive_turns_total", series) == 1,
                TimeSpan.FromSeconds(15), "the turn after the restart in the exposition");
        }
    }

    /// <summary>
    /// Every query of docs/grafana-dashboard.json parses (<c>promtool check rules</c>, one recording rule each), and its
    /// stat panels evaluate right (<c>promtool test rules</c>) for a quiet hive (no cost series yet: $0, not "No data")
    /// and after a first turn whose series started at 0.
    /// </summary>
    [Fact]
    public void The_dashboards_queries_parse_and_its_stat_panels_are_right_for_a_quiet_hive()
    {
        var promtool = Promtool();
        var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Hive.Tests.Architecture.HiveSources.RepoRoot(), "docs", "grafana-dashboard.json")));
        var queries = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => (Title: p.GetProperty("title").GetString()!,
                Expr: t.GetProperty("expr").GetString()!.Replace("$instance", ".*").Replace("$__rate_interval", "5m"))))
            .ToList();
        var dir = Directory.CreateDirectory(_dataDir).FullName;
        var rules = Path.Combine(dir, "rules.yaml");
        File.WriteAllText(rules, JsonSerializer.Serialize(new
        {
            groups = new[] { new { name = "dashboard", rules = queries.Select((q, i) => new { record = $"panel:query{i}", expr = q.Expr }) } },
        }));
        Run(promtool, "check", "rules", rules);

        string Query(string title) => queries.Single(q => q.Title == title).Expr;
        object Expect(string title, string at, double value) => new { expr = Query(title), eval_time = at, exp_samples = new[] { new { labels = "{}", value } } };
        var tests = Path.Combine(dir, "tests.yaml");
        File.WriteAllText(tests, JsonSerializer.Serialize(new
        {
            rule_files = Array.Empty<string>(),
            evaluation_interval = "1m",
            tests = new object[]
            {
                new
                {
                    interval = "1m",
                    input_series = new[] { new { series = "hive_storage_healthy{instance=\"h\"}", values = "1 1 1" } },
                    promql_expr_test = new[] { Expect("Cost, last 24 h (USD)", "2m", 0), Expect("Dead messages (1h)", "2m", 0) },
                },
                new
                {
                    interval = "1m",
                    input_series = new[]
                    {
                        new { series = "hive_cost_usd_total{instance=\"h\",agent=\"a\",model=\"m\"}", values = "0 0 0.25 0.25 0.25" },
                        new { series = "hive_messages_dead_total{instance=\"h\",agent=\"a\"}", values = "0 0 0 0 0" },
                    },
                    promql_expr_test = new[] { Expect("Cost, last 24 h (USD)", "4m", 0.25), Expect("Dead messages (1h)", "4m", 0) },
                },
            },
        }));
        Run(promtool, "test", "rules", tests);
    }

    private static void Run(string promtool, params string[] args)
    {
        var start = new ProcessStartInfo(promtool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "promtool did not finish");
        Assert.True(process.ExitCode == 0, $"promtool {string.Join(' ', args)} exited {process.ExitCode}: {stdout.Result}{stderr.Result}");
    }

    private static double? Increase(IReadOnlyList<double?> samples)
    {
        var present = samples.Where(s => s is not null).Select(s => s!.Value).ToList();
        return present.Count < 2 ? null : present[^1] - present[0];
    }

    private static async Task RecordTurnAsync(AgentClient agent, string model, double cost)
    {
        var turnId = AgentClient.Ok(await agent.CallAsync(new { op = "begin_turn", wait_ms = 5000 })).GetProperty("turn_id").GetInt64();
        AgentClient.Ok(await agent.CallAsync(new Dictionary<string, object?>
        {
            ["op"] = "record_turn", ["turn_id"] = turnId, ["model"] = model, ["result_kind"] = "ok",
            ["started_at"] = DateTimeOffset.UtcNow.AddSeconds(-3).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            ["ended_at"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            ["input_tokens"] = 100, ["output_tokens"] = 20, ["cache_read_tokens"] = 5, ["cache_creation_tokens"] = 0, ["cost_usd"] = cost,
        }));
    }

    [Fact]
    public async Task Two_hosts_in_one_process_never_mix_their_figures()
    {
        int portA = HostProcess.FreePort(), portB = HostProcess.FreePort();
        await using var a = await HiveInstance.StartAsync(["alice", "bob"], "--Hive:Metrics:Urls", $"http://127.0.0.1:{portA}");
        await using var b = await HiveInstance.StartAsync(["alice", "bob"], "--Hive:Metrics:Urls", $"http://127.0.0.1:{portB}");
        await using (var alice = await a.ConnectAsync("alice"))
        {
            await alice.SendAsync("bob", "one");
            await alice.SendAsync("bob", "two");
        }
        await using (var alice = await b.ConnectAsync("alice")) await alice.SendAsync("bob", "three");

        using var http = new HttpClient();
        Assert.Equal(2, Value(await http.GetStringAsync($"http://127.0.0.1:{portA}/metrics"), "hive_messages_sent_total", "agent=\"alice\""));
        Assert.Equal(1, Value(await http.GetStringAsync($"http://127.0.0.1:{portB}/metrics"), "hive_messages_sent_total", "agent=\"alice\""));
    }

    /// <summary>
    /// DNS rebinding: a page on evil.example that rebinds its name to 127.0.0.1 sends its own name as Host; the listener
    /// refuses it as the dashboard does, and answers a scraper whose Host is the target it was given (or a name in AllowedHosts).
    /// </summary>
    [Fact]
    public async Task Answers_only_the_names_the_hive_is_known_by()
    {
        var port = HostProcess.FreePort();
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Metrics:Urls", $"http://127.0.0.1:{port}",
            "--AllowedHosts", "metrics.hive.test");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        async Task<(HttpStatusCode Status, string Body)> Scrape(string? host)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            if (host is not null) request.Headers.Host = host;
            using var response = await http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        foreach (var foreign in new[] { "evil.example", $"evil.example:{port}", "127.0.0.1.evil.example" })
        {
            var (status, body) = await Scrape(foreign);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.DoesNotContain("alice", body);
            Assert.Equal("unknown host", JsonDocument.Parse(body).RootElement.GetProperty("title").GetString());
        }
        foreach (var known in new[] { null, $"127.0.0.1:{port}", $"localhost:{port}", "localhost", "metrics.hive.test" })
        {
            var (status, body) = await Scrape(known);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Contains("hive_", body);
        }
    }

    [Fact]
    public async Task Opens_no_second_port_when_metrics_are_not_configured()
    {
        await using var host = await HostProcess.StartAsync(_dataDir, ["alice"]);
        Assert.Equal([host.BaseAddress.Port], ListeningPorts(host.ProcessId));
        using var http = host.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/metrics")).StatusCode);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:9464", "is not an http://address:port URL")]
    [InlineData("http://127.0.0.1:9464/metrics", "is not an http://address:port URL")]
    [InlineData("not a url", "is not an http://address:port URL")]
    public async Task Refuses_to_start_with_a_metrics_address_it_cannot_serve(string url, string because)
    {
        var (exitCode, output) = await HostProcess.RunToExitAsync(TimeSpan.FromSeconds(60),
            [.. HiveInstance.ArgsFor(_dataDir, ["alice"]), "--Hive:Metrics:Urls", url]);
        Assert.NotEqual(0, exitCode);
        Assert.Contains($"hive: Hive:Metrics:Urls: '{url}' {because}", output);
        Assert.DoesNotContain("Exception", output);
    }

    [Fact]
    public async Task Refuses_to_serve_metrics_on_the_dashboards_port()
    {
        var port = HostProcess.FreePort();
        var (exitCode, output) = await HostProcess.RunToExitAsync(TimeSpan.FromSeconds(60),
            [.. HiveInstance.ArgsFor(_dataDir, ["alice"], $"http://127.0.0.1:{port}"), "--Hive:Metrics:Urls", $"http://127.0.0.1:{port}"]);
        Assert.NotEqual(0, exitCode);
        Assert.Contains($"uses the dashboard's port {port}", output);
    }

    [Fact]
    public async Task Refuses_to_start_when_the_metrics_port_is_taken()
    {
        var taken = HostProcess.FreePort();
        using var other = new System.Net.Sockets.TcpListener(IPAddress.Loopback, taken);
        other.Start();
        var (exitCode, output) = await HostProcess.RunToExitAsync(TimeSpan.FromSeconds(60),
            [.. HiveInstance.ArgsFor(_dataDir, ["alice"]), "--Hive:Metrics:Urls", $"http://127.0.0.1:{taken}"]);
        Assert.NotEqual(0, exitCode);
        Assert.Contains($"hive: Hive:Metrics:Urls: Failed to bind to address http://127.0.0.1:{taken}", output);
        Assert.Contains("another process is listening there", output);
    }

    [Fact]
    public async Task A_start_refused_after_the_listener_is_built_is_still_one_line()
    {
        // The data dir's lock is taken after the metrics listener is built: the refusal disposes it on the way out.
        await using var first = await HostProcess.StartAsync(_dataDir, ["alice"]);
        var metricsPort = HostProcess.FreePort();
        var (exitCode, output) = await HostProcess.RunToExitAsync(TimeSpan.FromSeconds(60),
            [.. HiveInstance.ArgsFor(_dataDir, ["alice"]), "--Hive:Metrics:Urls", $"http://127.0.0.1:{metricsPort}"]);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEqual(0, exitCode);
        Assert.True(lines.Length == 1, output);
        Assert.StartsWith("hive: another host", lines[0]);
    }

    /// <summary>test.sh fetches promtool and exports it; a run without it fails here, saying why, rather than pass unchecked.</summary>
    private static string Promtool()
    {
        var path = Environment.GetEnvironmentVariable("HIVE_TEST_PROMTOOL");
        Assert.True(!string.IsNullOrEmpty(path) && File.Exists(path),
            "no promtool to check the exposition with: " + (Environment.GetEnvironmentVariable("HIVE_TEST_PROMTOOL_MISSING")
                ?? "run ./test.sh (it fetches promtool), or set HIVE_TEST_PROMTOOL to a promtool binary"));
        return path!;
    }

    /// <summary>
    /// <c>promtool check metrics</c> reads the exposition on stdin: a parse error exits non-zero (fails here), and so
    /// does a lint finding (a counter without <c>_total</c>, a non-base unit...): both fail the test, so the names stay
    /// Prometheus' conventions.
    /// </summary>
    private static void Check(string promtool, string exposition)
    {
        var start = new ProcessStartInfo(promtool)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add("check");
        start.ArgumentList.Add("metrics");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(exposition);
        process.StandardInput.Close();
        Assert.True(process.WaitForExit(30_000), "promtool did not finish");
        Assert.True(process.ExitCode == 0, $"promtool check metrics exited {process.ExitCode}: {stdout.Result}{stderr.Result}\n{exposition}");
        Assert.Equal("", stdout.Result.Trim()); // no lint findings either
    }

    /// <summary>The sample's value, or null when the exposition has no such sample; labels as written (sorted by name).</summary>
    internal static double? Value(string exposition, string name, string labels)
    {
        var prefix = labels.Length == 0 ? name + " " : $"{name}{{{labels}}} ";
        var line = exposition.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? null : double.Parse(line[prefix.Length..], CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"\bhive_[a-z_]+")]
    private static partial Regex SeriesName();

    [GeneratedRegex(@"[{,]([a-z_]+)=""")]
    private static partial Regex LabelName();

    /// <summary>The TCP ports the process listens on (its sockets in LISTEN state, from /proc).</summary>
    private static List<int> ListeningPorts(int pid)
    {
        var inodes = new HashSet<string>();
        foreach (var fd in Directory.GetFiles($"/proc/{pid}/fd"))
        {
            var target = new FileInfo(fd).LinkTarget;
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal)) inodes.Add(target[8..^1]);
        }
        var ports = new List<int>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table)) continue;
            foreach (var row in File.ReadLines(table).Skip(1))
            {
                var fields = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields[3] == "0A" && inodes.Contains(fields[9]))
                    ports.Add(int.Parse(fields[1].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }
        return ports;
    }
}
