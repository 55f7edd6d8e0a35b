using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Hive.Contracts.Governance;
using Hive.Contracts.LooseEnds;
using Hive.Contracts.Messages;
using Hive.Contracts.Questions;

namespace Hive.Cli.Commands.Agent;

/// <summary>
/// The agent's commands, one socket verb each (DESIGN.md, "Agent socket protocol"): <c>whoami</c>, <c>send</c>,
/// <c>recv</c>, <c>ack</c>, <c>remind</c>, <c>ask</c>, <c>answer</c>, <c>request-next-turn</c>, <c>loose-ends</c>,
/// <c>cancel-loose-end</c>, <c>quota-hit</c>. They speak on the socket of <c>--socket</c> or
/// <c>$HIVE_SOCKET</c>: the socket is the agent's identity. <c>send</c> and <c>remind</c> are the operator's too: with
/// no socket (or with <c>--as-operator</c>) they go over HTTP with the operator token. By group: messages
/// (<see cref="AgentMessageCommands"/>), reminders (<see cref="AgentRemindCommand"/>), questions
/// (<see cref="AgentQuestionCommands"/>); the rest here.
/// </summary>
public static class AgentCommands
{
    /// <summary>The longest single <c>recv</c> long-poll the host takes; longer waits are several polls.</summary>
    public const int MaxWaitMs = 30_000;

    public static void AddTo(RootCommand root)
    {
        root.Subcommands.Add(Whoami());
        root.Subcommands.Add(AgentMessageCommands.Send());
        root.Subcommands.Add(AgentMessageCommands.Recv());
        root.Subcommands.Add(AgentMessageCommands.Ack());
        root.Subcommands.Add(AgentRemindCommand.Remind());
        root.Subcommands.Add(AgentQuestionCommands.Ask());
        root.Subcommands.Add(AgentQuestionCommands.Answer());
        root.Subcommands.Add(RequestNextTurn());
        root.Subcommands.Add(LooseEnds());
        root.Subcommands.Add(CancelLooseEnd());
        root.Subcommands.Add(QuotaHit());
        root.Subcommands.Add(SpawnCommand.Spawn());
    }

    private static Command Whoami()
    {
        var command = new Command("whoami", "the name of the agent whose socket this is");
        command.SetRun(async (cx, ct) =>
        {
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("whoami", ct: ct);
            return new CliOutput(reply, Text.Str(reply, "name"));
        });
        return command;
    }

    /// <summary><c>send</c> and <c>remind</c> as the operator even where <c>$HIVE_SOCKET</c> is set.</summary>
    internal static readonly Option<bool> AsOperator = new("--as-operator")
    {
        Description = "speak as the operator over HTTP (the default when no --socket or $HIVE_SOCKET is given)",
    };

    /// <summary>
    /// One operator call for <c>send</c> or <c>remind</c>. A refusal of the token says, besides which token was tried,
    /// that the agent form needs a socket (someone who meant to speak as an agent gave none).
    /// </summary>
    internal static async Task<JsonNode?> AsTheOperatorAsync(CliContext cx, Func<HiveApiClient, Task<JsonNode?>> call)
    {
        using var api = cx.Api();
        try
        {
            return await call(api);
        }
        catch (CliError e) when (e.Code == "unauthorized" && !cx.Parse.GetValue(AsOperator))
        {
            throw new CliError(e.Code, $"{e.Message}; to speak as an agent instead, give --socket PATH or set HIVE_SOCKET");
        }
    }

    private static Command RequestNextTurn()
    {
        var command = new Command("request-next-turn",
            "ask to be woken for another turn: a next_turn message to yourself (at most one waits; asking again returns it)");
        command.SetRun(async (cx, ct) =>
        {
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("request_next_turn", ct: ct);
            var text = reply["queued"]?.GetValue<bool>() == false
                ? $"a next turn was already waiting: #{Text.Str(reply, "id")}"
                : $"next turn queued: #{Text.Str(reply, "id")}";
            return new CliOutput(reply, text);
        });
        return command;
    }

    private static Command LooseEnds()
    {
        var command = new Command("loose-ends",
            "your open threads, oldest first: questions you asked (asked), questions waiting for your answer (to_answer), reminders not fired yet (reminder)");
        command.SetRun(async (cx, ct) =>
        {
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("loose_ends", ct: ct);
            var ends = reply["loose_ends"] as JsonArray ?? [];
            var table = Text.Table(["KIND", "ID", "SINCE", "WITH", "DUE", "CANCEL", "TEXT"], ends.Select(e => (IReadOnlyList<string?>)
            [
                Text.Str(e, "kind"), Text.Str(e, "id"), Text.Str(e, "since"), Text.Str(e, "with"), Text.Str(e, "due"), Text.Str(e, "cancel"),
                Text.OneLine(Text.Str(e, "text") ?? "", 80),
            ]));
            return new CliOutput(reply, table);
        });
        return command;
    }

    private static Command CancelLooseEnd()
    {
        var kind = new Argument<string>("kind") { Description = "question (one you asked) or reminder (one you set): the CANCEL column of loose-ends" };
        var id = new Argument<long>("id") { Description = "its id" };
        var command = new Command("cancel-loose-end", "cancel a question you asked or a reminder you set") { kind, id };
        var rest = VerbOptions.AddTo(command, LooseEndVerbs.CancelLooseEnd, "kind", "id");
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject { ["kind"] = cx.Value(kind), ["id"] = cx.Value(id) };
            rest.Fill(cx.Parse, fields);
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("cancel_loose_end", fields, ct);
            return new CliOutput(reply, $"cancelled {cx.Value(kind)} #{cx.Value(id)}");
        });
        return command;
    }

    private static Command QuotaHit()
    {
        var provider = new Option<string?>("--provider") { Description = "the provider whose limit was hit (default: your own)" };
        var until = new Option<string?>("--until") { Description = "when the limit resets, an ISO-8601 time within 7 days (default: the hive's QuotaDefaultMinutes from now)" };
        var command = new Command("quota-hit",
            "tell the hive your provider's usage or rate limit was hit: every agent on it is held until the limit resets (hivectl run does it for Claude Code)")
            { provider, until };
        var rest = VerbOptions.AddTo(command, GovernanceVerbs.QuotaHit, "provider", "until");
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject();
            if (cx.Value(provider) is { } p) fields["provider"] = p;
            if (cx.Value(until) is { } u) fields["until"] = IsoTime(u, "--until");
            rest.Fill(cx.Parse, fields);
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("quota_hit", fields, ct);
            return new CliOutput(reply, $"{Text.Str(reply, "provider")} held until {Text.Str(reply, "until")}");
        });
        return command;
    }

    /// <summary>An ISO-8601 time given on the command line (UTC unless it says otherwise) in the wire's form.</summary>
    internal static string IsoTime(string text, string flag) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)
            : throw new UsageError($"{flag} must be an ISO-8601 time, not {text}");
}
