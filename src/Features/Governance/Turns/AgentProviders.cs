using MediatR;

namespace Hive.Features.Governance;

/// <summary>The provider an agent's turns count against (its configuration's <c>provider</c>; <c>anthropic</c> by default).</summary>
internal sealed class AgentProviders
{
    public const string Default = "anthropic";

    public Task<string> OfAsync(string agent, CancellationToken cancellationToken) => Task.FromResult(Default);
}
