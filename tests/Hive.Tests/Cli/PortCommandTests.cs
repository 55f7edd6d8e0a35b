using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Hive.Tests.Cli;

/// <summary>
/// <c>hivectl port</c> alone: the real hivectl, in a process group of its own as a driver starts it, in front
/// of a bash COMMAND that reaches a Unix socket the test serves through the URL in its environment (bash's
/// <c>/dev/tcp</c>: no curl needed). A streamed answer arrives piece by piece, many connections are served at once with
/// each side's end passed on, an unreachable socket is a 502, COMMAND's status is the port's, and SIGTERM to the group is
/// COMMAND's to handle: the port goes on forwarding until COMMAND exits.
/// </summary>
public sealed class PortCommandTests : IDisposable
{
    private const string Variable = "HIVE_TEST_URL";

    // Opens fd 3 to the port named in $HIVE_TEST_URL; $prefix is the URL's path without its leading slash (v1).
    private const string Connect = """
        u=${HIVE_TEST_URL#http://}; hp=${u%%/*}; prefix=${u#*/}
        exec 3<>"/dev/tcp/${hp%:*}/${hp#*:}" || exit 99

        """;

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hive-port-");

    private string SocketPath => Path.Combine(_dir.FullName, "gateway.sock");

    /// <summary>hivectl port in front of <c>bash -c SCRIPT</c>, through <c>setsid</c> so that its pid is its group's id.</summary>
    private RunningHivectl StartPort(string script, string? socket = null)
    {
        var info = new ProcessStartInfo("/usr/bin/setsid")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = _dir.FullName,
        };
        foreach (var arg in (string[])["/usr/bin/env", "--default-signal=INT", "dotnet", Hivectl.Dll, "port", "--to", socket ?? SocketPath,
                     "--url-variable", Variable, "--url-path", "/v1", "--", "/bin/bash", "-c", script])
            info.ArgumentList.Add(arg);
        foreach (var name in new[] { "HIVE_SOCKET", "HIVE_URL", "HIVE_TOKEN", Variable }) info.Environment.Remove(name);
        return new RunningHivectl(Process.Start(info) ?? throw new InvalidOperationException("setsid did not start"));
    }

    [Fact]
    public async Task A_streamed_answer_reaches_the_command_piece_by_piece_and_its_exit_status_is_the_ports()
    {
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var gateway = new FakeGatewaySocket(SocketPath, async connection =>
        {
            await connection.ReadHeadAsync();
            await connection.WriteAsync("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\npiece-1\n");
            await second.Task; // the rest only once the command has printed the first piece
            await connection.WriteAsync("piece-2\n");
        });
        await using var port = StartPort(Connect + """
            printf 'GET /%s/stream HTTP/1.1\r\nhost: hive\r\n\r\n' "$prefix" >&3
            while IFS= read -r line <&3; do printf 'got: %s\n' "${line%$'\r'}"; done
            exit 7
            """);

        await port.UntilLineAsync(l => l == "got: piece-1", what: "the first piece");
        Assert.DoesNotContain("got: piece-2", port.Stdout);
        Assert.StartsWith("GET /v1/stream HTTP/1.1", await gateway.NextHeadAsync());
        second.SetResult();

        var result = await port.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(7, result.ExitCode);
        Assert.Contains("got: piece-2", result.Stdout);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public async Task Many_connections_at_once_each_end_their_side_and_get_their_own_answer()
    {
        const int connections = 40;
        var arrived = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var gateway = new FakeGatewaySocket(SocketPath, async connection =>
        {
            // What the client sent up to its half-close, answered only once every connection is open at once.
            var sent = await connection.ReadToEndAsync();
            if (Interlocked.Increment(ref arrived) == connections) all.SetResult();
            await all.Task;
            await connection.WriteAsync("echo:" + sent);
        });
        await using var port = StartPort("echo \"url: $HIVE_TEST_URL\"; exec sleep 1000");
        var url = new Uri((await port.UntilLineAsync(l => l.StartsWith("url: ", StringComparison.Ordinal)))["url: ".Length..]);
        Assert.Equal("127.0.0.1", url.Host);
        Assert.Equal("/v1", url.AbsolutePath);

        var answers = await Task.WhenAll(Enumerable.Range(0, connections).Select(async i =>
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(IPAddress.Loopback, url.Port);
            await client.SendAsync(Encoding.UTF8.GetBytes($"hello-{i}"), SocketFlags.None);
            client.Shutdown(SocketShutdown.Send);
            return await ReadToEndAsync(client);
        })).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(0, connections).Select(i => $"echo:hello-{i}"), answers);
    }

    [Fact]
    public async Task A_socket_that_cannot_be_reached_is_answered_with_a_502_that_says_so()
    {
        await using var port = StartPort("echo \"url: $HIVE_TEST_URL\"; exec sleep 1000", socket: Path.Combine(_dir.FullName, "nobody.sock"));
        var url = new Uri((await port.UntilLineAsync(l => l.StartsWith("url: ", StringComparison.Ordinal)))["url: ".Length..]);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, url.Port);
        await client.SendAsync("POST /v1/messages HTTP/1.1\r\nhost: hive\r\ncontent-length: 2\r\n\r\n{}"u8.ToArray(), SocketFlags.None);
        var answer = await ReadToEndAsync(client).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("HTTP/1.1 502 Bad Gateway\r\n", answer);
        var body = JsonDocument.Parse(answer[(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]).RootElement;
        Assert.Equal("error", body.GetProperty("type").GetString());
        Assert.Contains("nobody.sock cannot be reached", body.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Sigterm_to_the_group_is_the_commands_to_handle_and_the_port_forwards_until_it_exits()
    {
        await using var gateway = new FakeGatewaySocket(SocketPath);
        await using var port = StartPort("""
            trap 'echo got-term' TERM
            sleep 1000 &
            until [ "$(cat /proc/$!/comm)" = sleep ]; do :; done # the group's SIGTERM must find sleep, or wait waits 1000 s
            echo ready
            wait $!

            """ + Connect + """
            printf 'GET /%s/after-term HTTP/1.1\r\nhost: hive\r\n\r\n' "$prefix" >&3
            IFS= read -r line <&3; echo "after: ${line%$'\r'}"
            exit 5
            """);
        await port.UntilLineAsync(l => l == "ready");

        ProcessTable.Kill(-port.Pid, 15); // as a stop signals an agent's processes: the port, bash and its sleep alike

        var result = await port.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(5, result.ExitCode);
        Assert.Equal(["ready", "got-term", "after: HTTP/1.1 200 OK"], result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("GET /v1/after-term HTTP/1.1", await gateway.NextHeadAsync());
    }

    [Fact]
    public async Task A_command_killed_by_a_signal_is_128_plus_the_signal_and_one_that_cannot_run_is_127()
    {
        await using (var killed = StartPort("kill -KILL $$"))
            Assert.Equal(128 + 9, (await killed.WaitForExitAsync(TimeSpan.FromSeconds(30))).ExitCode);

        var missing = await Hivectl.RunAsync(["port", "--to", SocketPath, "--url-variable", Variable, "--", Path.Combine(_dir.FullName, "no-such-program")]);
        Assert.Equal(127, missing.ExitCode);
        Assert.Contains("cannot run", missing.Stderr);

        var usage = await Hivectl.RunAsync(["port", "--to", SocketPath, "--url-variable", "NOT-A-NAME", "--", "/bin/true"]);
        Assert.Equal(2, usage.ExitCode);
        Assert.DoesNotContain(" port ", (await Hivectl.RunAsync(["--help"])).Stdout); // hidden from the operator's help
    }

    /// <summary>hivectl port with <paramref name="options"/> in front of <c>bash -c SCRIPT</c>, as <see cref="StartPort"/>.</summary>
    private RunningHivectl StartPortWith(string[] options, string script)
    {
        var info = new ProcessStartInfo("/usr/bin/setsid")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = _dir.FullName,
        };
        foreach (var arg in (string[])["/usr/bin/env", "--default-signal=INT", "dotnet", Hivectl.Dll, "port", .. options, "--", "/bin/bash", "-c", script])
            info.ArgumentList.Add(arg);
        foreach (var name in new[] { "HIVE_SOCKET", "HIVE_URL", "HIVE_TOKEN", Variable, "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy" })
            info.Environment.Remove(name);
        return new RunningHivectl(Process.Start(info) ?? throw new InvalidOperationException("setsid did not start"));
    }

    private const string PrintProxyVariables =
        "for v in HTTP_PROXY HTTPS_PROXY http_proxy https_proxy NO_PROXY no_proxy HIVE_TEST_URL; do echo \"$v=${!v-unset}\"; done; echo printed; exec sleep 1000";

    private static Dictionary<string, string> Variables(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains('=')).Select(l => l.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);

    /// <summary>What a Unix socket echo sends back: what the client sent up to its half-close.</summary>
    private static async Task EchoAsync(GatewayConnection connection) => await connection.WriteAsync("echo:" + await connection.ReadToEndAsync());

    private static async Task<string> ThroughAsync(int port, string text)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port);
        await client.SendAsync(Encoding.UTF8.GetBytes(text), SocketFlags.None);
        client.Shutdown(SocketShutdown.Send);
        return await ReadToEndAsync(client).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task The_proxy_alone_gives_the_command_its_proxy_variables_and_its_port_reaches_the_proxys_socket()
    {
        var proxySocket = Path.Combine(_dir.FullName, "egress.sock");
        await using var proxy = new FakeGatewaySocket(proxySocket, EchoAsync);
        await using var port = StartPortWith(["--proxy", proxySocket], PrintProxyVariables);
        await port.UntilLineAsync(l => l == "printed", what: "the command's variables");

        var variables = Variables(port.Stdout);
        var url = variables["HTTPS_PROXY"];
        Assert.Matches(@"^http://127\.0\.0\.1:\d+$", url);
        foreach (var name in new[] { "HTTP_PROXY", "http_proxy", "https_proxy" }) Assert.Equal(url, variables[name]);
        Assert.Equal("127.0.0.1,localhost,::1", variables["NO_PROXY"]);
        Assert.Equal("127.0.0.1,localhost,::1", variables["no_proxy"]);
        Assert.Equal("unset", variables[Variable]); // no gateway: no base URL

        Assert.Equal("echo:CONNECT example.org:443 HTTP/1.1\r\n\r\n", await ThroughAsync(new Uri(url).Port, "CONNECT example.org:443 HTTP/1.1\r\n\r\n"));
    }

    [Fact]
    public async Task The_gateway_and_the_proxy_each_get_a_port_of_their_own_that_reaches_their_own_socket()
    {
        var proxySocket = Path.Combine(_dir.FullName, "egress.sock");
        await using var proxy = new FakeGatewaySocket(proxySocket, async c => await c.WriteAsync("proxy:" + await c.ReadToEndAsync()));
        await using var gateway = new FakeGatewaySocket(SocketPath, async c => await c.WriteAsync("gateway:" + await c.ReadToEndAsync()));
        await using var port = StartPortWith(["--to", SocketPath, "--url-variable", Variable, "--url-path", "/v1", "--proxy", proxySocket], PrintProxyVariables);
        await port.UntilLineAsync(l => l == "printed", what: "the command's variables");

        var variables = Variables(port.Stdout);
        var gatewayUrl = new Uri(variables[Variable]);
        var proxyUrl = new Uri(variables["HTTP_PROXY"]);
        Assert.Equal("/v1", gatewayUrl.AbsolutePath);
        Assert.NotEqual(gatewayUrl.Port, proxyUrl.Port);
        Assert.Equal("gateway:one", await ThroughAsync(gatewayUrl.Port, "one"));
        Assert.Equal("proxy:two", await ThroughAsync(proxyUrl.Port, "two"));
    }

    [Fact]
    public async Task A_proxy_socket_that_is_not_there_is_answered_with_a_502_not_left_hanging()
    {
        await using var port = StartPortWith(["--proxy", Path.Combine(_dir.FullName, "no-proxy.sock")], PrintProxyVariables);
        await port.UntilLineAsync(l => l == "printed", what: "the command's variables");

        var answer = await ThroughAsync(new Uri(Variables(port.Stdout)["HTTPS_PROXY"]).Port, "CONNECT example.org:443 HTTP/1.1\r\nhost: example.org:443\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 502 Bad Gateway\r\n", answer);
        Assert.Contains("the egress proxy's socket", answer);
        Assert.Contains("no-proxy.sock cannot be reached", answer);
    }

    [Fact]
    public async Task A_port_with_neither_forward_or_a_gateway_without_its_variable_is_a_usage_error()
    {
        var neither = await Hivectl.RunAsync(["port", "--", "/bin/true"]);
        Assert.Equal(2, neither.ExitCode);
        Assert.Contains("--proxy", neither.Stderr);
        var half = await Hivectl.RunAsync(["port", "--to", SocketPath, "--", "/bin/true"]);
        Assert.Equal(2, half.ExitCode);
        Assert.Contains("--url-variable", half.Stderr);
    }

    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        var buffer = new byte[4096];
        var all = new MemoryStream();
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0) all.Write(buffer, 0, read);
        return Encoding.UTF8.GetString(all.ToArray());
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
