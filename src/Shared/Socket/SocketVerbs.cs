using System.Text.Json;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Protocol;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
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

/// <summary>A feature's handlers of the verbs <see cref="AgentProtocol"/> declares (found by assembly scan at start-up).</summary>
public interface ISocketVerbs
{
    void Map(SocketVerbRegistry verbs);
}

/// <summary>
/// The handler of each declared verb. The declaration says who may call it: a manager's verb on another agent's socket
/// is forbidden here, before its handler runs. Every declared verb must have a handler, and nothing else may have one.
/// </summary>
public sealed class SocketVerbRegistry
{
    private readonly Dictionary<string, SocketVerbHandler> _verbs = new(StringComparer.Ordinal);

    public SocketVerbRegistry(IEnumerable<ISocketVerbs> features)
    {
        foreach (var feature in features) feature.Map(this);
        var unmapped = AgentProtocol.Verbs.Where(v => !_verbs.ContainsKey(v.Name)).Select(v => v.Name).ToList();
        if (unmapped.Count > 0) throw new InvalidOperationException($"declared socket verbs without a handler: {string.Join(", ", unmapped)}");
    }

    public void Map<TArgs, TReply>(SocketVerb<TArgs, TReply> verb, Func<SocketRequest, TArgs, Task<TReply>> handler) =>
        Add(verb, async request => await handler(request, Bind<TArgs>(request)));

    public void Map<TArgs>(SocketVerb<TArgs, NoReply> verb, Func<SocketRequest, TArgs, Task> handler) =>
        Add(verb, async request =>
        {
            await handler(request, Bind<TArgs>(request));
            return null;
        });

    public bool TryGet(string op, out SocketVerbHandler handler) => _verbs.TryGetValue(op, out handler!);

    private void Add(SocketVerb verb, SocketVerbHandler handler)
    {
        if (AgentProtocol.Find(verb.Name) != verb) throw new InvalidOperationException($"socket verb '{verb.Name}' is not declared in AgentProtocol");
        var checkedHandler = verb.Caller == VerbCaller.Manager
            ? request => request.Agent == AgentNames.Manager ? handler(request) : throw new ForbiddenException("only the manager may do this")
            : handler;
        if (!_verbs.TryAdd(verb.Name, checkedHandler))
            throw new InvalidOperationException($"socket verb '{verb.Name}' is mapped twice");
    }

    private static TArgs Bind<TArgs>(SocketRequest request) =>
        typeof(TArgs) == typeof(NoArgs) ? (TArgs)(object)new NoArgs() : request.Bind<TArgs>();
}

/// <summary>The verbs every agent has regardless of features.</summary>
public sealed class CoreSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs) =>
        verbs.Map(MessageVerbs.Whoami, (request, _) => Task.FromResult(new WhoamiReply(request.Agent)));
}
