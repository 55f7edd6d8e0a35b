namespace Hive.Shared.Gateway;

/// <summary>
/// How an agent reaches its model through the hive: the Gateway slice serves each agent's own Unix socket, and the drivers
/// (Containers, lower down) show it to the agent and start the hive's forwarding port in front of it. Declared here because
/// the drivers sit below the Gateway; with no implementation, no agent's calls go through the hive.
/// </summary>
public interface IAgentGateways
{
    /// <summary>
    /// The gateway of <paramref name="agent"/>, whose configured provider is <paramref name="provider"/>; null when its
    /// model calls do not go through the hive (no provider, or one the gateway does not serve).
    /// </summary>
    AgentGatewayAccess? For(string agent, string? provider);

    /// <summary>The context, in tokens, that <paramref name="provider"/>'s model server gives a request; null when it is not said.</summary>
    long? ContextOf(string? provider) => null;

    /// <summary>The protocol <paramref name="provider"/> speaks (<c>anthropic</c>, <c>openai</c>, <c>gemini</c>); null when the gateway does not serve it.</summary>
    string? ProtocolOf(string provider) => null;

    /// <summary>
    /// Why a provider chain cannot be served, or null: every provider in it must be one the gateway serves, speaking the
    /// first's protocol (a turn moves between them as it is, so the agent's client must be able to talk to each).
    /// </summary>
    string? ChainProblem(IReadOnlyList<string>? providers)
    {
        if (providers is not { Count: > 0 }) return null;
        var first = ProtocolOf(providers[0]);
        if (first == "gemini") return "providers: a chain of gemini providers cannot run another model (Gemini names its model in the path)";
        foreach (var provider in providers)
        {
            if (ProtocolOf(provider) is not { } protocol) return $"providers: {provider} is not a provider the gateway serves (Hive:Gateway:Providers)";
            if (protocol != first) return $"providers: {provider} speaks {protocol} but {providers[0]} speaks {first}; a chain's providers speak one protocol";
        }
        return null;
    }

    /// <summary>Why an agent needing <paramref name="needs"/> tokens of context cannot run on <paramref name="provider"/>, or null.</summary>
    string? ContextProblem(string? provider, long? needs) =>
        needs is { } tokens && ContextOf(provider) is { } serves && tokens > serves
            ? $"needs {tokens} tokens of context; provider {provider} serves {serves}"
            : null;
}

/// <summary>
/// What the driver gives an agent: the host's socket for it (bound before the agent starts), and the environment its
/// model client reads: <paramref name="BaseUrlVariable"/> = <c>http://127.0.0.1:&lt;port&gt;</c> + <paramref name="BaseUrlPath"/>
/// (the port is the forwarder's, inside the sandbox), and <paramref name="KeyVariable"/> = <paramref name="PlaceholderKey"/>,
/// worth nothing outside: the gateway checks it against the socket it arrived on and adds the real key upstream.
/// </summary>
public sealed record AgentGatewayAccess(string Socket, string BaseUrlVariable, string BaseUrlPath, string KeyVariable, string PlaceholderKey);

/// <summary>No gateway: agents reach their model however their configuration says.</summary>
public sealed class NoAgentGateways : IAgentGateways
{
    public AgentGatewayAccess? For(string agent, string? provider) => null;
}
