using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading.Channels;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Gateway;
using Hive.Shared.Socket;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Gateway.Door;

/// <summary>
/// Each agent's door to its model: a Unix socket of its own at <c>run/&lt;name&gt;.gateway.sock</c>, opened when the agent
/// joins the directory (before it can start) and closed when it leaves, like its hive socket. The socket is the identity:
/// every connection accepted on it is tagged with the agent's name and handed to the gateway's HTTP server
/// (<see cref="GatewayServer"/>) through one queue. Also the agent's placeholder key (random, per host life): the drivers
/// put it in the agent's environment, and the gateway refuses a call that does not carry the key of the socket it came on.
/// </summary>
internal sealed class AgentDoors(IAgentDirectory agents, HivePaths paths, GatewayProviders providers, ILogger<AgentDoors> logger)
    : IAgentGateways, IAsyncDisposable
{
    private readonly Dictionary<string, Door> _doors = new(StringComparer.Ordinal); // also the lock for _stopped
    private readonly ConcurrentDictionary<string, string> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _providers = new(StringComparer.Ordinal);
    private readonly Channel<(Socket Connection, string Agent)> _accepted = Channel.CreateUnbounded<(Socket, string)>();
    private AgentSubscription? _subscription;
    private bool _stopped;

    /// <summary>Connections accepted on any agent's door, with whose door it was.</summary>
    public ChannelReader<(Socket Connection, string Agent)> Accepted => _accepted.Reader;

    public string SocketOf(string agent) => Path.Combine(paths.RunDir, agent + ".gateway.sock");

    public AgentGatewayAccess? For(string agent, string? provider)
    {
        if (provider is null || providers.Find(provider) is not { } served) return null;
        var (urlVariable, urlPath, keyVariable) = served.Protocol == ProviderProtocols.OpenAi
            ? ("OPENAI_BASE_URL", "/v1", "OPENAI_API_KEY")
            : ("ANTHROPIC_BASE_URL", "", "ANTHROPIC_API_KEY");
        Open(agent); // normally open already (the agent joined the directory); a no-op then
        _providers[agent] = served.Name;
        return new AgentGatewayAccess(SocketOf(agent), urlVariable, urlPath, keyVariable, KeyOf(agent));
    }

    /// <summary>
    /// The provider the agent was last launched against (its environment points at that one), so that a call need not
    /// look it up; null before a launch through the gateway in this host life.
    /// </summary>
    public string? ProviderOf(string agent) => _providers.GetValueOrDefault(agent);

    /// <summary>The agent's placeholder key for this host life: worth nothing outside the hive.</summary>
    public string KeyOf(string agent) =>
        _keys.GetOrAdd(agent, _ => "hive-" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_'));

    /// <summary>Whether <paramref name="presented"/> is the placeholder key of <paramref name="agent"/> (constant time).</summary>
    public bool IsKeyOf(string agent, string? presented) =>
        presented is not null && _keys.TryGetValue(agent, out var key) &&
        CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(presented), System.Text.Encoding.UTF8.GetBytes(key));

    public void Start()
    {
        lock (_doors)
        {
            _subscription = agents.Subscribe(change =>
            {
                if (change.Kind == AgentChangeKind.Added) TryOpen(change.Agent.Name);
                else Close(change.Agent.Name);
            });
            foreach (var agent in _subscription.Agents) TryOpen(agent.Name);
        }
    }

    private void TryOpen(string agent)
    {
        try
        {
            Open(agent);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            logger.LogError(e, "gateway: could not open the model socket of {Agent}", agent);
        }
    }

    private void Open(string agent)
    {
        lock (_doors)
        {
            if (_stopped || _doors.ContainsKey(agent)) return;
            var path = SocketOf(agent);
            var (socket, created) = SocketFiles.Listen(path, Path.Combine(paths.RunDir, "." + agent + ".gateway.new"),
                UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var door = new Door(agent, path, socket, created);
            _doors[agent] = door;
            door.Loop = AcceptAsync(door);
        }
    }

    private void Close(string agent)
    {
        Door? door;
        lock (_doors)
        {
            if (!_doors.Remove(agent, out door)) return;
            _providers.TryRemove(agent, out _);
        }
        door.Close();
    }

    private async Task AcceptAsync(Door door)
    {
        var backoff = TimeSpan.Zero;
        while (!door.Closing.IsCancellationRequested)
        {
            try
            {
                var connection = await door.Socket.AcceptAsync(door.Closing);
                backoff = TimeSpan.Zero;
                if (!_accepted.Writer.TryWrite((connection, door.Agent))) connection.Dispose();
            }
            catch (Exception) when (door.Closing.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                if (backoff == TimeSpan.Zero) logger.LogWarning("gateway: accept failed on {Agent}'s model socket: {Error}; backing off", door.Agent, e.SocketErrorCode);
                backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.TicksPerSecond));
                try { await Task.Delay(backoff, door.Closing); } catch (OperationCanceledException) { return; }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<Door> doors;
        lock (_doors)
        {
            _stopped = true;
            _subscription?.Dispose();
            doors = [.. _doors.Values];
            _doors.Clear();
        }
        foreach (var door in doors) door.Close();
        await Task.WhenAll(doors.Select(d => d.Loop ?? Task.CompletedTask));
        _accepted.Writer.TryComplete();
    }

    private sealed class Door(string agent, string path, Socket socket, SocketFiles.Identity? created)
    {
        private readonly CancellationTokenSource _closing = new();
        public string Agent => agent;
        public Socket Socket => socket;
        public CancellationToken Closing => _closing.Token;
        public Task? Loop { get; set; }

        public void Close()
        {
            _closing.Cancel();
            socket.Dispose();
            SocketFiles.DeleteIfSame(path, created);
        }
    }
}
