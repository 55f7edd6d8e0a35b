using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary><c>search WORDS…</c>: full-text search over messages, questions and answers, newest first, hits in <c>[[ ]]</c>.</summary>
public static class SearchCommand
{
    public static void AddTo(RootCommand root)
    {
        var words = new Argument<string[]>("words") { Description = "every word must appear; a word ending in * is a prefix", Arity = ArgumentArity.OneOrMore };
        var agent = new Option<string?>("--agent") { Description = "only texts written by or to this agent (operator for the operator)" };
        var kind = new Option<string?>("--kind") { Description = "message, question, answer or transcript" };
        var limit = new Option<long?>("--limit") { Description = "hits per page, 1 to 100 (default 20)" };
        var before = new Option<long?>("--before") { Description = "the next page: the id the last page ended with (its next_before)" };
        var command = new Command("search", "search messages, questions and answers") { words, agent, kind, limit, before };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var query = new StringBuilder("/api/search?q=").Append(Uri.EscapeDataString(string.Join(' ', cx.Value(words) ?? [])));
            if (cx.Value(agent) is { } a) query.Append("&agent=").Append(Uri.EscapeDataString(a));
            if (cx.Value(kind) is { } k) query.Append("&kind=").Append(Uri.EscapeDataString(k));
            if (cx.Value(limit) is { } l) query.Append("&limit=").Append(l);
            if (cx.Value(before) is { } b) query.Append("&before=").Append(b);
            var page = await api.GetAsync(query.ToString(), ct) ?? new JsonObject();
            var text = new StringBuilder(Text.Table(["ID", "KIND", "REF", "FROM", "TO", "AT", "SNIPPET"],
                (page["results"] as JsonArray ?? []).Select(h => (IReadOnlyList<string?>)
                    [Text.Str(h, "id"), Text.Str(h, "kind"), Text.Str(h, "ref"), Text.Str(h, "from"), Text.Str(h, "to"), Text.Str(h, "at"), Snippet(h)])));
            if (Text.Str(page, "next_before") is { } next && next != "null") text.Append($"more: --before {next}\n");
            // The index is behind the writers: it says how many stored texts it has not read yet.
            if (page["behind"] is JsonObject behind)
                text.Append($"behind: {Text.Str(behind, "texts")} stored texts not searchable yet, the oldest from {Text.Str(behind, "since")}\n");
            return new CliOutput(page, text.ToString());
        });
        root.Subcommands.Add(command);
    }

    /// <summary>The snippet's parts as one line, each hit in <c>[[ ]]</c> (the table escapes what a terminal would act on).</summary>
    private static string Snippet(JsonNode? hit) =>
        string.Concat((hit?["snippet"] as JsonArray ?? []).Select(p =>
            p?["hit"]?.GetValue<bool>() == true ? $"[[{Text.Str(p, "text")}]]" : Text.Str(p, "text")));
}
