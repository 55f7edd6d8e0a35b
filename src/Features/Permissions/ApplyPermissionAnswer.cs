using Hive.Features.Containers;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Permissions;
using MediatR;

namespace Hive.Features.Permissions;

/// <summary>
/// A permission question was resolved: a button (or a typed allow/yes) decides it as its option says; an expiry decides it
/// as the agent's policy's <c>default</c> (deny unless it says allow); a cancel denies it. The row is decided in the
/// question's own change; the harness waiting on it is woken once that change is out (<see cref="PermissionWaiters"/>).
/// </summary>
internal static class ApplyPermissionAnswer
{
    public sealed record Command(long QuestionId, string Answer, string? Answerer) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, IMediator mediator, PermissionWaiters waiters, IAuditLog audit, TimeProvider clock)
        : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var row = change.QuerySingleOrDefault<PermissionRow>(
                $"SELECT {PermissionRow.Columns} FROM permission_requests WHERE question_id = @QuestionId AND state = '{PermissionStates.Asking}'", command);
            if (row is null) return Unit.Value;
            var options = row.OfferedOptions;
            string verdict, by;
            string? option;
            if (command.Answer == QuestionAnswers.Expired)
            {
                verdict = await DefaultOfAsync(row.Agent, cancellationToken);
                (option, by) = (PermissionOptions.For(options, verdict), "expired");
            }
            else if (command.Answer == QuestionAnswers.Cancelled)
            {
                verdict = PermissionRules.Verdicts.Deny;
                (option, by) = (PermissionOptions.For(options, verdict), "cancelled");
            }
            else
            {
                (verdict, option) = PermissionOptions.Chosen(options, command.Answer);
                by = command.Answerer ?? AgentNames.Operator;
            }
            var now = clock.GetUtcNow();
            change.Execute("""
                UPDATE permission_requests SET state = @verdict, decided_by = @by, option_id = @option, decided_at = @now WHERE id = @Id
                """, new { verdict, by, option, now, row.Id });
            (row.State, row.DecidedBy, row.OptionId, row.DecidedAt) = (verdict, by, option, now);
            var decided = row.View();
            change.AfterPublished(() =>
            {
                RequestPermission.Audit(audit, decided);
                waiters.Release(decided.Id);
            });
            return Unit.Value;
        }

        private async Task<string> DefaultOfAsync(string agent, CancellationToken cancellationToken)
        {
            try
            {
                var policy = await mediator.Send(new ReadAgentPermissions.Query(agent), cancellationToken);
                return policy?.Default ?? PermissionRules.Verdicts.Deny;
            }
            catch (Hive.Shared.Errors.NotFoundException)
            {
                return PermissionRules.Verdicts.Deny; // the agent is gone: nothing waits for the answer
            }
        }
    }

    /// <summary>Every resolved question from <c>hive</c> is looked up: the permission ones are decided.</summary>
    internal sealed class OnQuestionResolved(IMediator mediator) : INotificationHandler<QuestionResolved>
    {
        public Task Handle(QuestionResolved notification, CancellationToken cancellationToken) =>
            notification.Question is { Asker: AgentNames.Hive } question
                ? mediator.Send(new Command(question.Id, question.Answer ?? QuestionAnswers.Cancelled, question.Answerer), cancellationToken)
                : Task.CompletedTask;
    }
}
