using Dapper;
using Hive.Contracts.LooseEnds;
using Hive.Shared.Data;
using Hive.Shared.LooseEnds;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>An agent's pending reminders are loose ends it may cancel (<c>cancel_loose_end {kind: "reminder"}</c>).</summary>
internal sealed class ReminderLooseEnds(IDb db, IMediator mediator) : LooseEndsSource
{
    public override string CancelKind => "reminder";

    public override async Task<IReadOnlyList<LooseEnd>> ListAsync(string agent, CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        var rows = await connection.QueryAsync<(long Id, string Body, DateTimeOffset CreatedAt, DateTimeOffset DueAt)>(new CommandDefinition(
            "SELECT id, body, created_at, due_at FROM reminders WHERE agent = @agent ORDER BY due_at, id", new { agent }, cancellationToken: cancellationToken));
        return rows.Select(r => new LooseEnd("reminder", r.Id, r.Body, r.CreatedAt, null, r.DueAt, CancelKind)).ToList();
    }

    public override Task CancelAsync(string agent, long id, CancellationToken cancellationToken) =>
        mediator.Send(new CancelReminder.Command(id, agent), cancellationToken);
}
