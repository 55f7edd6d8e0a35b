using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Hive.Tests.Host.Auth;

/// <summary>
/// The token is in one log line only, the sign-in link, over a realistic session logged at the most verbose level:
/// signing in (right and wrong), API calls with the token and the cookie, refusals, errors, the event stream, sockets.
/// (Every other test's host is checked the same way when it is disposed, at its own level, and a shared one after
/// each test.) Hosts of their own: logging at Trace level, and a child process.
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
        string session = "";
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
    public async Task In_process_the_token_is_in_the_sign_in_line_only_even_at_trace_level()
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
            await hive.DisposeAsync(); // checks the token against every captured line (one sign-in line for one start)
        }

        var lines = hive.Logs.Lines;
        Assert.Contains(lines, l => l.Level <= LogLevel.Debug && l.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)); // really verbose
        Assert.Single(hive.Logs.SignInLinks);
        Assert.DoesNotContain(lines, l => l.Text.Contains(session, StringComparison.Ordinal)); // nor the session value
    }

    [Fact]
    public async Task A_child_process_prints_the_token_in_one_line_of_its_output()
    {
        string output, token, session;
        Uri signInUrl;
        await using (var host = await HostProcess.StartAsync(_dataDir, ["alice", "bob"], extraArgs: Verbose))
        {
            await File.WriteAllTextAsync(Path.Combine(_dataDir, "agents", "alice", "state", "plan.md"), "the plan");
            token = host.Token!;
            signInUrl = host.SignInUrl!;
            session = await SessionAsync(host.BaseAddress, host.SignInUrl!, token, host.ConnectAsync);
            await host.TerminateAsync(TimeSpan.FromSeconds(20));
            output = host.Output;
        }

        var lines = output.Split('\n');
        Assert.True(lines.Length > 200, $"expected a verbose log, got {lines.Length} lines");
        var carrying = Assert.Single(lines, l => l.Contains(token, StringComparison.Ordinal));
        Assert.Equal(LogCapture.SignInPrefix + signInUrl, carrying.Trim());
        Assert.DoesNotContain(lines, l => l.Contains(session, StringComparison.Ordinal));
    }
}
