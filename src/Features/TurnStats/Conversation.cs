using Hive.Contracts.TurnStats;
using Hive.Shared.Changes;
using Hive.Shared.Dashboard;

namespace Hive.Features.TurnStats;

/// <summary>
/// An agent's conversation with its program: the session to resume, the model, and what the
/// operator asked of the next turn (<c>compact_next</c>, <c>clear_next</c>). Durable (table <c>conversations</c>), so a
/// crash of the program, of the harness or of the host loses none of it.
/// </summary>
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
public sealed record ConversationChanged(ConversationView Conversation) : IDashboardEvent<ConversationView>
{
    public string EventType => "conversation_changed";
    public ConversationView Payload => Conversation;
}
