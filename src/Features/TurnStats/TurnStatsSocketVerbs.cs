using Hive.Contracts.Messages;
using Hive.Contracts.TurnStats;
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
        verbs.Map(TurnStatsVerbs.RecordTurn, async (request, a) =>
        {
            var turn = await request.Mediator.Send(new RecordTurn.Command(
                request.Agent, a.Model, a.WakeFrom, a.ResultKind, a.StartedAt, a.EndedAt, a.DurationMs, a.InputTokens, a.OutputTokens,
                a.CacheReadTokens, a.CacheCreationTokens, a.ToolCallCount, a.Tools, a.OpenThreadsCount, a.OpenRemindersCount, a.Note, a.CostUsd, a.TurnId),
                request.CancellationToken);
            return new IdReply(turn.Id);
        });

        verbs.Map(TurnStatsVerbs.Transcript, async (request, a) =>
        {
            var result = await request.Mediator.Send(new AppendTranscript.Command(request.Agent, a.Entries), request.CancellationToken);
            return new TranscriptReply(result.Stored, result.Dropped);
        });

        verbs.Map(TurnStatsVerbs.Conversation, async (request, _) =>
        {
            var c = await request.Mediator.Send(new StartConversationTurn.Command(request.Agent), request.CancellationToken);
            return new ConversationReply(c.SessionId, c.Model, c.CompactNext, c.ClearNext);
        });

        verbs.Map(TurnStatsVerbs.Session, async (request, a) =>
        {
            var c = await request.Mediator.Send(new SetSession.Command(request.Agent, a.SessionId, a.CompactNext, a.Forget), request.CancellationToken);
            return new SessionReply(c.SessionId, c.CompactNext);
        });
    }
}
