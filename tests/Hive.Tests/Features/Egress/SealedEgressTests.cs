using System.Net.Sockets;
using Dapper;
using Microsoft.Data.Sqlite;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Egress;

/// <summary>
/// The egress proxy from inside: a sealed agent (under bubblewrap, and under the process driver of a root host) asks its
/// <c>HTTPS_PROXY</c>, which is its <c>hivectl port --proxy</c> in front of the hive's real egress proxy, for four places
/// (the names are the fixture's resolver's): one not in its egress, two in it that resolve to loopback and the metadata
/// address, and one in it at the test network's echo server. Only the last is reached, its bytes counted both ways, and
/// all four are on the record.
/// </summary>
public sealed class SealedEgressTests(EgressFixture fixture) : SharedHiveTests(fixture), IClassFixture<EgressFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;
    private static int _made;

    /// <summary>CONNECTs through <c>$HTTPS_PROXY</c> by bash alone; each answer's status line, and the echo, into a file.</summary>
    private static string Script(int echoPort) => $$"""
        exec > "$HIVE_STATE_DIR/egress.txt" 2>&1
        u=${HTTPS_PROXY#http://}
        connect() {
          exec 3<>"/dev/tcp/${u%:*}/${u#*:}" || { echo "$1 => no proxy at $HTTPS_PROXY"; return; }
          printf 'CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n' "$1" "$1" >&3
          IFS= read -r line <&3; echo "$1 => ${line%$'\r'}"
          if [ -n "$2" ]; then
            while IFS= read -r head <&3 && [ -n "${head%$'\r'}" ]; do :; done
            printf '%s\n' "$2" >&3; IFS= read -r back <&3; echo "echo => $back"
          fi
          exec 3>&-
        }
        connect blocked.test:443
        connect loopback.test:443
        connect metadata.test:80
        connect outside.test:{{echoPort}} ping-from-inside
        echo done
        exec sleep 100000
        """;

    [Theory]
    [InlineData("bubblewrap")]
    [InlineData("process")]
    public async Task A_sealed_agent_reaches_through_its_proxy_only_what_its_egress_names_at_an_address_not_refused_and_every_attempt_is_recorded(string driver)
    {
        if (fixture.Network is not { } network) return; // TestNetwork.Unavailable: a root host with ip and unshare
        if (driver == "process" && !Environment.IsPrivilegedProcess) return; // the process driver seals on a root host only
        var echo = network.Listen(async connection =>
        {
            var buffer = new byte[4096];
            int read;
            while ((read = await connection.ReceiveAsync(buffer)) > 0) await connection.SendAsync(buffer.AsMemory(0, read));
            connection.Shutdown(SocketShutdown.Send);
        });
        var name = $"inside-{driver[..4]}-{Interlocked.Increment(ref _made)}";
        await CreateAsync(_hive.Http, new
        {
            name, command = new[] { "/bin/bash", "-c", Script(echo.Port) }, driver, restart = "never", network = "sealed",
            egress = new[] { "loopback.test:443", "metadata.test:80", $"outside.test:{echo.Port}" },
        });
        try
        {
            var results = Path.Combine(_hive.DataDir, "agents", name, "state", "egress.txt");
            await HiveInstance.Until(() => File.Exists(results) && File.ReadAllText(results).Contains("done\n"), TimeSpan.FromSeconds(60), "the agent's attempts");
            var lines = await File.ReadAllTextAsync(results);

            Assert.Contains("blocked.test:443 => HTTP/1.1 403 Forbidden", lines);
            Assert.Contains("loopback.test:443 => HTTP/1.1 403 Forbidden", lines);
            Assert.Contains("metadata.test:80 => HTTP/1.1 403 Forbidden", lines);
            Assert.Contains($"outside.test:{echo.Port} => HTTP/1.1 200 Connection established", lines);
            Assert.Contains("echo => ping-from-inside", lines);

            var attempts = Array.Empty<JsonElement>();
            await HiveInstance.Until(() =>
            {
                attempts = _hive.Http.GetFromJsonAsync<JsonElement>($"/api/agents/{name}/net").GetAwaiter().GetResult().EnumerateArray().ToArray();
                return attempts.Length == 4;
            }, TimeSpan.FromSeconds(30), "four attempts recorded");
            var byHost = attempts.ToDictionary(a => a.GetProperty("host").GetString()!);
            Assert.Contains("not in its egress", byHost["blocked.test"].GetProperty("reason").GetString());
            Assert.Equal("127.0.0.1", byHost["loopback.test"].GetProperty("address").GetString());
            Assert.Equal("169.254.169.254", byHost["metadata.test"].GetProperty("address").GetString());
            Assert.All(new[] { "blocked.test", "loopback.test", "metadata.test" }, h => Assert.Equal("refused", byHost[h].GetProperty("decision").GetString()));
            var reached = byHost["outside.test"];
            Assert.Equal("allowed", reached.GetProperty("decision").GetString());
            Assert.Equal(network.Address.ToString(), reached.GetProperty("address").GetString());
            Assert.Equal("ping-from-inside\n".Length, reached.GetProperty("bytes_out").GetInt64());
            Assert.Equal("ping-from-inside\n".Length, reached.GetProperty("bytes_in").GetInt64());

            using var db = new SqliteConnection($"Data Source={_hive.DatabasePath};Mode=ReadOnly");
            Assert.Equal(4, db.ExecuteScalar<long>("SELECT count(*) FROM audit_log WHERE actor = @name AND action = 'egress'", new { name }));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    /// <summary>
    /// Item 5: a sealed agent's <c>npm install</c> from a registry whose host is in its egress works through the proxy (npm
    /// reads <c>HTTP_PROXY</c>); the registry is the test's, a bare HTTP server on the test network serving one package.
    /// The same install by an agent whose egress does not name the registry fails, refused on the record.
    /// </summary>
    [Fact]
    public async Task A_sealed_agents_npm_install_reaches_a_registry_in_its_egress_through_the_proxy_and_no_other()
    {
        if (fixture.Network is not { } network) return; // TestNetwork.Unavailable: a root host with ip and unshare
        if (NpmRegistry.Npm is null) return; // npm is what test.sh installs; without it there is nothing to run
        var registry = new NpmRegistry("hive-egress-probe", "1.0.3");
        var server = network.Listen(registry.ServeAsync);
        registry.BaseUrl = $"http://outside.test:{server.Port}/";
        var script = $$"""
            mkdir -p "$HIVE_STATE_DIR/project" && cd "$HIVE_STATE_DIR/project"
            echo '{"name":"project","version":"1.0.0"}' > package.json
            npm install --registry {{registry.BaseUrl}} --no-audit --no-fund --cache "$HIVE_STATE_DIR/npm-cache" hive-egress-probe@1.0.3 > npm.log 2>&1
            echo "npm:$?" > npm.done.tmp && mv npm.done.tmp npm.done # whole or absent: the test polls for it
            exec sleep 100000
            """;
        var allowed = $"npm-ok-{Interlocked.Increment(ref _made)}";
        var refused = $"npm-no-{Interlocked.Increment(ref _made)}";
        await CreateAsync(_hive.Http, new
        {
            name = allowed, command = new[] { "/bin/bash", "-c", script }, driver = "bubblewrap", restart = "never",
            network = "sealed", egress = new[] { $"outside.test:{server.Port}" }
        });
        await CreateAsync(_hive.Http, new
        {
            name = refused, command = new[] { "/bin/bash", "-c", script }, driver = "bubblewrap", restart = "never",
            network = "sealed", egress = new[] { "registry.npmjs.org:443" }
        });
        try
        {
            string Done(string agent) => Path.Combine(_hive.DataDir, "agents", agent, "state", "project", "npm.done");
            string Log(string agent) => File.ReadAllText(Path.Combine(_hive.DataDir, "agents", agent, "state", "project", "npm.log"));
            await HiveInstance.Until(() => File.Exists(Done(allowed)) && File.Exists(Done(refused)), TimeSpan.FromSeconds(180), "both installs to end");

            Assert.True(File.ReadAllText(Done(allowed)).Trim() == "npm:0", Log(allowed));
            var installed = Path.Combine(_hive.DataDir, "agents", allowed, "state", "project", "node_modules", "hive-egress-probe", "index.js");
            Assert.Equal(NpmRegistry.IndexJs, await File.ReadAllTextAsync(installed));
            Assert.NotEqual("npm:0", File.ReadAllText(Done(refused)).Trim());

            var through = (await _hive.Http.GetFromJsonAsync<JsonElement>($"/api/agents/{allowed}/net")).EnumerateArray().ToArray();
            Assert.NotEmpty(through);
            Assert.All(through, a => Assert.Equal(("outside.test", "allowed"), (a.GetProperty("host").GetString(), a.GetProperty("decision").GetString())));
            var denied = (await _hive.Http.GetFromJsonAsync<JsonElement>($"/api/agents/{refused}/net")).EnumerateArray().ToArray();
            Assert.Contains(denied, a => a.GetProperty("host").GetString() == "outside.test" && a.GetProperty("decision").GetString() == "refused");
            Assert.True(registry.TarballsServed == 1, $"the registry served {registry.TarballsServed} tarballs");
        }
        finally
        {
            await DestroyAsync(_hive, allowed);
            await DestroyAsync(_hive, refused);
        }
    }
}
