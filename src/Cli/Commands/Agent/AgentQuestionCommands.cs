using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Hive.Contracts.Questions;

namespace Hive.Cli.Commands.Agent;

/// <summary><c>ask</c> (and wait for its answer) and <c>answer</c>: questions between an agent and the operator or other agents.</summary>
internal static class AgentQuestionCommands
{
    internal static Command Ask()
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
            var waitMs = (long)Math.Clamp((deadline - DateTime.UtcNow).TotalMilliseconds, 0, AgentCommands.MaxWaitMs);
            foreach (var m in await AgentMessageCommands.RecvAsync(socket, waitMs, 32, ct))
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

    internal static Command Answer()
    {
        var id = new Argument<long>("id") { Description = "the question's id" };
        var text = new Argument<string>("text") { Description = "the answer" };
        var command = new Command("answer", "answer a question another agent asked you") { id, text };
        var rest = VerbOptions.AddTo(command, QuestionVerbs.Answer, "id", "answer");
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject { ["id"] = cx.Value(id), ["answer"] = cx.Value(text) };
            rest.Fill(cx.Parse, fields);
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("answer", fields, ct);
            return new CliOutput(reply, $"answered #{cx.Value(id)}");
        });
        return command;
    }
}
