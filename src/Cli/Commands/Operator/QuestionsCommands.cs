using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary><c>questions</c>: open and recently answered questions; <c>questions answer ID TEXT</c> answers as the operator.</summary>
public static class QuestionsCommands
{
    public static void AddTo(RootCommand root)
    {
        var filter = new Option<string?>("--filter") { Description = "all (default), operator, peer, or an agent's name" };
        var questions = new Command("questions", "open questions (and recently answered ones)") { filter };
        questions.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var query = cx.Value(filter) is { } f ? "?filter=" + Uri.EscapeDataString(f) : "";
            var result = await api.GetAsync("/api/questions" + query, ct) ?? new JsonObject();
            var text = new StringBuilder("open:\n");
            text.Append(Text.Table(["ID", "FROM", "TO", "ASKED", "QUESTION"],
                (result["pending"] as JsonArray ?? []).Select(q => (IReadOnlyList<string?>)
                    [Text.Str(q, "id"), Text.Str(q, "asker"), Text.Str(q, "target") ?? "operator", Text.Str(q, "asked_at"), Text.Str(q, "question")])));
            text.Append("answered:\n");
            text.Append(Text.Table(["ID", "FROM", "BY", "QUESTION", "ANSWER"],
                (result["answered"] as JsonArray ?? []).Select(q => (IReadOnlyList<string?>)
                    [Text.Str(q, "id"), Text.Str(q, "asker"), Text.Str(q, "answerer"), Text.Str(q, "question"), Text.Str(q, "answer")])));
            return new CliOutput(result, text.ToString());
        });

        var id = new Argument<long>("id") { Description = "the question's id" };
        var answerText = new Argument<string>("text") { Description = "the answer" };
        var answer = new Command("answer", "answer as the operator (on a question to an agent: an override)") { id, answerText };
        answer.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var resolved = await api.PostAsync($"/api/questions/{cx.Value(id)}/answer", new JsonObject { ["answer"] = cx.Value(answerText) }, ct);
            return new CliOutput(resolved, $"answered #{cx.Value(id)}");
        });
        questions.Subcommands.Add(answer);
        root.Subcommands.Add(questions);
    }
}
