using Hive.Shared.Socket;

namespace Hive.Features.TurnStats;

/// <summary>The agents' turn-stats verb: <c>record_turn</c> (the row of one turn; the agent is the socket).</summary>
internal sealed class TurnStatsSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs) =>
        verbs.Map("record_turn", async request =>
        {
            var a = request.Bind<RecordTurnArgs>();
            var turn = await request.Mediator.Send(new RecordTurn.Command(
                request.Agent, a.Model, a.WakeFrom, a.ResultKind, a.StartedAt, a.EndedAt, a.DurationMs, a.InputTokens, a.OutputTokens,
                a.CacheReadTokens, a.CacheCreationTokens, a.ToolCallCount, a.Tools, a.OpenThreadsCount, a.OpenRemindersCount, a.Note, a.CostUsd, a.TurnId),
                request.CancellationToken);
            return new { id = turn.Id };
        });

    private sealed record RecordTurnArgs(
        string? Model, string? WakeFrom, string? ResultKind, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, long? DurationMs,
        long? InputTokens, long? OutputTokens, long? CacheReadTokens, long? CacheCreationTokens, long? ToolCallCount,
        Dictionary<string, long>? Tools, long? OpenThreadsCount, long? OpenRemindersCount, string? Note, double? CostUsd, long? TurnId);
}
