using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// An agent crashed until its restart policy gave up (state <c>failed</c>): the operator gets one question from
/// <c>hive</c> for that failure, in the change that records it: restart it, or leave it stopped.
/// </summary>
internal static class AskCrashLoopQuestion
{
    public const string RestartIt = "restart it";
    public const string LeaveItStopped = "leave it stopped";

    internal sealed class Handler(StateChanges changes, IMediator mediator, IOptions<GovernanceOptions> options, TimeProvider clock)
        : IRequestHandler<AgentFailed>
    {
        public async Task<Unit> Handle(AgentFailed failed, CancellationToken cancellationToken)
        {
            changes.Current.Raise(new AgentWentFailed(failed.Agent, failed.How, failed.At));
            if (!options.Value.CrashLoopQuestion) return Unit.Value;
            await WatchdogQuestions.AskAsync(mediator, changes.Current, clock.GetUtcNow(), WatchdogRules.CrashLoop, failed.Agent, null,
                $"crash_loop:{failed.Agent}:{failed.At.UtcTicks}",
                $"{failed.Agent} kept crashing ({failed.How}) and is failed: the hive will not restart it again. Restart it?",
                [RestartIt, LeaveItStopped]);
            return Unit.Value;
        }
    }
}
