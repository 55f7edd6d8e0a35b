using System.Globalization;
using System.Text.RegularExpressions;
using Hive.Features.Containers;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// The operator answered a watchdog question; applied once, as one intervention by the operator:
/// <list type="bullet">
/// <item>stall, "end the turn": the turn ends (its harness stops its command; its messages come back, flagged) and the agent is resumed;</item>
/// <item>stall, "give it N more minutes": the agent is resumed and the turn's stall clock starts again N minutes from now;</item>
/// <item>loop, "resume": the agent is resumed;</item>
/// <item>"keep paused": the pause becomes the operator's (a rule can no longer lift it) and a running turn is told to stop;</item>
/// <item>crash loop, "restart it": the agent is started again (its restart count afresh); "leave it stopped" changes nothing.</item>
/// </list>
/// Anything else (a cancel, an expiry, free text) leaves things as they are.
/// </summary>
internal static partial class ApplyWatchdogAnswer
{
    public sealed record Command(long QuestionId, string Answer) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, IMediator mediator, Admission admission, GovernanceState state,
        IOptions<GovernanceOptions> options, IOptions<StopGraceOptions> grace, IServiceScopeFactory scopes, TimeProvider clock)
        : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var asked = change.QuerySingleOrDefault<Asked>(
                "SELECT rule, agent, turn_id FROM watchdog_questions WHERE question_id = @QuestionId AND state = 'open'", command);
            if (asked is null) return Unit.Value;
            change.Execute("UPDATE watchdog_questions SET state = 'answered' WHERE question_id = @QuestionId", command);
            var answer = command.Answer.Trim();
            var reason = $"answer to question {command.QuestionId}: {answer}";
            var now = clock.GetUtcNow();

            if (answer.Equals(PauseStalledAgent.KeepPaused, StringComparison.OrdinalIgnoreCase) && asked.Rule != WatchdogRules.CrashLoop)
                KeepPaused(change, asked.Agent, reason, now);
            else if (asked.Rule == WatchdogRules.Stall && answer.Equals(PauseStalledAgent.EndTheTurn, StringComparison.OrdinalIgnoreCase))
            {
                if (asked.TurnId is { } turn) await mediator.Send(new EndTurn.Command(turn, TurnEndReasons.EndedByOperator), CancellationToken.None);
                await ResumeAsync(change, asked.Agent, reason, InterventionActions.EndTurn, now, new { turn_id = asked.TurnId, ended = true });
            }
            else if (asked.Rule == WatchdogRules.Stall && GiveMore().Match(answer) is { Success: true } more)
            {
                var minutes = double.Parse(more.Groups[1].Value, CultureInfo.InvariantCulture);
                if (asked.TurnId is { } turn && admission.Find(turn) is { } slot)
                {
                    var (from, stage) = (slot.StallFrom, slot.Stall);
                    // Nudged again when the extra minutes are up, paused again StallMinutes after that.
                    slot.StallFrom = now + TimeSpan.FromMinutes(minutes - options.Value.StallMinutes);
                    slot.Stall = Admission.StallStage.None;
                    change.OnRolledBack(() => (slot.StallFrom, slot.Stall) = (from, stage));
                }
                await ResumeAsync(change, asked.Agent, reason, InterventionActions.ExtendTurn, now, new { turn_id = asked.TurnId, extra_minutes = minutes });
            }
            else if (asked.Rule == WatchdogRules.Loop && answer.Equals(PauseLoopingAgent.Resume, StringComparison.OrdinalIgnoreCase))
                await ResumeAsync(change, asked.Agent, reason, InterventionActions.Resume, now, null);
            else if (asked.Rule == WatchdogRules.CrashLoop && answer.Equals(AskCrashLoopQuestion.RestartIt, StringComparison.OrdinalIgnoreCase))
            {
                Interventions.Record(change, now, Actor.Operator, InterventionActions.Restart, asked.Agent, reason, new { state = "failed" }, new { state = "starting" });
                change.AfterPublished(() => _ = RestartAsync(asked.Agent));
            }
            change.AfterPublished(admission.Pump);
            return Unit.Value;
        }

        /// <summary>Resumes the agent as the answer's one intervention; if something else resumed it meanwhile, the answer is still recorded.</summary>
        private async Task ResumeAsync(StateChange change, string agent, string reason, string action, DateTimeOffset now, object? what)
        {
            if (state.IsPaused(agent)) await mediator.Send(new ResumeAgent.Command(agent, Actor.Operator, reason, action), CancellationToken.None);
            else if (action != InterventionActions.Resume) Interventions.Record(change, now, Actor.Operator, action, agent, reason, null, what);
        }

        /// <summary>The rule's pause becomes the operator's: the latest pause in force is now a guardian's, and a running turn stops.</summary>
        private void KeepPaused(StateChange change, string agent, string reason, DateTimeOffset now)
        {
            if (state.Paused.FirstOrDefault(p => p.Agent == agent) is not { } paused) return;
            change.Execute("UPDATE paused_agents SET paused_by = @by WHERE agent = @agent", new { agent, by = AgentNames.Operator });
            Interventions.Record(change, now, Actor.Operator, InterventionActions.Pause, agent, reason,
                new { paused = true, paused_by = paused.By }, new { paused = true, paused_by = AgentNames.Operator });
            state.SetPaused(paused with { By = AgentNames.Operator });
            change.OnRolledBack(() => state.SetPaused(paused));
            change.AfterPublished(() => admission.Revoke(s => s.Agent == agent, HoldReasons.Paused, clock.GetUtcNow() + grace.Value.StopGrace));
        }

        private async Task RestartAsync(string agent)
        {
            await using var scope = scopes.CreateAsyncScope();
            try
            {
                await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new StartAgent.Command(agent));
            }
            catch (Exception e)
            {
                scope.ServiceProvider.GetRequiredService<ILogger<Command>>().LogWarning(e, "governance: restarting {Agent} as the operator answered failed", agent);
            }
        }
    }

    [GeneratedRegex(@"^give it ([0-9]+(?:\.[0-9]+)?) more minutes?$", RegexOptions.IgnoreCase)]
    private static partial Regex GiveMore();

    private sealed record Asked(string Rule, string Agent, long? TurnId);

    /// <summary>Every resolved question from <c>hive</c> is looked up: the watchdog's are applied.</summary>
    internal sealed class OnQuestionResolved(IMediator mediator) : INotificationHandler<QuestionResolved>
    {
        public Task Handle(QuestionResolved notification, CancellationToken cancellationToken) =>
            notification.Question is { Asker: AgentNames.Hive, Answer: { } answer } question
                ? mediator.Send(new Command(question.Id, answer), cancellationToken)
                : Task.CompletedTask;
    }
}
