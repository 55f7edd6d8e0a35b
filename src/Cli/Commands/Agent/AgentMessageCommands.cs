using System.CommandLine;
using System.Text.Json.Nodes;
using Hive.Contracts.Messages;

namespace Hive.Cli.Commands.Agent;

/// <summary><c>send</c> (an agent's or the operator's), <c>recv</c> and <c>ack</c>: the agent's messages.</summary>
internal static class AgentMessageCommands
{
    internal static Command Send()
    {
        var to = new Argument<string>("to") { Description = "an agent, operator, manager, or * for every other live agent" };
        var body = new Argument<string>("body") { Description = "the message (at most 1024 UTF-8 bytes)" };
        var replyTo = new Option<long?>("--reply-to") { Description = "the id of a message this one answers (in_reply_to)" };
        var clientId = new Option<string?>("--client-id") { Description = "an idempotency key: resending with it returns the first id" };
        var command = new Command("send", "send a message: as the agent of the socket, or as the operator when there is none (or --as-operator)")
            { to, body, replyTo, clientId, AgentCommands.AsOperator };
        var rest = VerbOptions.AddTo(command, MessageVerbs.Send, "to", "body", "in_reply_to", "client_id");
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject { ["to"] = cx.Value(to), ["body"] = cx.Value(body) };
            if (cx.Value(replyTo) is { } r) fields["in_reply_to"] = r;
            if (cx.Value(clientId) is { } c) fields["client_id"] = c;
            rest.Fill(cx.Parse, fields);
            if (!cx.SpeaksAsAgent(AgentCommands.AsOperator))
            {
                var sent = await AgentCommands.AsTheOperatorAsync(cx, api => api.PostAsync("/api/messages", fields, ct)) ?? new JsonObject();
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

    internal static Command Recv()
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
                var waitMs = (long)Math.Clamp((deadline - DateTime.UtcNow).TotalMilliseconds, 0, AgentCommands.MaxWaitMs);
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

    internal static Command Ack()
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
}
