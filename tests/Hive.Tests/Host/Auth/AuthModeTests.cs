using System.Text;
using Hive.Host;
using Hive.Host.Auth;
using Hive.Shared.Errors;
using Microsoft.Extensions.Logging;

namespace Hive.Tests.Host.Auth;

/// <summary>
/// Hive:Auth:Mode and Hive:Auth:Token, and what the host says about the addresses it listens on. A host of its own
/// per test: each runs with other settings (or is refused its start).
/// </summary>
public sealed class AuthModeTests
{
    private static string NewDataDir() => Path.Combine(Path.GetTempPath(), "hive-mode-" + Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public async Task Mode_none_on_a_non_loopback_address_exits_at_start_up_with_a_one_line_reason()
    {
        var dataDir = NewDataDir();
        var (exitCode, output) = await HostProcess.RunToExitAsync(TimeSpan.FromSeconds(60),
            "--urls", "http://0.0.0.0:0", "--Hive:DataDir", dataDir, "--Hive:Auth:Mode", "none");

        Assert.NotEqual(0, exitCode);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("Hive:Auth:Mode=none", line);
        Assert.Contains("http://0.0.0.0:0", line);
        Assert.Contains("not a loopback address", line);
        Assert.False(Directory.Exists(dataDir)); // refused before anything was created
    }

    [Theory]
    [InlineData("http://127.0.0.1:0;http://0.0.0.0:0")] // every entry must be loopback
    [InlineData("http://*:0")]
    [InlineData("http://+:0")]
    [InlineData("http://[::]:0")]
    [InlineData("http://192.168.1.10:0")]
    [InlineData("http://hive.example:0")]
    [InlineData("http://unix:/tmp/hive.sock")]
    public void Mode_none_is_refused_unless_every_address_is_loopback(string urls)
    {
        var refused = Assert.Throws<HiveStartupException>(() =>
            HiveHost.Build(["--urls", urls, "--Hive:DataDir", NewDataDir(), "--Hive:Auth:Mode", "none"]));
        Assert.Contains("Hive:Auth:Mode=none is refused", refused.Message);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Theory]
    [InlineData("--Hive:Auth:Mode", "off", "Hive:Auth:Mode must be 'token' or 'none'")]
    [InlineData("--Hive:Auth:Token", "too-short", "Hive:Auth:Token is shorter than 16 characters")]
    [InlineData("--Hive:Auth:Token", "has a space in it somewhere", "Hive:Auth:Token has characters other than printable ASCII")]
    public void Bad_auth_settings_are_refused(string key, string value, string reason)
    {
        var refused = Assert.Throws<HiveStartupException>(() =>
            HiveHost.Build(["--urls", "http://127.0.0.1:0", "--Hive:DataDir", NewDataDir(), key, value]));
        Assert.StartsWith(reason, refused.Message);
    }

    [Fact]
    public async Task Mode_none_on_loopback_serves_without_sign_in_but_still_refuses_a_browsers_cross_site_change()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Auth:Mode", "none");
        Assert.Null(hive.SignInUrl);
        Assert.False(File.Exists(Path.Combine(hive.DataDir, OperatorToken.FileName)));
        Assert.Contains(hive.Logs.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("Operator sign-in is off"));

        using var http = hive.CreateClient(signedIn: false);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/state")).StatusCode);
        using var script = await http.PostAsync("/api/messages", new StringContent("""{"to":"alice","body":"from a script"}""", Encoding.UTF8, "application/json"));
        Assert.True(script.IsSuccessStatusCode);

        using var crossSite = new HttpRequestMessage(HttpMethod.Post, "/api/messages")
        {
            Content = new StringContent("""{"to":"alice","body":"from a page"}""", Encoding.UTF8, "text/plain"),
        };
        crossSite.Headers.Add("Origin", "http://evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(crossSite)).StatusCode);
    }

    [Fact]
    public async Task A_configured_token_is_used_and_no_token_file_is_written()
    {
        const string token = "a-configured-operator-token-0123456789";
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Auth:Token", token);
        Assert.Equal(token, hive.Token);
        Assert.False(File.Exists(Path.Combine(hive.DataDir, OperatorToken.FileName)));
        Assert.Equal(HttpStatusCode.OK, (await hive.Http.GetAsync("/api/state")).StatusCode);
    }

    [Fact]
    public async Task A_non_loopback_address_is_named_in_a_warning_and_the_link_points_at_loopback()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], "--urls", "http://0.0.0.0:0");
        var warning = Assert.Single(hive.Logs.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("not a loopback address"));
        Assert.Contains("http://0.0.0.0:0", warning.Text);
        Assert.Contains("the dashboard, the operator API and the event stream", warning.Text);
        Assert.Equal("127.0.0.1", hive.SignInUrl!.Host);

        // Sign-in is as required as on loopback.
        using var anonymous = hive.CreateClient(signedIn: false);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/state")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await hive.Http.GetAsync("/api/state")).StatusCode);
    }

    [Fact]
    public async Task AllowedHosts_adds_names_to_serve()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], "--AllowedHosts", "hive.lan;operator.box");
        foreach (var (host, expected) in new[] { ("hive.lan", HttpStatusCode.OK), ("operator.box", HttpStatusCode.OK), ("127.0.0.1", HttpStatusCode.OK), ("evil.example", HttpStatusCode.BadRequest) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/state");
            request.Headers.Host = $"{host}:{hive.BaseAddress.Port}";
            using var response = await hive.Http.SendAsync(request);
            Assert.True(expected == response.StatusCode, $"Host: {host}: {(int)response.StatusCode}");
            if (expected != HttpStatusCode.BadRequest) continue;
            // Refused as every other refusal is: problem+json with a code and the hardening headers, the name not quoted back.
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var text = await response.Content.ReadAsStringAsync();
            Assert.Equal("bad_request", JsonDocument.Parse(text).RootElement.GetProperty("code").GetString());
            Assert.DoesNotContain(host, text);
            Assert.True(response.Headers.Contains("Content-Security-Policy"));
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }
    }

    [Fact]
    public async Task AllowedHosts_star_serves_any_name()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], "--AllowedHosts", "*");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/state");
        request.Headers.Host = $"anything.example:{hive.BaseAddress.Port}";
        using var response = await hive.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
