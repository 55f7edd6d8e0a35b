using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work.Reviews;

/// <summary>
/// Who takes part in a ticket's review and what each may do: the operator anything; the ticket's owner (the agent whose
/// worktree holds its branch) replies and resolves; an agent with the capability a reviewed phase of the ticket's workflow
/// names (<c>reviewed_by</c>) comments, replies and submits reviews, but never on its own work. And how the agents among
/// them hear of it: a message each, appended in the change that saved it.
/// </summary>
internal sealed class ReviewParties(WorkflowCatalog catalog, AgentPool pool, IAgentDirectory agents, Workspaces.WorkspaceRows workspaces)
{
    /// <summary>Where the ticket is and who owns its branch (the agent whose worktree holds it).</summary>
    /// <exception cref="NotFoundException">No such ticket, or it never had a branch.</exception>
    public (string Workflow, string Phase, string Owner) TicketOf(long ticketId)
    {
        var (workflow, phase) = workspaces.TicketOf(ticketId) ?? throw new NotFoundException($"no ticket {ticketId}");
        var owner = OwnerOf(ticketId) ?? throw new NotFoundException($"ticket {ticketId} has no branch: it never had a workspace");
        return (workflow, phase, owner);
    }

    /// <summary>The agent whose worktree holds (or held) the ticket's branch; null when it never had one.</summary>
    public string? OwnerOf(long ticketId) => workspaces.Find(ticketId)?.Agent;

    /// <summary>Refuses an agent that is not a reviewer of <paramref name="workflow"/>'s tickets, or that owns the ticket.</summary>
    public async Task MustReviewAsync(IMediator mediator, string by, string workflow, string owner, CancellationToken ct)
    {
        if (by == AgentNames.Operator) return;
        if (by == owner) throw new ForbiddenException($"{by} owns this ticket's branch: its reviews are someone else's to give (reply to a comment, or resolve it)");
        var capabilities = Capabilities(workflow);
        var agent = await pool.FindAsync(mediator, by, ct);
        if (agent is null || !agent.Has(capabilities))
            throw new ForbiddenException(capabilities.Count == 0
                ? $"workflow {workflow} has no phase an agent reviews: only the operator reviews its tickets"
                : $"reviewing {workflow}'s tickets takes the capability {string.Join(" or ", capabilities)}, which {by} does not have");
    }

    /// <summary>Whether <paramref name="by"/> is a reviewer of the workflow's tickets (or the operator).</summary>
    public async Task<bool> ReviewsAsync(IMediator mediator, string by, string workflow, CancellationToken ct) =>
        by == AgentNames.Operator || (await pool.FindAsync(mediator, by, ct))?.Has(Capabilities(workflow)) == true;

    /// <summary>Whether agent <paramref name="by"/> has <paramref name="capability"/>.</summary>
    public async Task<bool> HasAsync(IMediator mediator, string by, string capability, CancellationToken ct) =>
        (await pool.FindAsync(mediator, by, ct))?.Capabilities.Contains(capability) == true;

    /// <summary>The capabilities the workflow's reviewed phases name (a phase the operator reviews names none).</summary>
    public IReadOnlyList<string> Capabilities(string workflow) =>
        catalog.Find(workflow)?.Phases.Select(p => p.ReviewedBy).OfType<string>().Where(r => r != AgentNames.Operator).Distinct().ToList() ?? [];

    /// <summary>Appends one message of <paramref name="kind"/> to each agent named (not the operator, not <paramref name="from"/>, not one that is gone).</summary>
    public async Task TellAsync(IMediator mediator, string from, IEnumerable<string> to, string kind, string body, IReadOnlyDictionary<string, object?> extra)
    {
        var drafts = to.Distinct().Where(a => a != from && a != AgentNames.Operator && agents.IsAgent(a))
            .Select(a => new AppendMessages.Draft(AgentNames.Hive, a, kind, body, extra)).ToList();
        if (drafts.Count > 0) await mediator.Send(new AppendMessages.Command(drafts), CancellationToken.None);
    }
}
