using System.Diagnostics;
using System.Text;
using RabbitMQ.Client;

namespace Hive.Tests.Features.Constellation;

/// <summary>
/// A real RabbitMQ node and two hive processes on loopback: hive <c>a</c> runs alice, hive <c>b</c> runs bob. Each hive has
/// its own RabbitMQ user (user = hive name) that may configure and write only the mail exchange and its own queue, and
/// read only those (reading the exchange is what binding its queue needs).
/// </summary>
internal sealed class TwoHives : IAsyncDisposable
{
    public const string Exchange = "hive.mail";

    private readonly string _root;
    private readonly List<HostProcess> _hosts = [];

    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    private TwoHives(string root, RabbitMqNode node, Xunit.Abstractions.ITestOutputHelper output)
    {
        _output = output;
        _root = root;
        Node = node;
    }

    public RabbitMqNode Node { get; }
    public HostProcess A => _hosts[0];
    public HostProcess B => _hosts[1];

    /// <param name="extraArgs">More settings for each hive, by its name (a heartbeat interval, a public URL).</param>
    public static async Task<TwoHives> StartAsync(Xunit.Abstractions.ITestOutputHelper output, Func<string, string[]>? extraArgs = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "hive-const-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var node = await RabbitMqNode.StartAsync();
        var hives = new TwoHives(root, node, output);
        try
        {
            await DeclareExchangesAsAdminAsync(node);
            foreach (var (hive, agent) in new[] { ("a", "alice"), ("b", "bob") })
            {
                await AllowHiveAsync(node, hive);
                hives._hosts.Add(await HostProcess.StartAsync(Path.Combine(root, hive), [agent], extraArgs: [.. hives.ArgsFor(hive), .. extraArgs?.Invoke(hive) ?? []]));
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
    /// A hive's user as docs/constellation.md sets one up: it configures only its own two queues (the exchanges are the
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
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
            _output.WriteLine($"--- hive {Path.GetFileName(host.DataDir)}:\n{host.Output}"); // what the hives logged, for a failing test
        }
        await Node.DisposeAsync();
        await TestDirectories.DeleteAsync(_root);
    }
}
