using System.Net.WebSockets;
using System.Text;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The terminal over the raw WebSocket: a terminal in a running agent's sandbox runs as the agent does (its name, its
/// state dir, nothing of the hive's files under bubblewrap), resizes, is refused without sign-in, from another origin, for
/// an unknown or stopped agent, and leaves no process behind when the socket closes or the agent stops; its opening and
/// closing are audited.
/// </summary>
public sealed class TerminalTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_terminal_without_sign_in_is_refused_401()
    {
        var name = await RunningAsync("term-anon", "process");
        try
        {
            var status = await RefusedAsync(name, _ => { });
            Assert.Equal(HttpStatusCode.Unauthorized, status);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_terminal_opened_with_the_session_cookie_from_another_origin_is_refused_403()
    {
        var name = await RunningAsync("term-csrf", "process");
        try
        {
            var cookie = await SessionCookieAsync();
            var status = await RefusedAsync(name, socket =>
            {
                socket.Options.SetRequestHeader("Cookie", cookie);
                socket.Options.SetRequestHeader("Origin", "http://evil.example");
            });
            Assert.Equal(HttpStatusCode.Forbidden, status);
            // The same cookie from the page's own origin opens it.
            await using var terminal = await TerminalSocket.OpenAsync(_hive, name, socket =>
            {
                socket.Options.SetRequestHeader("Cookie", cookie);
                socket.Options.SetRequestHeader("Origin", $"{_hive.BaseAddress.Scheme}://{_hive.BaseAddress.Authority}");
            });
            await terminal.RunAsync("echo \"<$((6*7))>\"", "<42>");
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_terminal_for_an_unknown_agent_is_404_and_for_a_stopped_one_409()
    {
        Assert.Equal(HttpStatusCode.NotFound, await RefusedAsync("nobody-here"));
        var name = await RunningAsync("term-stop", "process");
        try
        {
            var (status, _) = await PostAsync(_hive.Http, $"/api/agents/{name}/stop");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(HttpStatusCode.Conflict, await RefusedAsync(name));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task A_terminal_runs_as_the_agent_in_its_state_dir_and_resizes(string driver)
    {
        var name = await RunningAsync($"term-{driver[..4]}", driver);
        try
        {
            await using var terminal = await TerminalSocket.OpenAsync(_hive, name);
            var stateDir = driver == "bubblewrap" ? $"/agents/{name}/state" : Path.Combine(_hive.DataDir, "agents", name, "state");
            // Brackets around the values: the typed line echoes the command, never the value.
            var output = await terminal.RunAsync("echo \"<$HIVE_AGENT>\"; echo \"[$(pwd)]\"", $"[{stateDir}]");
            Assert.Contains($"<{name}>", output);
            // Its clean environment: nothing of the host's but TERM.
            await terminal.RunAsync("echo \"home=<$HOME> term=<$TERM> dotnet=<${DOTNET_ROOT:-none}>\"", "term=<xterm-256color>");

            await terminal.ResizeAsync(123, 40);
            try
            {
                await terminal.RunUntilAsync("echo \"cols=<$(tput cols)> lines=<$(tput lines)>\"", "cols=<123> lines=<40>");
            }
            catch (TimeoutException e)
            {
                // Seen about once in three loaded full runs, never alone: what the kernel and the shell say of the size.
                var seen = await terminal.RunAsync("echo \"stty=<$(stty size 2>&1)> env=<$(env | grep -E '^(LINES|COLUMNS)=' | tr '\\n' ' ')> end=<$((6*7))>\"", "end=<42>");
                throw new TimeoutException($"{e.Message}\n--- then: {seen}\n--- the whole session: {terminal.Output}", e);
            }
            await terminal.ResizeAsync(57, 20);
            await terminal.RunUntilAsync("echo \"cols=<$(tput cols)>\"", "cols=<57>");

            // Ctrl-C reaches the foreground job (the pty is the shell's controlling terminal), not the terminal itself.
            await terminal.RunAsync("sleep 977531; echo \"<slept:$?>\"", "sleep 977531");
            await HiveInstance.Until(() => ProcessTable.Find("sleep", "977531").Count == 1, Deadline, "the foreground sleep");
            await terminal.SendAsync("\u0003");
            await terminal.RunAsync("echo \"<after:$((1+1))>\"", "<after:2>");
            Assert.Empty(ProcessTable.Find("sleep", "977531"));

            // `exit` ends the session: the host closes the socket.
            await terminal.SendAsync("exit\r");
            await terminal.ClosedByHostAsync();
            await AuditUntilAsync(name, e => e.Action == "terminal closed" && e.Result.StartsWith("the shell exited", StringComparison.Ordinal));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task A_terminal_cannot_read_the_database_or_the_operator_token(string driver)
    {
        if (driver == "process" && !Environment.IsPrivilegedProcess) return; // a host that is not root runs process agents as itself (the suite runs as root)
        var name = await RunningAsync($"term-peek-{driver[..4]}", driver);
        try
        {
            await using var terminal = await TerminalSocket.OpenAsync(_hive, name);
            var db = Path.Combine(_hive.DataDir, "hive.db");
            var token = Path.Combine(_hive.DataDir, "operator-token");
            var output = await terminal.RunAsync($"cat {db} | head -c 16; cat {token}; echo \"token=<$?>\"; echo \"<$((40+2))-end>\"", "<42-end>");
            Assert.DoesNotContain("SQLite format", output);
            Assert.DoesNotContain(_hive.Token!, output);
            Assert.Matches(@"token=<[1-9]", output);
            Assert.Contains(db + ": ", output); // cat's own refusal (no such file, or permission denied)
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task Closing_the_socket_ends_the_shell_and_everything_it_started_and_is_audited(string driver)
    {
        var name = await RunningAsync($"term-close-{driver[..4]}", driver);
        try
        {
            var agentPid = (await RowAsync(_hive, name))!.Value.Pid()!.Value;
            // Once the agent runs its sleep: the wrapper's short-lived helpers (mkdir, mount, ...) are gone by then.
            await HiveInstance.Until(() => ProcessTable.Family(agentPid).Any(p => ProcessTable.CommandLine(p).StartsWith("sleep 1000", StringComparison.Ordinal)),
                Deadline, "the agent's sleep");
            var agentFamily = ProcessTable.Family(agentPid);
            var marker = driver == "process" ? "987651" : "987652";
            await using (var terminal = await TerminalSocket.OpenAsync(_hive, name))
            {
                // A job, a job's child in a group of its own, and a nohup'd one: all of the terminal's.
                await terminal.RunAsync($"sleep {marker} & sh -c 'sleep {marker}1' & nohup sleep {marker}2 >/dev/null 2>&1 & echo \"<started>\"", "<started>");
                await HiveInstance.Until(() => Sleepers(marker).Count == 3, Deadline, "the terminal's three sleeps");
                var sleepers = Sleepers(marker);
                var session = SessionOf(sleepers[0]);
                Assert.All(sleepers, pid => Assert.Equal(session, SessionOf(pid)));
                // Beneath the agent's own cgroup: its caps hold for the terminal too.
                if (_hive.Service<Hive.Features.Containers.Runtime.AgentCgroups>().LimitsOn)
                    Assert.All(sleepers, pid => AssertBeneath(agentPid, pid));
                await terminal.CloseAsync();

                await ProcessTable.UntilGoneAsync(sleepers);
                await HiveInstance.Until(() => InSession(session).Count == 0, Deadline, $"nothing left of session {session}");
            }
            // The agent itself is untouched.
            Assert.All(agentFamily, pid => Assert.True(ProcessTable.IsAlive(pid), $"agent process {pid} died with the terminal"));
            Assert.Equal("running", (await RowAsync(_hive, name))!.Value.State());

            // Recorded once the session is over, just after the socket's close.
            var audit = await AuditUntilAsync(name, e => e.Action == "terminal closed");
            Assert.Contains(audit, e => e.Action == "terminal opened" && e.Actor == "operator" && e.Result.StartsWith("ok", StringComparison.Ordinal));
            Assert.Contains(audit, e => e.Action == "terminal closed" && e.Result.StartsWith("the page closed", StringComparison.Ordinal));
            Assert.DoesNotContain(audit, e => e.Action.Contains(marker, StringComparison.Ordinal) || e.Result.Contains(marker, StringComparison.Ordinal));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task Closing_the_socket_ends_a_job_that_left_the_terminals_session()
    {
        // Under the process driver nothing else holds such a job (bubblewrap's pid namespace does): the terminal's cgroup.
        if (!_hive.Service<Hive.Features.Containers.Runtime.AgentCgroups>().LimitsOn) return;
        var name = await RunningAsync("term-setsid", "process");
        try
        {
            var agentPid = (await RowAsync(_hive, name))!.Value.Pid()!.Value;
            const string marker = "987656";
            await using (var terminal = await TerminalSocket.OpenAsync(_hive, name))
            {
                await terminal.RunAsync($"setsid sleep {marker} & echo \"<started>\"", "<started>");
                await HiveInstance.Until(() => Sleepers(marker).Count == 1, Deadline, "the terminal's setsid sleep");
                var sleeper = Sleepers(marker);
                Assert.Equal(sleeper[0], SessionOf(sleeper[0])); // a session of its own: killing the terminal's misses it
                await terminal.CloseAsync();
                await ProcessTable.UntilGoneAsync(sleeper, TimeSpan.FromSeconds(30));
            }
            Assert.Equal("running", (await RowAsync(_hive, name))!.Value.State());
            Assert.True(ProcessTable.IsAlive(agentPid), "the agent died with its terminal");
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task Stopping_the_agent_ends_its_terminal(string driver)
    {
        var name = await RunningAsync($"term-halt-{driver[..4]}", driver);
        try
        {
            var marker = driver == "process" ? "987653" : "987654";
            await using var terminal = await TerminalSocket.OpenAsync(_hive, name);
            await terminal.RunAsync($"sleep {marker} & echo \"<started>\"", "<started>");
            await HiveInstance.Until(() => Sleepers(marker).Count == 1, Deadline, "the terminal's sleep");
            var sleepers = Sleepers(marker);

            var (status, _) = await PostAsync(_hive.Http, $"/api/agents/{name}/stop");
            Assert.Equal(HttpStatusCode.OK, status);
            await terminal.ClosedByHostAsync();
            await ProcessTable.UntilGoneAsync(sleepers);
            await AuditUntilAsync(name, e => e.Action == "terminal closed" && e.Result.StartsWith("the agent stopped", StringComparison.Ordinal));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    private async Task<string> RunningAsync(string name, string driver)
    {
        var row = await CreateAsync(_hive.Http, Shell(name, driver, ":"));
        Assert.Equal("running", row.State());
        return name;
    }

    /// <summary>The status the handshake was refused with (signed in by the token as Bearer unless <paramref name="configure"/> says otherwise).</summary>
    private async Task<HttpStatusCode> RefusedAsync(string name, Action<ClientWebSocket>? configure = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (configure is not null) configure(socket);
        else socket.Options.SetRequestHeader("Authorization", $"Bearer {_hive.Token}");
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(TerminalSocket.UrlOf(_hive, name), CancellationToken.None));
        return socket.HttpStatusCode;
    }

    /// <summary>The session cookie a browser gets from the sign-in link.</summary>
    private async Task<string> SessionCookieAsync()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        using var response = await client.GetAsync(_hive.SignInUrl);
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        return response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("hive_session=", StringComparison.Ordinal)).Split(';')[0];
    }

    /// <summary>The audit rows about <paramref name="agent"/>, once one of them matches <paramref name="match"/>.</summary>
    private async Task<IReadOnlyList<(string Actor, string Action, string Result)>> AuditUntilAsync(
        string agent, Func<(string Actor, string Action, string Result), bool> match)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var rows = await AuditOfAsync(agent);
            if (rows.Any(match)) return rows;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no matching audit row about {agent}: {string.Join("; ", rows)}");
            await Task.Delay(20);
        }
    }

    private async Task<IReadOnlyList<(string Actor, string Action, string Result)>> AuditOfAsync(string agent) =>
        (await _hive.GetJsonAsync("/api/audit?limit=200")).EnumerateArray()
            .Where(e => e.GetProperty("target").ValueKind == JsonValueKind.String && e.GetProperty("target").GetString() == agent)
            .Select(e => (e.GetProperty("actor").GetString()!, e.GetProperty("action").GetString()!, e.GetProperty("result").GetString()!))
            .ToList();

    /// <summary>Each of <paramref name="pid"/>'s cgroups is its agent's or one directly beneath it, and one is beneath.</summary>
    private static void AssertBeneath(int agentPid, int pid)
    {
        var agent = File.ReadAllLines($"/proc/{agentPid}/cgroup");
        var own = File.ReadAllLines($"/proc/{pid}/cgroup");
        Assert.Equal(agent.Length, own.Length);
        Assert.All(agent.Zip(own), p => Assert.True(p.First == p.Second || p.Second.StartsWith(p.First + "/terminal-", StringComparison.Ordinal),
            $"{p.Second} is not {p.First} or beneath it"));
        Assert.Contains(agent.Zip(own), p => p.First != p.Second);
    }

    private static IReadOnlyList<int> Sleepers(string marker) => ProcessTable.Find("sleep", marker);

    /// <summary>The session id of a live process (field 6 of its stat).</summary>
    private static int SessionOf(int pid)
    {
        var text = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(text[(text.LastIndexOf(')') + 2)..].Split(' ')[3]);
    }

    private static IReadOnlyList<int> InSession(int session) =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Select(n => int.TryParse(n, out var pid) ? pid : 0)
            .Where(pid => pid > 0 && ProcessTable.IsAlive(pid) && Try(() => SessionOf(pid)) == session).ToList();

    private static int? Try(Func<int> read)
    {
        try { return read(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException) { return null; }
    }
}

/// <summary>A terminal's WebSocket as a test drives it: keys in, output gathered, a resize, a close.</summary>
internal sealed class TerminalSocket : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly ClientWebSocket _socket;
    private readonly StringBuilder _output = new();
    private readonly Task _receiving;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TerminalSocket(ClientWebSocket socket)
    {
        _socket = socket;
        _receiving = ReceiveAsync();
    }

    public static Uri UrlOf(HiveInstance hive, string name) => UrlOf(hive.BaseAddress, name);

    private static Uri UrlOf(Uri baseAddress, string name) =>
        new($"ws://{baseAddress.Authority}/api/agents/{name}/terminal?cols=100&rows=30");

    /// <summary>Opens it with the token as Bearer unless <paramref name="configure"/> signs it in otherwise.</summary>
    public static Task<TerminalSocket> OpenAsync(HiveInstance hive, string name, Action<ClientWebSocket>? configure = null) =>
        OpenAsync(hive.BaseAddress, hive.Token, name, configure);

    /// <summary>The same for a host at <paramref name="baseAddress"/> (a <see cref="HostProcess"/>).</summary>
    public static async Task<TerminalSocket> OpenAsync(Uri baseAddress, string? token, string name, Action<ClientWebSocket>? configure = null)
    {
        var socket = new ClientWebSocket();
        if (configure is not null) configure(socket);
        else socket.Options.SetRequestHeader("Authorization", $"Bearer {token}");
        await socket.ConnectAsync(UrlOf(baseAddress, name), CancellationToken.None);
        return new TerminalSocket(socket);
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Types <paramref name="line"/> and Enter, and waits for <paramref name="expected"/> in what follows; returns that output.</summary>
    public async Task<string> RunAsync(string line, string expected, TimeSpan? within = null)
    {
        var from = Output.Length;
        await _socket.SendAsync(Encoding.UTF8.GetBytes(line + "\r"), WebSocketMessageType.Binary, true, CancellationToken.None);
        var deadline = DateTime.UtcNow + (within ?? Deadline);
        while (true)
        {
            Task changed;
            lock (_output) changed = _changed.Task;
            var since = Output[from..];
            if (since.Contains(expected, StringComparison.Ordinal)) return since;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || _closed.Task.IsCompleted)
                throw new TimeoutException($"'{expected}' did not appear after '{line}'; the terminal showed: {since}");
            await Task.WhenAny(changed, _closed.Task, Task.Delay(left));
        }
    }

    public Task SendAsync(string keys) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(keys), WebSocketMessageType.Binary, true, CancellationToken.None);

    /// <summary>
    /// <see cref="RunAsync"/> again until <paramref name="expected"/> shows (up to 10 tries of 2 s): for what the shell
    /// learns asynchronously, as a new size (its SIGWINCH), which a line typed right after the resize can overtake.
    /// </summary>
    public async Task<string> RunUntilAsync(string line, string expected)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await RunAsync(line, expected, TimeSpan.FromSeconds(2));
            }
            catch (TimeoutException) when (attempt < 10)
            {
            }
        }
    }

    public Task ResizeAsync(int cols, int rows) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes($"{{\"cols\":{cols},\"rows\":{rows}}}"), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>Closes it as a page does, and waits for the host's answering close frame.</summary>
    public async Task CloseAsync()
    {
        using var timeout = new CancellationTokenSource(Deadline);
        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        await _closed.Task.WaitAsync(Deadline);
    }

    /// <summary>Waits for the host to close the socket (its close frame).</summary>
    public async Task ClosedByHostAsync()
    {
        await _closed.Task.WaitAsync(Deadline);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, _socket.CloseStatus);
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[8192];
        var decoder = Encoding.UTF8.GetDecoder();
        try
        {
            while (true)
            {
                var received = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close) break;
                var chars = new char[decoder.GetCharCount(buffer, 0, received.Count)];
                decoder.GetChars(buffer, 0, received.Count, chars, 0);
                lock (_output)
                {
                    _output.Append(chars);
                    _changed.TrySetResult();
                    _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
        }
        catch (WebSocketException)
        {
        }
        finally
        {
            _closed.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try { await CloseAsync(); }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
        }
        await _receiving.WaitAsync(Deadline);
        _socket.Dispose();
    }
}
