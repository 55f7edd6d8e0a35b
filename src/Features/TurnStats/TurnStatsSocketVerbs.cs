using Hive.Shared.Socket;

namespace Hive.Features.TurnStats;

/// <summary>
/// The agents' turn-stats verbs (the agent is the socket): <c>record_turn</c> (the row of one turn), <c>transcript</c>
/// (a batch of what the program printed), <c>conversation</c> (at a turn's start: the session to resume, the model, the
/// operator's asks, taken) and <c>session</c> (the program's session id, a compaction for the next turn, a session to forget).
/// </summary>
internal sealed class TurnStatsSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map("record_turn", async request =>
        {
            var a = request.Bind<RecordTurnArgs>();
            var turn = await request.Mediator.Send(new RecordTurn.Command(
                request.Agent, a.Model, a.WakeFrom, a.ResultKind, a.StartedAt, a.EndedAt, a.DurationMs, a.InputTokens, a.OutputTokens,
                a.CacheReadTokens, a.CacheCreationTokens, a.ToolCallCount, a.Tools, a.OpenThreadsCount, a.OpenRemindersCount, a.Note, a.CostUsd, a.TurnId),
                request.CancellationToken);
            return new { id = turn.Id };
        });

        verbs.Map("transcript", async request =>
        {
            var a = request.Bind<TranscriptArgs>();
            var result = await request.Mediator.Send(new AppendTranscript.Command(request.Agent, a.Entries), request.CancellationToken);
            return new { stored = result.Stored, dropped = result.Dropped };
        });

        verbs.Map("conversation", async request =>
        {
            var c = await request.Mediator.Send(new StartConversationTurn.Command(request.Agent), request.CancellationToken);
            return new { session_id = c.SessionId, model = c.Model, compact = c.CompactNext, clear = c.ClearNext };
        });

        verbs.Map("session", async request =>
        {
            var a = request.Bind<SessionArgs>();
            var c = await request.Mediator.Send(new SetSession.Command(request.Agent, a.SessionId, a.CompactNext, a.Forget), request.CancellationToken);
            return new { session_id = c.SessionId, compact_next = c.CompactNext };
        });
    }

    private sealed record RecordTurnArgs(
        string? Model, string? WakeFrom, string? ResultKind, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, long? DurationMs,
        long? InputTokens, long? OutputTokens, long? CacheReadTokens, long? CacheCreationTokens, long? ToolCallCount,
        Dictionary<string, long>? Tools, long? OpenThreadsCount, long? OpenRemindersCount, string? Note, double? CostUsd, long? TurnId);

    private sealed record TranscriptArgs(List<AppendTranscript.Entry>? Entries);

    private sealed record SessionArgs(string? SessionId, bool? CompactNext, string? Forget);
}
