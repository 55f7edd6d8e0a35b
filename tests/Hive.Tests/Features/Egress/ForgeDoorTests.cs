using Hive.Tests.Cli;
using Hive.Tests.Features.Forge;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Egress;

/// <summary>A hive on a <see cref="FakeForgejo"/> (<c>Hive:Forge:Url</c> set): every agent gets a forge user and token as it joins.</summary>
public sealed class ForgeDoorFixture : IAsyncLifetime
{
    internal ForgeHive Forge { get; private set; } = null!;

    public async Task InitializeAsync() => Forge = await ForgeHive.StartAsync([]);

    public async Task DisposeAsync()
    {
        if (Forge is not null) await Forge.DisposeAsync(); // checks that no token it issued is in the host's log
    }
}

/// <summary>
/// A sealed agent's forge door, from inside: a sealed agent of a hive with a forge (under bubblewrap, and under the process
/// driver of a root host) reads its token from its <c>forge-token</c> and sends <c>GET /api/v1/user</c> by bash's
/// <c>/dev/tcp</c> to <c>$HIVE_FORGE_URL</c>, its port in front of <c>run/NAME.forge.sock</c>, which the host passes to the
/// forge: the forge answers with the agent's own user, though the forge's own address is not reachable from inside. The
/// connection is on the agent's egress record, and the socket is gone once the agent is destroyed. A sealed agent of a
/// hive without a forge has neither the variable nor the socket.
/// </summary>
public sealed class ForgeDoorTests(ForgeDoorFixture fixture) : IClassFixture<ForgeDoorFixture>
{
    private static int _made;

    private static string Script(int forgePort) => $$"""
        exec > "$HIVE_STATE_DIR/forge.txt" 2>&1
        echo "url: ${HIVE_FORGE_URL:-none}"
        (exec 3<>/dev/tcp/127.0.0.1/{{forgePort}}) 2>/dev/null && echo "direct: reached" || echo "direct: denied"
        # The sweep issues the token as the agent joins, in the background: it may come after this start.
        until [ -s "$HIVE_STATE_DIR/forge-token" ]; do sleep 0.05; done
        u=${HIVE_FORGE_URL#http://}; hp=${u%%/*}; prefix=${u#"$hp"}
        exec 3<>"/dev/tcp/${hp%:*}/${hp#*:}" || { echo "no port at $HIVE_FORGE_URL"; exit 99; }
        printf 'GET %s/api/v1/user HTTP/1.1\r\nHost: forge\r\nAuthorization: token %s\r\nConnection: close\r\n\r\n' "$prefix" "$(cat "$HIVE_STATE_DIR/forge-token")" >&3
        while IFS= read -r line <&3; do printf '%s\n' "${line%$'\r'}"; done; printf '%s\n' "$line"
        exec 3>&- # the connection ends (and is recorded) once both sides have closed it
        echo done
        exec sleep 100000
        """;

    [Theory]
    [InlineData("bubblewrap")]
    [InlineData("process")]
    public async Task A_sealed_agent_with_a_forge_identity_reaches_the_forge_api_through_its_forge_door_and_the_door_goes_with_it(string driver)
    {
        if (driver == "process" && !Environment.IsPrivilegedProcess) return; // the process driver seals on a root host only (the suite runs as root)
        var (hive, forge) = (fixture.Forge.Hive, fixture.Forge.Forge);
        var name = $"forge-{driver[..4]}-{Interlocked.Increment(ref _made)}";
        var socket = Path.Combine(hive.DataDir, "run", $"{name}.forge.sock");
        await CreateAsync(hive.Http, new { name, command = new[] { "/bin/bash", "-c", Script(forge.Url.Port) }, driver, restart = "never", network = "sealed" });
        try
        {
            var results = Path.Combine(hive.DataDir, "agents", name, "state", "forge.txt");
            await HiveInstance.Until(() => File.Exists(results) && File.ReadAllText(results).Contains("done\n"), TimeSpan.FromSeconds(60), "the agent's forge call");
            var lines = await File.ReadAllTextAsync(results);
            Assert.Matches(@"url: http://127\.0\.0\.1:\d+\n", lines);
            Assert.Contains("direct: denied", lines); // the forge's own address is not reachable from inside: the door is what reached it
            // A miss prints the agent's whole transcript of the call (NULs shown: a second run of the script would truncate it),
            // the door's record of it (a refused connect says why there) and the host's lines about the forge.
            if (!lines.Contains("HTTP/1.1 200 OK") || !lines.Contains($"\"login\":\"{name}\""))
            {
                var forgeLines = hive.Logs.Lines.Where(l => l.Text.Contains("forge", StringComparison.OrdinalIgnoreCase)).Select(l => $"{l.Level} {l.Category}: {l.Text}");
                Assert.Fail($"the agent's forge call:\n{lines.Replace("\0", "\\0", StringComparison.Ordinal)}\nthe door's record: " +
                    $"{await hive.Http.GetStringAsync($"/api/agents/{name}/net")}\nthe host's forge lines:\n{string.Join('\n', forgeLines)}");
            }
            Assert.True(File.Exists(socket), $"{socket} while the agent is there");

            var attempts = Array.Empty<JsonElement>();
            await HiveInstance.Until(() =>
            {
                attempts = hive.Http.GetFromJsonAsync<JsonElement>($"/api/agents/{name}/net").GetAwaiter().GetResult().EnumerateArray()
                    .Where(a => a.GetProperty("method").GetString() == "FORGE").ToArray();
                return attempts.Length == 1;
            }, TimeSpan.FromSeconds(30), "the forge connection recorded");
            var attempt = attempts[0];
            Assert.Equal("allowed", attempt.GetProperty("decision").GetString());
            Assert.Equal("127.0.0.1", attempt.GetProperty("host").GetString());
            Assert.Equal(forge.Url.Port, attempt.GetProperty("port").GetInt32());
            Assert.True(attempt.GetProperty("bytes_out").GetInt64() > 0 && attempt.GetProperty("bytes_in").GetInt64() > 0, attempt.ToString());
        }
        finally
        {
            await DestroyAsync(hive, name);
        }
        await HiveInstance.Until(() => !File.Exists(socket), TimeSpan.FromSeconds(30), "the forge socket gone with the agent");
    }

    [Fact]
    public async Task A_sealed_agent_of_a_hive_without_a_forge_has_no_forge_url_and_no_forge_socket()
    {
        await using var hive = await HiveInstance.StartAsync([], "--Hive:Containers:StopGraceSeconds", "2");
        var name = $"noforge-{Interlocked.Increment(ref _made)}";
        const string script = """
            exec > "$HIVE_STATE_DIR/forge.txt" 2>&1
            echo "url: ${HIVE_FORGE_URL:-none}"
            echo "sockets: $(ls /run/hive | tr '\n' ' ')"
            echo done
            exec sleep 100000
            """;
        await CreateAsync(hive.Http, new { name, command = new[] { "/bin/bash", "-c", script }, driver = "bubblewrap", restart = "never", network = "sealed" });
        try
        {
            var results = Path.Combine(hive.DataDir, "agents", name, "state", "forge.txt");
            await HiveInstance.Until(() => File.Exists(results) && File.ReadAllText(results).Contains("done\n"), TimeSpan.FromSeconds(60), "the agent's environment");
            var lines = await File.ReadAllTextAsync(results);
            Assert.Contains("url: none", lines);
            Assert.Contains($"{name}.egress.sock", lines); // the listing is the sealed agent's doors: its egress proxy's is there
            Assert.DoesNotContain("forge.sock", lines);
            Assert.False(File.Exists(Path.Combine(hive.DataDir, "run", $"{name}.forge.sock")));
        }
        finally
        {
            await DestroyAsync(hive, name);
        }
    }

    [Fact]
    public async Task The_port_gives_the_forge_url_with_the_forges_scheme_and_path_and_refuses_another_scheme()
    {
        var socket = Path.Combine(Path.GetTempPath(), $"hive-forge-door-{Guid.NewGuid():N}.sock"); // never listened on: only the variable is read
        var run = await Hivectl.RunAsync(["port", "--forge", socket, "--forge-scheme", "https", "--forge-path", "/git", "--", "/bin/sh", "-c", "echo \"url=$HIVE_FORGE_URL\""]);
        Assert.Equal(0, run.ExitCode);
        Assert.Matches(@"url=https://127\.0\.0\.1:\d+/git\n", run.Stdout);
        var bad = await Hivectl.RunAsync(["port", "--forge", socket, "--forge-scheme", "ftp", "--", "/bin/true"]);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--forge-scheme", bad.Stderr);
    }
}
