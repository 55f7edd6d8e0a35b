using Hive.Features.Containers;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Egress.Ask;

/// <summary>
/// The operator answered an egress question: "allow once" lets the agent's next connection to the place through,
/// "allow always" adds the place to the agent's egress as the operator's configuration change (Containers'
/// <see cref="AllowEgress"/>, once this change is out: it commits to the meta repo in changes of its own), anything
/// else (or a cancel, an expiry) denies it, and the place is not asked about again.
/// </summary>
internal static class ApplyEgressAnswer
{
    public sealed record Command(long QuestionId, string Answer) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, EgressAllowances allowances, IServiceScopeFactory scopes, ILogger<Command> logger)
        : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var asked = change.QuerySingleOrDefault<Asked>(
                "SELECT agent, target FROM egress_questions WHERE question_id = @QuestionId AND state = 'open'", command);
            if (asked is null) return Unit.Task;
            var answer = command.Answer.Trim().ToLowerInvariant();
            var state = answer switch { AskEgress.AllowOnce => "once", AskEgress.AllowAlways => "always", _ => "denied" };
            change.Execute("UPDATE egress_questions SET state = @state WHERE question_id = @QuestionId", new { state, command.QuestionId });
            if (state == "once")
            {
                // Granted with the answer, so an attempt after the answer is written finds it; taken back if the change fails.
                allowances.Grant(asked.Agent, asked.Target);
                change.OnRolledBack(() => allowances.TryTake(asked.Agent, asked.Target));
            }
            if (state == "always") change.AfterPublished(() => _ = AllowAlwaysAsync(asked));
            return Unit.Task;
        }

        private async Task AllowAlwaysAsync(Asked asked)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new AllowEgress.Command(asked.Agent, asked.Target, AgentNames.Operator));
            }
            catch (Exception e)
            {
                logger.LogWarning("egress: adding {Target} to {Agent}'s egress as the operator answered failed: {Error}", asked.Target, asked.Agent, e.Message);
            }
        }
    }

    private sealed record Asked(string Agent, string Target);

    /// <summary>Every resolved question from <c>hive</c> is looked up: the egress ones are applied.</summary>
    internal sealed class OnQuestionResolved(IMediator mediator) : INotificationHandler<QuestionResolved>
    {
        public Task Handle(QuestionResolved notification, CancellationToken cancellationToken) =>
            notification.Question is { Asker: AgentNames.Hive } question
                ? mediator.Send(new Command(question.Id, question.Answer ?? AskEgress.Deny), cancellationToken)
                : Task.CompletedTask;
    }
}
