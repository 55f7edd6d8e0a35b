using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Egress.Ask;

/// <summary>
/// An agent with <c>egress_ask</c> was refused a place not in its egress: the operator gets one question from <c>hive</c>
/// about it ("alice wants to reach example.org:443 …"), none while one is open, none after a "deny". The connection that
/// asked has been refused already (the agent retries); the answer is applied by <see cref="ApplyEgressAnswer"/>.
/// </summary>
internal static class AskEgress
{
    public const string AllowOnce = "allow once";
    public const string AllowAlways = "allow always";
    public const string Deny = "deny";

    /// <returns>Whether a question is open about it now (asked now or before); false after a "deny".</returns>
    public sealed record Command(string Agent, string Target) : IRequest<bool>, IChangesState;

    internal sealed class Handler(StateChanges changes, IMediator mediator, TimeProvider clock) : IRequestHandler<Command, bool>
    {
        public async Task<bool> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var state = change.QuerySingleOrDefault<string>("""
                SELECT state FROM egress_questions WHERE agent = @Agent AND target = @Target AND state IN ('open', 'denied') LIMIT 1
                """, command);
            if (state is not null) return state == "open";
            var question = await mediator.Send(new AskQuestion.Command(AgentNames.Hive, null,
                $"{command.Agent} wants to reach {command.Target}, which is not in its egress. Its connection was refused; it will try again.",
                [AllowOnce, AllowAlways, Deny]), cancellationToken);
            change.Execute("""
                INSERT INTO egress_questions (question_id, agent, target, state, asked_at) VALUES (@id, @Agent, @Target, 'open', @at)
                """, new { id = question.Id, command.Agent, command.Target, at = clock.GetUtcNow() });
            return true;
        }
    }
}
