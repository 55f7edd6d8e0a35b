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
internal sealed class AgentDoors : IAgentGateways, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, string> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _providers = new(StringComparer.Ordinal);
    private readonly Channel<(Socket Connection, string Agent)> _accepted = Channel.CreateUnbounded<(Socket, string)>();
    private readonly GatewayProviders _served;
    private readonly AgentDoorSockets _sockets;

    public AgentDoors(IAgentDirectory agents, HivePaths paths, GatewayProviders providers, ILogger<AgentDoors> logger)
    {
        _served = providers;
        _sockets = new AgentDoorSockets("gateway", agents, paths,
            (connection, agent) => { if (!_accepted.Writer.TryWrite((connection, agent))) connection.Dispose(); },
            logger, closed: agent => _providers.TryRemove(agent, out _));
    }

    /// <summary>Connections accepted on any agent's door, with whose door it was.</summary>
    public ChannelReader<(Socket Connection, string Agent)> Accepted => _accepted.Reader;

    public string SocketOf(string agent) => _sockets.SocketOf(agent);

    public long? ContextOf(string? provider) => provider is null ? null : _served.Find(provider)?.Context;

    public string? ProtocolOf(string provider) => _served.Find(provider)?.Protocol;

    public AgentGatewayAccess? For(string agent, string? provider)
    {
        if (provider is null || _served.Find(provider) is not { } served) return null;
        // Each as its clients read it: OpenAI's SDKs want the /v1 in the base URL, Gemini's append /v1beta themselves.
        var (urlVariable, urlPath, keyVariable) = served.Protocol switch
        {
            ProviderProtocols.OpenAi => ("OPENAI_BASE_URL", "/v1", "OPENAI_API_KEY"),
            ProviderProtocols.Gemini => ("GOOGLE_GEMINI_BASE_URL", "", "GEMINI_API_KEY"),
            _ => ("ANTHROPIC_BASE_URL", "", "ANTHROPIC_API_KEY"),
        };
        _sockets.Open(agent); // normally open already (the agent joined the directory); a no-op then
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

    public void Start() => _sockets.Start();

    public async ValueTask DisposeAsync()
    {
        await _sockets.DisposeAsync();
        _accepted.Writer.TryComplete();
    }
}
