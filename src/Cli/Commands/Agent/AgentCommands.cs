using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Hive.Contracts.Messages;
using Hive.Contracts.Questions;

namespace Hive.Cli.Commands.Agent;

/// <summary>
/// The agent's commands, one socket verb each (DESIGN.md, "Agent socket protocol"): <c>whoami</c>, <c>send</c>,
/// <c>recv</c>, <c>ack</c>, <c>remind</c>, <c>ask</c>, <c>answer</c>, <c>request-next-turn</c>, <c>loose-ends</c>,
/// <c>cancel-loose-end</c>, <c>quota-hit</c>. They speak on the socket of <c>--socket</c> or
/// <c>$HIVE_SOCKET</c>: the socket is the agent's identity. <c>send</c> and <c>remind</c> are the operator's too: with
/// no socket (or with <c>--as-operator</c>) they go over HTTP with the operator token.
/// </summary>
public static class AgentCommands
{
    /// <summary>The longest single <c>recv</c> long-poll the host takes; longer waits are several polls.</summary>
    public const int MaxWaitMs = 30_000;

    public static void AddTo(RootCommand root)
    {
        root.Subcommands.Add(Whoami());
        root.Subcommands.Add(Send());
        root.Subcommands.Add(Recv());
        root.Subcommands.Add(Ack());
        root.Subcommands.Add(Remind());
        root.Subcommands.Add(Ask());
        root.Subcommands.Add(Answer());
        root.Subcommands.Add(RequestNextTurn());
        root.Subcommands.Add(LooseEnds());
        root.Subcommands.Add(CancelLooseEnd());
        root.Subcommands.Add(QuotaHit());
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

    private static Command Send()
    {
        var to = new Argument<string>("to") { Description = "an agent, operator, manager, or * for every other live agent" };
        var body = new Argument<string>("body") { Description = "the message (at most 1024 UTF-8 bytes)" };
        var replyTo = new Option<long?>("--reply-to") { Description = "the id of a message this one answers (in_reply_to)" };
        var clientId = new Option<string?>("--client-id") { Description = "an idempotency key: resending with it returns the first id" };
        var command = new Command("send", "send a message: as the agent of the socket, or as the operator when there is none (or --as-operator)")
            { to, body, replyTo, clientId, AsOperator };
        var rest = VerbOptions.AddTo(command, MessageVerbs.Send, "to", "body", "in_reply_to", "client_id");
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject { ["to"] = cx.Value(to), ["body"] = cx.Value(body) };
            if (cx.Value(replyTo) is { } r) fields["in_reply_to"] = r;
            if (cx.Value(clientId) is { } c) fields["client_id"] = c;
            rest.Fill(cx.Parse, fields);
            if (!cx.SpeaksAsAgent(AsOperator))
            {
                var sent = await AsTheOperatorAsync(cx, api => api.PostAsync("/api/messages", fields, ct)) ?? new JsonObject();
                var text = sent["messages"] is JsonArray messages
                    ? $"sent to {messages.Count} agent(s): ids {string.Join(", ", messages.Select(m => Text.Str(m, "id")))} (broadcast {Text.Str(sent, "broadcast_id")})"
                    : $"sent #{Text.Str(sent, "id")}";
                return new CliOutput(sent, text);
            }
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("send", fields, ct);
            var said = reply["ids"] is JsonArray ids
                ? $"sent to {ids.Count} agent(s): ids {string.Join(", ", ids.Select(i => i?.ToString()))} (broadcast {Text.Str(reply, "broadcast_id")})"
                : $"sent #{Text.Str(reply, "id")}";
            return new CliOutput(reply, said);
        });
        return command;
    }

    /// <summary><c>send</c> and <c>remind</c> as the operator even where <c>$HIVE_SOCKET</c> is set.</summary>
    private static readonly Option<bool> AsOperator = new("--as-operator")
    {
        Description = "speak as the operator over HTTP (the default when no --socket or $HIVE_SOCKET is given)",
    };

    /// <summary>
    /// One operator call for <c>send</c> or <c>remind</c>. A refusal of the token says, besides which token was tried,
    /// that the agent form needs a socket (someone who meant to speak as an agent gave none).
    /// </summary>
    private static async Task<JsonNode?> AsTheOperatorAsync(CliContext cx, Func<HiveApiClient, Task<JsonNode?>> call)
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

    private static Command Recv()
    {
        var wait = new Option<double>("--wait") { Description = "wait up to this many seconds for a message (default 0: do not wait)" };
        var noAck = new Option<bool>("--no-ack") { Description = "do not acknowledge: the message comes back after the ack timeout" };
        var max = new Option<int>("--max") { Description = "take up to this many messages at once (1-32)", DefaultValueFactory = _ => 1 };
        var command = new Command("recv", "take the next message(s) waiting, and acknowledge them unless --no-ack") { wait, noAck, max };
        command.SetRun(async (cx, ct) =>
        {
            var seconds = cx.Value(wait);
            if (seconds < 0) throw new UsageError("--wait must be 0 or more seconds");
            var take = cx.Value(max);
            if (take is < 1 or > 32) throw new UsageError("--max must be 1 to 32");
            await using var socket = await cx.ConnectAsync(ct);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
            List<JsonNode> messages;
            while (true)
            {
                var waitMs = (long)Math.Clamp((deadline - DateTime.UtcNow).TotalMilliseconds, 0, MaxWaitMs);
                messages = await RecvAsync(socket, waitMs, take, ct);
                if (messages.Count > 0 || DateTime.UtcNow >= deadline) break;
            }
            if (!cx.Value(noAck))
                foreach (var m in messages) await socket.CallAsync("ack", new JsonObject { ["id"] = m["id"]!.DeepClone() }, ct);
            var json = take == 1
                ? CliOutput.Ok(new JsonObject { ["message"] = messages.FirstOrDefault()?.DeepClone() })
                : CliOutput.Ok(new JsonObject { ["messages"] = new JsonArray(messages.Select(m => m.DeepClone()).ToArray()) });
            var text = messages.Count == 0 ? "no message" : string.Join("\n", messages.Select(Text.Message));
            return new CliOutput(json, text);
        });
        return command;
    }

    /// <summary>One <c>recv</c> (no ack): the messages it handed out, none when the wait ended first.</summary>
    public static async Task<List<JsonNode>> RecvAsync(HiveSocketClient socket, long waitMs, int max, CancellationToken ct)
    {
        var fields = new JsonObject { ["wait_ms"] = waitMs };
        if (max > 1) fields["max"] = max;
        var reply = await socket.CallAsync("recv", fields, ct);
        if (reply["messages"] is JsonArray many) return many.Where(m => m is not null).Select(m => m!).ToList();
        return reply["message"] is { } one ? [one] : [];
    }

    private static Command Ack()
    {
        var id = new Argument<long>("id") { Description = "the message's id" };
        var command = new Command("ack", "acknowledge a message received with --no-ack") { id };
        command.SetRun(async (cx, ct) =>
        {
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("ack", new JsonObject { ["id"] = cx.Value(id) }, ct);
            return new CliOutput(reply, $"acknowledged #{cx.Value(id)}");
        });
        return command;
    }

    private static Command Remind()
    {
        var body = new Argument<string>("body") { Description = "what the reminder says when it comes back" };
        var inSeconds = new Option<long?>("--in") { Description = "due in this many seconds" };
        var at = new Option<string?>("--at") { Description = "due at this ISO-8601 time (UTC, e.g. 2026-11-22T09:00:00Z)" };
        var payload = new Option<string?>("--payload") { Description = "a state file the reminder points at (payload_path)" };
        var to = new Option<string?>("--to") { Description = "the agent the reminder is for (the operator's form; an agent reminds only itself)" };
        var cron = new Option<string?>("--cron") { Description = "a recurring reminder: five cron fields, e.g. '0 9 * * 1-5'" };
        var zone = new Option<string?>("--tz") { Description = "the IANA time zone --cron is read in (default UTC)" };
        var catchUp = new Option<string?>("--catch-up") { Description = "runs missed while the hive was down: skip (default) or one" };
        var overlap = new Option<string?>("--overlap") { Description = "skip_if_pending (default: no run while the last is unacknowledged) or always" };
        var command = new Command("remind",
            "schedule a reminder (--in SECONDS, --at ISO, or --cron for a recurring one): to yourself as an agent, or --to AGENT as the operator (no socket, or --as-operator)")
            { body, inSeconds, at, payload, to, cron, zone, catchUp, overlap, AsOperator };
        command.SetRun(async (cx, ct) =>
        {
            var asAgent = cx.SpeaksAsAgent(AsOperator);
            var target = cx.Value(to);
            if (asAgent && target is not null) throw new UsageError("--to is the operator's (an agent reminds only itself): leave out --socket and $HIVE_SOCKET, or give --as-operator");
            if (!asAgent && target is null) throw new UsageError("as the operator (no --socket or $HIVE_SOCKET), say whom to remind: --to AGENT");
            var fields = new JsonObject { ["body"] = cx.Value(body) };
            if (target is not null) fields["to"] = target;
            switch (cx.Value(inSeconds), cx.Value(at), cx.Value(cron))
            {
                case ({ } s, null, null): fields["in_seconds"] = s; break;
                case (null, { } when, null): fields["due_at"] = IsoTime(when, "--at"); break;
                case (null, null, { } expression):
                    fields["cron"] = expression;
                    if (cx.Value(zone) is { } z) fields["time_zone"] = z;
                    if (cx.Value(catchUp) is { } c) fields["catch_up"] = c;
                    if (cx.Value(overlap) is { } o) fields["overlap"] = o;
                    break;
                default: throw new UsageError("give exactly one of --in SECONDS, --at ISO and --cron EXPRESSION");
            }
            if (cx.Value(cron) is null && (cx.Value(zone) ?? cx.Value(catchUp) ?? cx.Value(overlap)) is not null)
                throw new UsageError("--tz, --catch-up and --overlap go with --cron");
            if (cx.Value(payload) is { } p) fields["payload_path"] = p;
            if (!asAgent)
            {
                var scheduled = await AsTheOperatorAsync(cx, api => api.PostAsync("/api/reminders", fields, ct)) ?? new JsonObject();
                return new CliOutput(scheduled, cx.Value(cron) is null
                    ? $"reminder #{Text.Str(scheduled, "id")} for {Text.Str(scheduled, "agent")} due {Text.Str(scheduled, "due_at")}"
                    : $"recurring reminder #{Text.Str(scheduled, "id")} for {Text.Str(scheduled, "agent")}, next {NextRuns(scheduled)}");
            }
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("remind", fields, ct);
            return new CliOutput(reply, cx.Value(cron) is null
                ? $"reminder #{Text.Str(reply, "id")} scheduled"
                : $"recurring reminder #{Text.Str(reply, "id")} set, next {NextRuns(reply)}");
        });
        return command;
    }

    private static string NextRuns(JsonNode reply) =>
        reply["next_runs"] is JsonArray runs ? string.Join(", ", runs.Select(r => r?.GetValue<string>())) : "none";

    private static Command Ask()
    {
        var question = new Argument<string>("question") { Description = "the question" };
        var to = new Option<string?>("--to") { Description = "an agent to ask (default: the operator)" };
        var wait = new Option<double?>("--wait") { Description = "wait up to this many seconds for the answer" };
        var options = new Option<string[]>("--option") { Description = "a suggested answer (repeatable; free text stays allowed)" };
        var ttl = new Option<long?>("--ttl") { Description = "seconds until the question expires as [expired]" };
        var command = new Command("ask", "ask the operator or another agent a question; --wait for its answer") { question, to, wait, options, ttl };
        var rest = VerbOptions.AddTo(command, QuestionVerbs.Ask, "question", "to", "options", "ttl_seconds");
        command.SetRun(async (cx, ct) =>
        {
            if (cx.Value(wait) is < 0) throw new UsageError("--wait must be 0 or more seconds");
            var fields = new JsonObject { ["question"] = cx.Value(question) };
            if (cx.Value(to) is { } target) fields["to"] = target;
            if (cx.Value(options) is { Length: > 0 } opts) fields["options"] = new JsonArray(opts.Select(o => (JsonNode?)o).ToArray());
            if (cx.Value(ttl) is { } t) fields["ttl_seconds"] = t;
            rest.Fill(cx.Parse, fields);
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("ask", fields, ct);
            var id = reply["id"]!.GetValue<long>();
            if (cx.Value(wait) is not { } seconds) return new CliOutput(reply, $"question #{id} asked");

            var answer = await WaitForAnswerAsync(socket, id, TimeSpan.FromSeconds(seconds), ct);
            if (answer is null)
            {
                var error = new CliError("timeout", $"no answer to question #{id} within {seconds.ToString(CultureInfo.InvariantCulture)} s (it stays open)");
                error.Data["json"] = new JsonObject { ["id"] = id };
                throw error;
            }
            var json = CliOutput.Ok(new JsonObject { ["id"] = id, ["answer"] = answer["body"]?.DeepClone(), ["answerer"] = answer["answerer"]?.DeepClone(), ["message"] = answer.DeepClone() });
            return new CliOutput(json, Text.Str(answer, "body"));
        });
        return command;
    }

    /// <summary>
    /// Receives until the <c>answer</c> message of question <paramref name="questionId"/> comes (acknowledged) or the wait
    /// ends. Every other message is left unacknowledged, so the host hands it out again after its ack timeout.
    /// </summary>
    public static async Task<JsonNode?> WaitForAnswerAsync(HiveSocketClient socket, long questionId, TimeSpan wait, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var waitMs = (long)Math.Clamp((deadline - DateTime.UtcNow).TotalMilliseconds, 0, MaxWaitMs);
            foreach (var m in await RecvAsync(socket, waitMs, 32, ct))
            {
                if (Text.Str(m, "kind") == "answer" && m["question_id"]?.GetValue<long>() == questionId)
                {
                    await socket.CallAsync("ack", new JsonObject { ["id"] = m["id"]!.DeepClone() }, ct);
                    return m;
                }
            }
            if (DateTime.UtcNow >= deadline) return null;
        }
    }

    private static Command Answer()
    {
        var id = new Argument<long>("id") { Description = "the question's id" };
        var text = new Argument<string>("text") { Description = "the answer" };
        var command = new Command("answer", "answer a question another agent asked you") { id, text };
        command.SetRun(async (cx, ct) =>
        {
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("answer", new JsonObject { ["id"] = cx.Value(id), ["answer"] = cx.Value(text) }, ct);
            return new CliOutput(reply, $"answered #{cx.Value(id)}");
        });
        return command;
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
        command.SetRun(async (cx, ct) =>
        {
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("cancel_loose_end", new JsonObject { ["kind"] = cx.Value(kind), ["id"] = cx.Value(id) }, ct);
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
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject();
            if (cx.Value(provider) is { } p) fields["provider"] = p;
            if (cx.Value(until) is { } u) fields["until"] = IsoTime(u, "--until");
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("quota_hit", fields, ct);
            return new CliOutput(reply, $"{Text.Str(reply, "provider")} held until {Text.Str(reply, "until")}");
        });
        return command;
    }

    /// <summary>An ISO-8601 time given on the command line (UTC unless it says otherwise) in the wire's form.</summary>
    private static string IsoTime(string text, string flag) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)
            : throw new UsageError($"{flag} must be an ISO-8601 time, not {text}");
}
