using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// The one way a rule asks the operator: a question from <c>hive</c> with the options an answer applies
/// (<see cref="ApplyWatchdogAnswer"/>), and its row, in the rule's change. A firing asks once: its key (the rule and what
/// it fired on) is unique, so a second look at the same facts asks nothing.
/// </summary>
internal static class WatchdogQuestions
{
    public static async Task AskAsync(IMediator mediator, StateChange change, DateTimeOffset now, string rule, string agent, long? turnId, string key,
        string text, IReadOnlyList<string> options)
    {
        if (change.QuerySingle<long>("SELECT count(*) FROM watchdog_questions WHERE key = @key", new { key }) > 0) return;
        var question = await mediator.Send(new AskQuestion.Command(AgentNames.Hive, null, text, [.. options]), CancellationToken.None);
        change.Execute("""
            INSERT INTO watchdog_questions (question_id, key, rule, agent, turn_id, asked_at) VALUES (@Id, @key, @rule, @agent, @turnId, @now)
            """, new { question.Id, key, rule, agent, turnId, now });
        change.Raise(new WatchdogQuestionAsked(question.Id, rule, agent));
    }
}
