using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Hive.Host.Auth;
using Microsoft.Extensions.Logging;

namespace Hive.Tests.Host.Auth;

/// <summary>
/// The token is in no log line unless standard output is a terminal (then in the sign-in line only), over a realistic
/// session logged at the most verbose level: signing in (right and wrong), API calls with the token and the cookie,
/// refusals, errors, the event stream, sockets. The link is in <c>&lt;DataDir&gt;/sign-in-link</c> (0600), which the
/// sign-in line names. (Every other test's host is checked the same way when it is disposed, at its own level, and a
/// shared one after each test.) Hosts of their own: logging at Trace level, a child process on a pipe, one with its
/// output to a file, one on a pty.
/// </summary>
public sealed class TokenInLogsTests : IAsyncLifetime
{
    private static readonly string[] Verbose =
    [
        "--Logging:LogLevel:Default", "Trace",
        "--Logging:LogLevel:Microsoft", "Trace",
        "--Logging:LogLevel:Microsoft.AspNetCore", "Trace",
    ];

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-log-" + Guid.NewGuid().ToString("N")[..12]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    /// <summary>What an operator, a script and a hostile page do in one sitting; returns the session cookie's value.</summary>
    private static async Task<string> SessionAsync(Uri baseAddress, Uri signInUrl, string token, Func<string, Task<AgentClient>> connect)
    {
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = baseAddress };
        using var script = new HttpClient { BaseAddress = baseAddress };
        script.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        // Sign in: a wrong link, then the right one (twice, as a person who opens it again).
        (await browser.GetAsync("/?token=" + token[..^2] + "xx")).Dispose();
        var session = "";
        for (var i = 0; i < 2; i++)
        {
            using var signIn = await browser.GetAsync(signInUrl.PathAndQuery);
            Assert.Equal(HttpStatusCode.SeeOther, signIn.StatusCode);
            session = Microsoft.Net.Http.Headers.SetCookieHeaderValue.Parse(signIn.Headers.GetValues("Set-Cookie").Single()).Value.ToString();
        }
        (await browser.GetAsync("/")).Dispose();
        (await browser.GetAsync("/js/main.js")).Dispose();

        // The page's calls with the cookie, one refused as cross-site, one accepted as same-origin.
        async Task<HttpStatusCode> WithCookie(HttpMethod method, string path, string? json = null, string? origin = null)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Add("Cookie", "hive_session=" + session);
            if (origin is not null) request.Headers.Add("Origin", origin);
            if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
            using var response = await browser.SendAsync(request);
            return response.StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, await WithCookie(HttpMethod.Get, "/api/state"));
        Assert.Equal(HttpStatusCode.Forbidden, await WithCookie(HttpMethod.Post, "/api/messages", """{"to":"alice","body":"x"}""", "http://evil.example"));
        Assert.True((int)await WithCookie(HttpMethod.Post, "/api/messages", """{"to":"alice","body":"hello"}""", baseAddress.GetLeftPart(UriPartial.Authority)) < 300);

        // A script with the token: reads, writes, mistakes (400, 404, 413), a state file refused and one served.
        await using var alice = await connect("alice");
        await alice.SendAsync("operator", $"a body that names /agents/alice/state/plan.md");
        (await script.GetAsync("/api/state")).Dispose();
        (await script.GetAsync("/api/inbox")).Dispose();
        (await script.GetAsync("/api/messages?before=100&limit=5")).Dispose();
        (await script.GetAsync("/api/questions?filter=all")).Dispose();
        (await script.GetAsync("/api/reminders")).Dispose();
        (await script.GetAsync("/api/state-file?path=/agents/alice/state/plan.md")).Dispose();
        (await script.GetAsync("/api/state-file?path=/etc/passwd")).Dispose();
        (await script.GetAsync("/api/messages?limit=banana")).Dispose();
        (await script.GetAsync("/api/nope")).Dispose();
        (await script.PostAsync("/api/messages", new StringContent("{not json", Encoding.UTF8, "application/json"))).Dispose();
        (await script.PostAsync("/api/messages", new StringContent($$"""{"to":"nobody","body":"{{token}}"}""", Encoding.UTF8, "application/json"))).Dispose();
        (await script.PostAsync("/api/messages", new StringContent(new string('x', 70_000), Encoding.UTF8, "application/json"))).Dispose();
        (await script.DeleteAsync("/api/reminders/999999")).Dispose();
        (await script.PostAsync("/api/questions/999999/answer", new StringContent("""{"answer":"no"}""", Encoding.UTF8, "application/json"))).Dispose();

        // Refusals: no credentials, a wrong Bearer, a foreign Host.
        using (var anonymous = new HttpClient { BaseAddress = baseAddress })
        {
            (await anonymous.GetAsync("/api/state")).Dispose();
            (await anonymous.GetAsync("/api/events")).Dispose();
            using var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/state");
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token + "x");
            (await anonymous.SendAsync(wrong)).Dispose();
            using var foreign = new HttpRequestMessage(HttpMethod.Get, "/?token=" + token);
            foreign.Headers.Host = "evil.example";
            (await anonymous.SendAsync(foreign)).Dispose();
        }

        // The event stream with the token: hello, then a live event.
        await using (var events = await SseStream.OpenAsync(baseAddress, token))
        {
            await alice.SendAsync("bob", "seen live");
            await events.WaitForAsync("sent");
        }
        return session;
    }

    [Fact]
    public async Task In_process_the_token_is_in_no_log_line_even_at_trace_level()
    {
        var hive = await HiveInstance.StartAsync(["alice", "bob"], Verbose);
        string session;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(hive.DataDir, "agents", "alice", "state", "plan.md"), "the plan");
            session = await SessionAsync(hive.BaseAddress, hive.SignInUrl!, hive.Token!, hive.ConnectAsync);
        }
        finally
        {
            await hive.DisposeAsync(); // checks the token against every captured line
        }

        var lines = hive.Logs.Lines;
        Assert.Contains(lines, l => l.Level <= LogLevel.Debug && l.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)); // really verbose
        Assert.Contains(Path.Combine(hive.DataDir, OperatorToken.SignInLinkFileName), Assert.Single(hive.Logs.SignInLines));
        Assert.DoesNotContain(lines, l => l.Text.Contains(session, StringComparison.Ordinal)); // nor the session value
    }

    [Fact]
    public async Task A_child_process_whose_output_is_a_pipe_prints_where_the_link_is_and_never_the_token()
    {
        string output, token, session;
        await using (var host = await HostProcess.StartAsync(_dataDir, ["alice", "bob"], extraArgs: Verbose))
        {
            await File.WriteAllTextAsync(Path.Combine(_dataDir, "agents", "alice", "state", "plan.md"), "the plan");
            token = host.Token!;
            session = await SessionAsync(host.BaseAddress, host.SignInUrl!, token, host.ConnectAsync);
            await host.TerminateAsync(TimeSpan.FromSeconds(20));
            output = host.Output;
        }

        var lines = output.Split('\n');
        Assert.True(lines.Length > 200, $"expected a verbose log, got {lines.Length} lines");
        Assert.DoesNotContain(lines, l => l.Contains(token, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("?token=", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(session, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(Path.Combine(_dataDir, OperatorToken.SignInLinkFileName), StringComparison.Ordinal));
    }

    /// <summary>
    /// What the hostile pass did: <c>nohup hive &gt; hive.log &amp;</c>, a 0644 file any process of the machine reads. The log
    /// names the 0600 file that holds the link and carries no token; the link in that file signs in.
    /// </summary>
    [Fact]
    public async Task Run_with_its_output_to_a_file_the_host_writes_the_link_to_a_private_file_and_the_log_names_it()
    {
        Directory.CreateDirectory(_dataDir);
        var log = Path.Combine(_dataDir, "..", Path.GetFileName(_dataDir) + ".log");
        var port = HostProcess.FreePort();
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var arg in (string[])["-c", "umask 022 && exec dotnet \"$@\" > \"$HIVE_LOG\" 2>&1", "sh", HostProcess.HostDll,
                     .. HiveInstance.ArgsFor(_dataDir, ["alice"], $"http://127.0.0.1:{port}")])
            start.ArgumentList.Add(arg);
        start.Environment["HIVE_LOG"] = log;
        start.Environment.Remove("ASPNETCORE_URLS");
        using var host = Process.Start(start)!;
        try
        {
            var linkFile = Path.Combine(_dataDir, OperatorToken.SignInLinkFileName);
            await HiveInstance.Until(() => host.HasExited || (File.Exists(log) && File.ReadAllText(log).Contains("Sign in to the dashboard")),
                TimeSpan.FromSeconds(60), "the sign-in line");
            Assert.False(host.HasExited, File.ReadAllText(log));

            var text = await File.ReadAllTextAsync(log);
            var token = (await File.ReadAllTextAsync(Path.Combine(_dataDir, OperatorToken.FileName))).Trim();
            Assert.DoesNotContain(token, text);
            Assert.DoesNotContain("?token=", text);
            var line = Assert.Single(text.Split('\n'), l => l.Contains("Sign in to the dashboard", StringComparison.Ordinal));
            Assert.Contains(linkFile, line);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(linkFile));

            var link = HiveInstance.ReadSignInLink(_dataDir)!;
            Assert.Equal(token, HiveInstance.TokenOf(link));
            using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
            using var signIn = await browser.GetAsync(link);
            Assert.Equal(HttpStatusCode.SeeOther, signIn.StatusCode);
            Assert.Contains(signIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("hive_session=", StringComparison.Ordinal));
        }
        finally
        {
            if (!host.HasExited) host.Kill();
            await host.WaitForExitAsync();
            File.Delete(log);
        }
    }

    /// <summary>On a terminal (a pty, as <c>script</c> gives its command) the sign-in line is the link itself, to click.</summary>
    [Fact]
    public async Task On_a_terminal_the_sign_in_line_is_the_link()
    {
        var port = HostProcess.FreePort();
        var command = string.Join(' ', new[] { "exec", "dotnet", HostProcess.HostDll }.Concat(HiveInstance.ArgsFor(_dataDir, ["alice"], $"http://127.0.0.1:{port}"))
            .Select(a => "'" + a.Replace("'", "'\\''") + "'"));
        var start = new ProcessStartInfo("script") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardInput = true };
        foreach (var arg in (string[])["-qfec", command, "/dev/null"]) start.ArgumentList.Add(arg);
        start.Environment.Remove("ASPNETCORE_URLS");
        var output = new StringBuilder();
        using var script = Process.Start(start)!;
        script.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        script.BeginOutputReadLine();
        string Output() { lock (output) return output.ToString(); }
        try
        {
            await HiveInstance.Until(() => script.HasExited || Output().Contains("?token="), TimeSpan.FromSeconds(60), "the sign-in link on the terminal");
            Assert.False(script.HasExited, Output());
            var line = Assert.Single(Output().Split('\n'), l => l.Contains("Sign in to the dashboard", StringComparison.Ordinal)).Trim();
            Assert.Equal(LogCapture.SignInPrefix + HiveInstance.ReadSignInLink(_dataDir), line);
        }
        finally
        {
            // The host is script's child (in the pty's session): stopped by its own pid, then script ends with it.
            if (!script.HasExited)
                foreach (var child in File.ReadAllText($"/proc/{script.Id}/task/{script.Id}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    using (var kill = Process.Start("kill", ["-KILL", child])) await kill.WaitForExitAsync();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await script.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                script.Kill();
                await script.WaitForExitAsync();
            }
        }
    }
}
