using Dapper;
using Hive.Contracts.LooseEnds;
using Hive.Shared.Data;
using Hive.Shared.LooseEnds;
using MediatR;

namespace Hive.Features.Questions;

/// <summary>
/// An agent's open questions are loose ends: those it asked (it may cancel them: <c>cancel_loose_end {kind: "question"}</c>)
/// and those addressed to it that wait for its answer (answered, not cancelled, by it).
/// </summary>
internal sealed class QuestionLooseEnds(IDb db, IMediator mediator) : LooseEndsSource
{
    public override string CancelKind => "question";

    public override async Task<IReadOnlyList<LooseEnd>> ListAsync(string agent, CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        var rows = await connection.QueryAsync<(long Id, string Asker, string? Target, string Question, DateTimeOffset AskedAt, DateTimeOffset? ExpiresAt)>(
            new CommandDefinition("""
                SELECT id, asker, target, question, asked_at, expires_at FROM questions
                WHERE answered_at IS NULL AND (asker = @agent OR target = @agent)
                ORDER BY id
                """, new { agent }, cancellationToken: cancellationToken));
        return rows.Select(r => r.Asker == agent
                ? new LooseEnd("asked", r.Id, r.Question, r.AskedAt, Targets.Display(r.Target), r.ExpiresAt, CancelKind)
                : new LooseEnd("to_answer", r.Id, r.Question, r.AskedAt, r.Asker, r.ExpiresAt, null))
            .ToList();
    }

    public override Task CancelAsync(string agent, long id, CancellationToken cancellationToken) =>
        mediator.Send(new CancelQuestion.Command(id, agent), cancellationToken);
}
