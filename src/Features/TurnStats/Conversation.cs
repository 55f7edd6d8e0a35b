using System.Text;
using Dapper;
using FluentValidation;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.TurnStats;

/// <summary>
/// An agent's conversation with its program (issue 30 items 4, 5): the session to resume, the model, and what the
/// operator asked of the next turn (<c>compact_next</c>, <c>clear_next</c>). Durable (table <c>conversations</c>), so a
/// crash of the program, of the harness or of the host loses none of it.
/// </summary>
public sealed record ConversationView(string Agent, string? SessionId, string? Model, bool CompactNext, bool ClearNext, DateTimeOffset? UpdatedAt);

internal sealed record ConversationRow(string Agent, string? SessionId, string? Model, long CompactNext, long ClearNext, DateTimeOffset? UpdatedAt)
{
    public const string Columns = "agent, session_id, model, compact_next, clear_next, updated_at";

    public ConversationView View() => new(Agent, SessionId, Model, CompactNext != 0, ClearNext != 0, UpdatedAt);

    public static ConversationView None(string agent) => new(agent, null, null, false, false, null);

    public static ConversationView Read(StateChange change, string agent) =>
        change.QuerySingleOrDefault<ConversationRow>($"SELECT {Columns} FROM conversations WHERE agent = @agent", new { agent })?.View() ?? None(agent);

    /// <summary>Writes the whole row (insert or replace) in <paramref name="change"/>.</summary>
    public static void Write(StateChange change, ConversationView view, DateTimeOffset now) =>
        change.Execute("""
            INSERT INTO conversations (agent, session_id, model, compact_next, clear_next, updated_at)
            VALUES (@Agent, @SessionId, @Model, @CompactNext, @ClearNext, @Now)
            ON CONFLICT (agent) DO UPDATE SET session_id = excluded.session_id, model = excluded.model,
                compact_next = excluded.compact_next, clear_next = excluded.clear_next, updated_at = excluded.updated_at
            """, new { view.Agent, view.SessionId, view.Model, CompactNext = view.CompactNext ? 1 : 0, ClearNext = view.ClearNext ? 1 : 0, Now = now });
}

/// <summary>The conversation changed (a slash command, a new session): <c>conversation_changed</c>, on the main stream.</summary>
public sealed record ConversationChanged(ConversationView Conversation) : IDashboardEvent
{
    public string EventType => "conversation_changed";
    public object Payload => Conversation;
}

/// <summary>The operator's read of an agent's conversation (<c>GET /api/agents/{name}/conversation</c>).</summary>
public static class ReadConversation
{
    public sealed record Query(string Agent) : IRequest<ConversationView>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator(IAgentDirectory agents) =>
            RuleFor(q => q.Agent).Must(agents.IsAgent).WithMessage("no such agent").WithErrorCode(ErrorCodes.NotFound);
    }

    internal sealed class Handler(IDb db) : IRequestHandler<Query, ConversationView>
    {
        public async Task<ConversationView> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            var row = await connection.QuerySingleOrDefaultAsync<ConversationRow>(new CommandDefinition(
                $"SELECT {ConversationRow.Columns} FROM conversations WHERE agent = @Agent", query, cancellationToken: cancellationToken));
            return row?.View() ?? ConversationRow.None(query.Agent);
        }
    }
}

/// <summary>
/// The harness at a turn's start (socket verb <c>conversation</c>): what the turn should do, with the operator's one-shot
/// asks taken in the same change (a <c>/clear</c> drops the session here, so a crash after it never resumes the old one;
/// a <c>/compact</c> taken by a turn that then crashes is not asked again: the watermark asks again if still needed).
/// </summary>
public static class StartConversationTurn
{
    public sealed record Command(string Agent) : IRequest<ConversationView>, IChangesState;

    internal sealed class Handler(StateChanges changes, TimeProvider clock) : IRequestHandler<Command, ConversationView>
    {
        public Task<ConversationView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var current = ConversationRow.Read(change, command.Agent);
            if (current.CompactNext || current.ClearNext)
            {
                var after = current with { SessionId = current.ClearNext ? null : current.SessionId, CompactNext = false, ClearNext = false };
                ConversationRow.Write(change, after, clock.GetUtcNow());
                change.Raise(new ConversationChanged(after with { UpdatedAt = clock.GetUtcNow() }));
            }
            // What this turn does: the asks as they were, the session as it is now.
            return Task.FromResult(current with { SessionId = current.ClearNext ? null : current.SessionId });
        }
    }
}

/// <summary>
/// The harness reports the session its program runs (socket verb <c>session</c>, as soon as the program names it), asks
/// a compaction of the next turn (its context ended above <c>--compact-at</c>), or forgets a session its program could
/// not resume (<c>forget</c>: the next turn starts afresh instead of failing the same way forever).
/// </summary>
public static class SetSession
{
    public const int MaxSessionIdBytes = 128;

    public sealed record Command(string Agent, string? SessionId, bool? CompactNext, string? Forget = null) : IRequest<ConversationView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() =>
            RuleFor(c => c.SessionId).Must(id => id is null || (id.Length > 0 && Encoding.UTF8.GetByteCount(id) <= MaxSessionIdBytes && !id.Any(char.IsControl)))
                .WithName("session_id").WithMessage($"session_id must be 1 to {MaxSessionIdBytes} UTF-8 bytes, without control characters");
    }

    internal sealed class Handler(StateChanges changes, TimeProvider clock) : IRequestHandler<Command, ConversationView>
    {
        public Task<ConversationView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var current = ConversationRow.Read(change, command.Agent);
            var after = current with
            {
                // Forget only the session named: one the program named since is kept.
                SessionId = command.SessionId ?? (command.Forget is not null && command.Forget == current.SessionId ? null : current.SessionId),
                CompactNext = command.CompactNext ?? current.CompactNext,
                UpdatedAt = clock.GetUtcNow(),
            };
            if (after with { UpdatedAt = current.UpdatedAt } == current) return Task.FromResult(current);
            ConversationRow.Write(change, after, clock.GetUtcNow());
            change.Raise(new ConversationChanged(after));
            return Task.FromResult(after);
        }
    }
}
