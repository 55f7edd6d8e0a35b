using System.Net;
using Hive.Features.Gateway.Calls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Gateway.Door;

/// <summary>
/// The gateway's HTTP server: a Kestrel of its own (not the operator's: none of the dashboard's sign-in, host filter or
/// connection budget applies, and nothing of the operator's API is reachable from an agent's door) whose one "endpoint"
/// is every agent's door at once (<see cref="AgentDoors"/>). Each request goes to <see cref="ForwardModelCall"/>, with the
/// name of the door it came through.
/// </summary>
internal sealed class GatewayServer(AgentDoors doors, IServiceProvider hive, IOptions<GatewayOptions> options, ILoggerFactory logs)
    : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        doors.Start();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        // The hive's own logging, less the inner host's start-up lines (they would read as a second hive starting), and
        // no lifetime of its own: the hive's host stops it.
        builder.Services.AddSingleton<ILoggerFactory>(new QuietHostingLogs(logs));
        builder.Services.AddLogging();
        builder.Services.AddSingleton<IHostLifetime, HiveOwnsTheLifetime>();
        builder.Services.AddSingleton<IConnectionListenerFactory>(new DoorListenerFactory(doors, logs));
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.Value.DrainLimitBytes; // the gateway's own cap is MaxRequestBytes (ForwardModelCall)
            k.Limits.MinResponseDataRate = null; // a model writes as fast as it thinks
            k.Listen(new DoorsEndPoint());
        });
        var app = builder.Build();
        var forward = hive.GetRequiredService<ForwardModelCall>();
        app.Run(context => forward.HandleAsync(context, DoorListenerFactory.AgentOf(context)));
        await app.StartAsync(cancellationToken);
        _app = app;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is { } app) await app.StopAsync(cancellationToken);
        await doors.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app) await app.DisposeAsync();
        await doors.DisposeAsync();
    }
}

/// <summary>The gateway's server starts and stops with the hive's host, not on signals of its own.</summary>
internal sealed class HiveOwnsTheLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The hive's loggers, but for the hosting's "now listening", "application started" lines of the inner server.</summary>
internal sealed class QuietHostingLogs(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) =>
        categoryName.StartsWith("Microsoft.Hosting", StringComparison.Ordinal) || categoryName.StartsWith("Microsoft.AspNetCore.Hosting", StringComparison.Ordinal)
            ? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance
            : inner.CreateLogger(categoryName);

    public void AddProvider(ILoggerProvider provider) { }
    public void Dispose() { }
}

/// <summary>Every agent's door, as one Kestrel endpoint.</summary>
internal sealed class DoorsEndPoint : EndPoint
{
    public override string ToString() => "hive-gateway-doors";
}

/// <summary>Kestrel's transport for <see cref="DoorsEndPoint"/>: connections come from the agents' doors, each tagged with its agent.</summary>
internal sealed class DoorListenerFactory(AgentDoors doors, ILoggerFactory logs) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly SocketConnectionContextFactory _contexts = new(new SocketConnectionFactoryOptions(), logs.CreateLogger<DoorListenerFactory>());

    public bool CanBind(EndPoint endpoint) => endpoint is DoorsEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IConnectionListener>(new Listener(endpoint, doors, _contexts));

    /// <summary>The agent whose door the request came through.</summary>
    public static string AgentOf(HttpContext context) =>
        context.Features.Get<DoorFeature>()?.Agent ?? throw new InvalidOperationException("a gateway request without a door");

    /// <summary>Kestrel's accept loop ends when <see cref="AcceptAsync"/> answers null, which it does once unbound.</summary>
    private sealed class Listener(EndPoint endpoint, AgentDoors doors, SocketConnectionContextFactory contexts) : IConnectionListener
    {
        private readonly CancellationTokenSource _unbound = new();

        public EndPoint EndPoint => endpoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _unbound.Token);
            try
            {
                var (socket, agent) = await doors.Accepted.ReadAsync(either.Token);
                var connection = contexts.Create(socket);
                connection.Features.Set(new DoorFeature(agent));
                return connection;
            }
            catch (Exception e) when (e is System.Threading.Channels.ChannelClosedException or OperationCanceledException)
            {
                return null;
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            _unbound.Cancel();
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            _unbound.Cancel();
            contexts.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>Which agent's door a connection came through: its identity, as the hive socket is the agent's.</summary>
internal sealed record DoorFeature(string Agent);
