using System.Text.Json;
using Hive.Shared.Errors;
using Hive.Shared.Json;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Shared.Socket;

/// <summary>One request on an agent's socket: who sent it (the socket is the identity) and its JSON object.</summary>
public sealed class SocketRequest(string agent, JsonElement body, IServiceProvider services, CancellationToken cancellationToken)
{
    public string Agent { get; } = agent;
    public JsonElement Body { get; } = body;
    public IServiceProvider Services { get; } = services;
    public CancellationToken CancellationToken { get; } = cancellationToken;
    public IMediator Mediator => Services.GetRequiredService<IMediator>();

    /// <summary>Cancelled when the connection this request came on closes (whatever the reason): for what lives as long as it.</summary>
    public CancellationToken ConnectionClosed { get; init; }

    /// <summary>
    /// Set by a verb that hands something out (recv takes a message): run when its reply cannot be written because
    /// the agent hung up, so nothing is lost with the connection.
    /// </summary>
    public Func<Task>? UndoIfUnreplied { get; set; }

    /// <summary>The request's fields as <typeparamref name="T"/>; a field of the wrong type is a bad_request.</summary>
    public T Bind<T>() => Body.Deserialize<T>(HiveJson.Options) ?? throw new BadRequestException("the request must be a JSON object");
}

/// <summary>Handles a verb; returns the reply's fields (an object whose properties join <c>"ok": true</c>) or null.</summary>
public delegate Task<object?> SocketVerbHandler(SocketRequest request);

/// <summary>A feature's socket verbs, declared in one place in the feature (found by assembly scan at start-up).</summary>
public interface ISocketVerbs
{
    void Map(SocketVerbRegistry verbs);
}

public sealed class SocketVerbRegistry
{
    private readonly Dictionary<string, SocketVerbHandler> _verbs = new(StringComparer.Ordinal);

    public SocketVerbRegistry(IEnumerable<ISocketVerbs> features)
    {
        foreach (var feature in features) feature.Map(this);
    }

    public void Map(string op, SocketVerbHandler handler)
    {
        if (!_verbs.TryAdd(op, handler))
            throw new InvalidOperationException($"socket verb '{op}' is mapped twice");
    }

    public bool TryGet(string op, out SocketVerbHandler handler) => _verbs.TryGetValue(op, out handler!);
}

/// <summary>The verbs every agent has regardless of features.</summary>
public sealed class CoreSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs) =>
        verbs.Map("whoami", request => Task.FromResult<object?>(new { name = request.Agent }));
}
