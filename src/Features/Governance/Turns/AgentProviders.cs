using Hive.Features.Containers;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// The provider an agent's turns count against (its configuration's <c>provider</c>; <c>anthropic</c> by default), and the
/// chain of providers its turns may run on (that one alone, unless it has a chain).
/// </summary>
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

    /// <summary>The providers its turns may run on, in order; the default alone for a name the registry does not know.</summary>
    public async Task<IReadOnlyList<string>> ChainOfAsync(string agent, CancellationToken cancellationToken)
    {
        try
        {
            return (await mediator.Send(new ReadAgentChain.Query(agent), cancellationToken)).Providers;
        }
        catch (NotFoundException)
        {
            return [Default];
        }
    }
}
