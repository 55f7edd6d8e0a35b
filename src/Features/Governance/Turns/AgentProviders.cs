using Hive.Features.Containers;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>The provider an agent's turns count against (its configuration's <c>provider</c>; <c>anthropic</c> by default).</summary>
internal sealed class AgentProviders(IMediator mediator)
{
    public const string Default = "anthropic";

    /// <summary>The agent's provider; the default for a name the registry does not know (an agent just removed).</summary>
    public async Task<string> OfAsync(string agent, CancellationToken cancellationToken)
    {
        try
        {
            return await mediator.Send(new ReadAgentProvider.Query(agent), cancellationToken);
        }
        catch (NotFoundException)
        {
            return Default;
        }
    }
}
