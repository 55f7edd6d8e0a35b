using System.Diagnostics;
using System.Text;
using RabbitMQ.Client;

namespace Hive.Tests.Features.Constellation;

/// <summary>
/// A real RabbitMQ node and two hive processes on loopback: hive <c>a</c> runs alice, hive <c>b</c> runs bob. The exchanges
/// are the admin's; each hive has its own RabbitMQ user (user = hive name) with the rights <see cref="AllowHiveAsync"/> gives.
/// </summary>
internal sealed class TwoHives : IAsyncDisposable
{
    public const string Exchange = "hive.mail";

    private readonly string _root;
    private readonly List<HostProcess> _hosts = [];
    private readonly List<HostProcess> _killed = []; // lives ended by a restart, kept for their output
    private readonly Func<string, string[]> _hostArgs;

    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    private TwoHives(string root, RabbitMqNode node, Xunit.Abstractions.ITestOutputHelper output, Func<string, string[]> hostArgs)
    {
        _output = output;
        _hostArgs = hostArgs;
        _root = root;
        Node = node;
    }

    public RabbitMqNode Node { get; }
    public HostProcess A => _hosts[0];
    public HostProcess B => _hosts[1];

    /// <param name="hostArgs">More settings for both hives (after their constellation settings), kept for a restart.</param>
    public static Task<TwoHives> StartAsync(Xunit.Abstractions.ITestOutputHelper output, params string[] hostArgs) =>
        StartAsync(output, _ => hostArgs);

    /// <param name="hostArgs">More settings for each hive, by its name (a heartbeat interval, a public URL), kept for a restart.</param>
    public static async Task<TwoHives> StartAsync(Xunit.Abstractions.ITestOutputHelper output, Func<string, string[]> hostArgs)
    {
        var root = Path.Combine(Path.GetTempPath(), "hive-const-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var node = await RabbitMqNode.StartAsync();
        var hives = new TwoHives(root, node, output, hostArgs);
        try
        {
            await DeclareExchangesAsAdminAsync(node);
            foreach (var (hive, agent) in new[] { ("a", "alice"), ("b", "bob") })
            {
                await AllowHiveAsync(node, hive);
                hives._hosts.Add(await HostProcess.StartAsync(Path.Combine(root, hive), [agent], extraArgs: [.. hives.ArgsFor(hive), .. hostArgs(hive)]));
            }
            // Both queues exist before a test sends: a message routed to a hive whose queue is not declared yet is dropped.
            await UntilAsync(async () => (await node.RunCtlAsync("list_queues", "-q", "name")).Split('\n').Select(l => l.Trim()).Intersect(["a", "b"]).Count() == 2,
                "both hives to declare their queues");
            return hives;
        }
        catch
        {
            await hives.DisposeAsync();
            throw;
        }
    }

    public static string Password(string hive) => "secret-" + hive;

    /// <summary>
    /// What a hive's RabbitMQ user may write and read: the mail and heartbeat exchanges, its own mail queue and its own
    /// heartbeat queue (<c>&lt;hive&gt;.heartbeats</c>); nothing of another hive's.
    /// </summary>
    public static string Permissions(string hive) => $@"^(hive\.mail|hive\.heartbeats|{hive}|{hive}\.heartbeats)$";

    /// <summary>
    /// A hive's user as docs/operator/constellation.md sets one up: it configures only its own two queues (the exchanges are the
    /// admin's, so no hive can delete them), reads and writes as <see cref="Permissions"/>, and on the mail exchange may
    /// publish to any hive but bind only its own name (topic permissions).
    /// </summary>
    public static async Task AllowHiveAsync(RabbitMqNode node, string hive)
    {
        var allowed = Permissions(hive);
        await node.AddUserAsync(hive, Password(hive), "/", configure: $@"^({hive}|{hive}\.heartbeats)$", write: allowed, read: allowed);
        await node.RunCtlAsync("set_topic_permissions", "-p", "/", hive, Exchange, ".*", $"^{hive}$");
    }

    /// <summary>The two exchanges, declared by the broker's admin (the node's loopback-only <c>guest</c>).</summary>
    public static async Task DeclareExchangesAsAdminAsync(RabbitMqNode node)
    {
        await using var connection = await new ConnectionFactory { HostName = "127.0.0.1", Port = node.AmqpPort, AutomaticRecoveryEnabled = false }
            .CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(Exchange, ExchangeType.Topic, durable: true, autoDelete: false);
        await channel.ExchangeDeclareAsync("hive.heartbeats", ExchangeType.Fanout, durable: true, autoDelete: false);
    }

    /// <summary>The hive's constellation settings; its credentials in a 0600 file of its own.</summary>
    public string[] ArgsFor(string hive)
    {
        var credentials = Path.Combine(_root, hive + ".credentials");
        if (!File.Exists(credentials))
        {
            using var file = new FileStream(credentials, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            file.Write(Encoding.UTF8.GetBytes($"{hive}:{Password(hive)}\n"));
        }
        return
        [
            "--Hive:Constellation:Name", hive,
            "--Hive:Constellation:Broker:Host", "127.0.0.1",
            "--Hive:Constellation:Broker:Port", Node.AmqpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--Hive:Constellation:CredentialsFile", credentials,
        ];
    }

    /// <summary>
    /// The broker again after a kill or a stop, once each hive's queue has a leader. A single-node quorum queue of
    /// RabbitMQ 3.10 may come back from a SIGKILL without one (seen after a 30 s outage: queue b "leader not known" for
    /// minutes while a was leader in 0.2 s; rabbitmq-server#10070): every publish to it and every declare of it then waits
    /// for a leader, forever. That is the broker's fault, not the hive's, so a queue without a leader 5 s after the
    /// restart is given an election (<c>ra:trigger_election</c>, as that issue does by hand), and the test's output says so.
    /// </summary>
    public async Task RestartBrokerAsync()
    {
        await Node.RestartAsync();
        foreach (var queue in new[] { "a", "b" })
        {
            var server = $"'%2F_{queue}'"; // the Ra server of queue <queue> in vhost /
            var clock = Stopwatch.StartNew();
            var nudged = false;
            while ((await Node.RunCtlAsync("eval", $"ra_leaderboard:lookup_leader({server}).")).Trim() == "undefined")
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"queue {queue} has no leader 30 s after the broker restarted");
                if (!nudged && clock.Elapsed > TimeSpan.FromSeconds(5))
                {
                    _output.WriteLine($"queue {queue} had no leader 5 s after the broker restarted (RabbitMQ's own bug): election triggered");
                    await Node.RunCtlAsync("eval", $"ra:trigger_election({{{server}, node()}}).");
                    nudged = true;
                }
                await Task.Delay(200); // a poll interval: the leaderboard decides
            }
        }
    }

    /// <summary>
    /// Hive b again on its data dir with the same settings, after <c>B.KillAsync()</c> (a crash): the new life replaces
    /// <see cref="B"/>; the old one's output is still shown at the end.
    /// </summary>
    public async Task RestartBAsync()
    {
        var old = B;
        if (!old.HasExited) throw new InvalidOperationException("hive b is still running: kill it first");
        _hosts.Remove(old);
        _killed.Add(old);
        _hosts.Add(await HostProcess.StartAsync(old.DataDir, ["bob"], extraArgs: [.. ArgsFor("b"), .. _hostArgs("b")]));
    }

    /// <summary>A connection as hive <paramref name="hive"/>'s own RabbitMQ user, for publishing by hand.</summary>
    public Task<IConnection> ConnectAsAsync(string hive) =>
        new ConnectionFactory { HostName = "127.0.0.1", Port = Node.AmqpPort, UserName = hive, Password = Password(hive), AutomaticRecoveryEnabled = false }
            .CreateConnectionAsync();

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"waited {seconds} s for {what}");
            await Task.Delay(100); // a poll interval, not a synchronisation: the condition decides
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _killed.Concat(_hosts))
        {
            await host.DisposeAsync();
            _output.WriteLine($"--- hive {Path.GetFileName(host.DataDir)}:\n{host.Output}"); // what the hives logged, for a failing test
        }
        await Node.DisposeAsync();
        await TestDirectories.DeleteAsync(_root);
    }
}
