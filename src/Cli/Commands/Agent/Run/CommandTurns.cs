using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run;

/// <summary>
/// How one turn of the agent went: when, its exit (0: handled), what it said of itself, why the hive stopped it, a note,
/// and why it failed in a sentence when the runner knows better than an exit code (an ACP agent's turn).
/// </summary>
internal sealed record TurnOutcome(DateTimeOffset Started, DateTimeOffset Ended, int Exit, ITurnStats Stream, TurnStop? Stopped, string? Note = null,
    string? HiveToolsMissing = null, string? Failure = null);

/// <summary>What takes a wake's messages in a turn <see cref="Harness"/> was granted, and is disposed when the harness ends.</summary>
internal interface ITurnRunner : IAsyncDisposable
{
    Task<TurnOutcome> TurnAsync(List<JsonObject> messages, TurnSlot? slot, Conversation conversation, TranscriptForwarder transcript);
}

/// <summary>
/// COMMAND once per wake (<see cref="CommandRun"/>), in the conversation the hive keeps: with <c>--claude</c>, Claude
/// Code resumed, compacted first when asked or above the watermark, and compacted and run again once on "prompt is too long".
/// </summary>
internal sealed class CommandTurns(string socketPath, string[] argv, HarnessOptions options, TextWriter log) : ITurnRunner
{
    private readonly CommandRun _command = new(socketPath, argv, options, log);

    public async Task<TurnOutcome> TurnAsync(List<JsonObject> messages, TurnSlot? slot, Conversation conversation, TranscriptForwarder transcript)
    {
        var turn = await ConversationTurnAsync(messages, slot, conversation, transcript);
        // A context above the watermark: the next turn compacts first (kept on the hive, so a restart keeps it).
        if (options.CompactAt > 0 && turn.Stream.ContextTokens > options.CompactAt && turn.Stopped is null)
        {
            log.WriteLine($"hivectl run: the context ended at {turn.Stream.ContextTokens} tokens, above --compact-at {options.CompactAt}: the next turn compacts first");
            transcript.CompactNext();
        }
        return turn;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// The turn in the conversation: a compaction first when asked (the operator's <c>/compact</c> or the watermark), then
    /// COMMAND with the messages; a "prompt is too long" result compacts and runs them once more.
    /// </summary>
    private async Task<TurnOutcome> ConversationTurnAsync(List<JsonObject> messages, TurnSlot? slot, Conversation conversation, TranscriptForwarder transcript)
    {
        var session = conversation.SessionId;
        if (conversation.Compact && session is not null)
            session = await CompactAsync(slot, conversation with { SessionId = session }, transcript, "asked") ?? session;
        var turn = await _command.RunAsync(messages, slot, conversation with { SessionId = session }, transcript, compact: false);
        if (options.Claude && session is not null && turn.Exit != 0 && turn.Stopped is null && turn.Stream.SessionId is null)
        {
            // Claude Code names its session first thing; failing before that on --resume is most likely a session it no
            // longer has (its HOME was wiped, the agent rebuilt): resuming it again would fail every turn the same way.
            log.WriteLine($"hivectl run: COMMAND failed on --resume {session} before naming a session: the next turn starts a fresh conversation");
            transcript.Forget(session);
            return turn;
        }
        if (!turn.Stream.PromptTooLong || turn.Stopped is not null) return turn;

        session = turn.Stream.SessionId ?? session;
        if (session is null) return turn with { Note = "prompt too long, and no session to compact" };
        session = await CompactAsync(slot, conversation with { SessionId = session }, transcript, "the prompt was too long") ?? session;
        var retry = await _command.RunAsync(messages, slot, conversation with { SessionId = session }, transcript, compact: false);
        return retry with { Started = turn.Started, Note = "prompt too long: compacted and retried once" };
    }

    /// <summary>One compaction pass of COMMAND on the session; the session it continues in (null when it named none).</summary>
    private async Task<string?> CompactAsync(TurnSlot? slot, Conversation conversation, TranscriptForwarder transcript, string why)
    {
        log.WriteLine($"hivectl run: compacting the conversation ({why})");
        transcript.Add([new TranscriptEntry("system", $"compacting the conversation ({why})")]);
        var pass = await _command.RunAsync([], slot, conversation, transcript, compact: true);
        if (pass.Exit != 0 || pass.Stream.IsError) log.WriteLine($"hivectl run: the compaction failed (exit {pass.Exit}): going on");
        return pass.Stream.SessionId;
    }
}
