using MediatR;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// Who an agent's files must belong to for it to write them: on a root host each agent runs as a uid of its own with the
/// agents' common gid (<see cref="AgentUsers"/>); otherwise every agent is the host's own user and nothing needs handing
/// over (both null). Work's workspaces hand a ticket's worktree to the agent that claimed it with this.
/// </summary>
public static class ReadAgentOwner
{
    public sealed record Query(string Agent) : IRequest<Result>;

    /// <summary><paramref name="Uid"/>: the agent's own uid (null: the host's user, or no such agent); <paramref name="Gid"/>: the agents' group (null: the host's).</summary>
    public sealed record Result(uint? Uid, uint? Gid);

    internal sealed class Handler(AgentUsers users, AgentRegistry registry) : IRequestHandler<Query, Result>
    {
        public Task<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            if (!users.OwnUids || users.Unavailable is not null) return Task.FromResult(new Result(null, null));
            // An unknown name gets no slot (a slot is for good): such an agent runs nowhere, only the group matters.
            var uid = registry.Find(query.Agent) is null ? (uint?)null : users.UidOf(registry.SlotOf(query.Agent));
            return Task.FromResult(new Result(uid, users.Gid));
        }
    }
}
