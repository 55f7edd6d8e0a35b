using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run.Acp;

/// <summary>
/// The harness as an ACP client (<c>hivectl run --acp -- COMMAND</c>): COMMAND is an agent speaking the Agent Client
/// Protocol on its stdio, started once and kept between wakes (<see cref="AcpAgent"/>). It is initialized (within <c>--init-timeout</c>), its
/// session opened with the hive's tools as an MCP server (<c>hivectl mcp</c>) or the kept one loaded (a restart goes on in
/// the same conversation, as <c>--resume</c> does for Claude Code); each wake's messages are one prompt, and the turn ends
/// on the prompt's stop reason. What the agent asks of the client is answered here: files within its work dir and home
/// (<see cref="AcpFiles"/>; asking beyond ends the turn), permission by the hive's policy (<see cref="AcpPermissions"/>).
/// The agent going wrong (broken JSON-RPC, no answer, a flood of updates, exiting) ends the turn with the reason; the next
/// wake starts it again.
/// </summary>
internal sealed class AcpTurns(string socketPath, string[] argv, TimeSpan initTimeout, TextWriter log, string? systemPrompt = null) : ITurnRunner
{
    /// <summary>Updates one turn may bring before it is ended as a flood.</summary>
    public const int MaxUpdatesPerTurn = 20_000;

    /// <summary>How long a cancelled prompt gets to answer before the agent is stopped.</summary>
    private static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(5);

    private readonly string _workDir = Environment.CurrentDirectory;
    private AcpAgent? _agentField;

    /// <summary>The agent's process and session, made at the first turn (its callbacks are this class's).</summary>
    private AcpAgent Agent => _agentField ??= new AcpAgent(socketPath, argv, initTimeout, _workDir, log, OnRequestAsync, OnNotification, systemPrompt);

    /// <summary>The turn being run: where updates and the agent's requests go; null between turns.</summary>
    private volatile TurnState? _turn;

    private sealed class TurnState(AcpUpdates updates, TranscriptForwarder transcript)
    {
        public AcpUpdates Updates { get; } = updates;
        public TranscriptForwarder Transcript { get; } = transcript;
        public TaskCompletionSource<string> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public async Task<TurnOutcome> TurnAsync(List<JsonObject> messages, TurnSlot? slot, Conversation conversation, TranscriptForwarder transcript)
    {
        var started = DateTimeOffset.UtcNow;
        // Not the current turn until its session is open: a session/load replays the conversation as updates, which are history.
        var turn = new TurnState(new AcpUpdates(conversation.Model ?? Agent.Model) { SessionId = Agent.Session }, transcript);
        string? failure = null;
        TurnStop? stopped = null;
        try
        {
            var session = await Agent.SessionAsync(conversation, transcript);
            turn = new TurnState(new AcpUpdates(conversation.Model ?? Agent.Model) { SessionId = session }, transcript);
            _turn = turn;
            var prompt = Agent.Peer.RequestAsync("session/prompt", new JsonObject
            {
                ["sessionId"] = session,
                ["prompt"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = Prompt(messages) }),
            }, CancellationToken.None);
            var watching = slot?.WatchAsync(log) ?? new TaskCompletionSource<TurnStop?>().Task;
            var waiting = new List<Task> { prompt, watching, turn.Ended.Task };
            while (true)
            {
                var first = await Task.WhenAny(waiting);
                if (first == prompt)
                {
                    transcript.Add(turn.Updates.End(await prompt));
                    break;
                }
                if (first == watching)
                {
                    if (await watching is not { } stop)
                    {
                        waiting.Remove(watching); // the watch ended without a stop: the prompt's answer ends the turn
                        continue;
                    }
                    log.WriteLine($"hivectl run: the hive stops turn {slot!.Id} ({stop.Reason}): session/cancel, then the agent is stopped if it has not answered");
                    stopped = stop;
                    await Agent.CancelAsync(session, prompt, stop.Grace < CancelGrace ? stop.Grace : CancelGrace);
                    transcript.Add(turn.Updates.Fail($"stopped by the hive ({stop.Reason})"));
                    break;
                }
                failure = await turn.Ended.Task;
                await Agent.CancelAsync(session, prompt, TimeSpan.Zero);
                break;
            }
        }
        catch (JsonRpcFailure e)
        {
            failure = e.Message;
        }
        catch (JsonRpcError e)
        {
            failure = $"the agent refused: {e.Message} ({e.Code})";
        }
        catch (TimeoutException e)
        {
            failure = e.Message;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            failure = $"{argv[0]} could not run: {e.Message}";
        }
        finally
        {
            _turn = null;
        }
        if (failure is not null)
        {
            log.WriteLine($"hivectl run: the ACP agent's turn failed: {failure}");
            transcript.Add(turn.Updates.Fail(failure));
            await Agent.StopAsync();
        }
        var exit = failure is null && stopped is null && !turn.Updates.IsError ? 0 : 1;
        return new TurnOutcome(started, DateTimeOffset.UtcNow, exit, turn.Updates, stopped,
            Failure: failure ?? (turn.Updates.IsError && stopped is null ? turn.Updates.ResultText : null));
    }

    private void OnNotification(string method, JsonNode? parameters)
    {
        if (method != "session/update" || parameters?["update"] is not JsonObject update) return;
        var turn = _turn;
        if (turn is null) return; // between turns (a session/load's replay of the conversation): not this turn's
        if (turn.Updates.Count >= MaxUpdatesPerTurn)
        {
            turn.Ended.TrySetResult($"flooded: more than {MaxUpdatesPerTurn} session updates in one turn");
            return;
        }
        turn.Transcript.Add(turn.Updates.Read(update));
    }

    private async Task<JsonNode?> OnRequestAsync(string method, JsonNode? parameters, CancellationToken ct)
    {
        var turn = _turn;
        switch (method)
        {
            case "fs/read_text_file":
            case "fs/write_text_file":
                try
                {
                    return await AcpFiles.AnswerAsync(method, parameters as JsonObject, _workDir);
                }
                catch (AcpFiles.OutsideException e)
                {
                    turn?.Ended.TrySetResult(e.Message);
                    throw new JsonRpcError(JsonRpcError.InvalidParams, e.Message);
                }
            case "session/request_permission":
                return await AcpPermissions.AnswerAsync(socketPath, parameters as JsonObject, id => turn?.Updates.ToolOf(id), turn?.Transcript, log, ct);
            default:
                throw new JsonRpcError(JsonRpcError.MethodNotFound, $"{StreamJson.Cut(method, 80)} is not offered by this client");
        }
    }

    /// <summary>The wake as a prompt: the paragraph, then each message as a JSON line.</summary>
    private static string Prompt(List<JsonObject> messages)
    {
        var text = new StringBuilder(Wake.Text(messages).Replace("one JSON object per line on stdin", "one JSON object per line below", StringComparison.Ordinal));
        text.Append('\n');
        foreach (var message in messages) text.Append('\n').Append(message.ToJsonString());
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (_agentField is not null) await _agentField.StopAsync();
    }
}
