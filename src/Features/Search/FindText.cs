using System.Text;
using Dapper;
using FluentValidation;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using Hive.Shared.Search;
using MediatR;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Search;

/// <summary>
/// Full-text search over everything indexed (the operator's: it sees all): newest first, a page at a time, each hit with
/// a snippet whose matched words are marked. The words are quoted before they reach FTS5, so no input is FTS syntax: a
/// word ending in <c>*</c> is a prefix, every word must appear, and nothing a person types can be a syntax error.
/// </summary>
public static class FindText
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;
    public const int MaxQueryLength = 200;
    public const int MaxWords = 16;

    /// <param name="Agent">Texts written by it or to it.</param>
    /// <param name="Before">The cursor: only hits whose <c>id</c> is below it (the previous page's <c>next_before</c>).</param>
    public sealed record Query(string? Q, string? Agent = null, string? Kind = null, long? Before = null, int Limit = DefaultLimit) : IRequest<Page>;

    /// <summary>
    /// A page of hits, newest first; <see cref="NextBefore"/> is null on the last page. The hits are what is indexed:
    /// <see cref="Behind"/> says what is stored and not indexed yet, null when nothing is.
    /// </summary>
    public sealed record Page(IReadOnlyList<Hit> Results, long? NextBefore, Lag? Behind = null);

    /// <summary>The texts stored and not yet searchable: how many, and when the oldest of them was written.</summary>
    public sealed record Lag(long Texts, DateTimeOffset Since);

    /// <summary>
    /// One hit: its index id (the cursor), what it is (<see cref="Kind"/> and the source row's id <see cref="Ref"/>: a message
    /// id, or a question id for a question and its answer), between whom, when, and its snippet as parts.
    /// </summary>
    public sealed record Hit(long Id, string Kind, long Ref, string From, string? To, DateTimeOffset At, IReadOnlyList<Part> Snippet);

    /// <summary>A run of snippet text; <see cref="Hit"/> when it is a matched word (the page marks it, as text).</summary>
    public sealed record Part(string Text, bool Hit);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator(IEnumerable<ISearchSource> sources)
        {
            var kinds = sources.SelectMany(s => s.Kinds).ToHashSet(StringComparer.Ordinal);
            RuleFor(q => q.Q).NotEmpty().WithMessage("q: give some words to search for")
                .MaximumLength(MaxQueryLength).WithMessage($"q: at most {MaxQueryLength} characters");
            RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit).WithMessage($"limit must be 1 to {MaxLimit}");
            RuleFor(q => q.Before).GreaterThan(0).When(q => q.Before is not null);
            RuleFor(q => q.Kind).Must(k => kinds.Contains(k!))
                .WithMessage(_ => $"kind must be one of {string.Join(", ", kinds.Order(StringComparer.Ordinal))}").When(q => q.Kind is not null);
            RuleFor(q => q.Agent).MaximumLength(100).When(q => q.Agent is not null);
        }
    }

    internal sealed class Handler(IDb db, IEnumerable<ISearchSource> sources) : IRequestHandler<Query, Page>
    {
        // \u0001 and \u0002 mark a hit's ends in snippet(); they are split into parts here and never reach the page.
        private const string Open = "\u0001", Close = "\u0002";

        public async Task<Page> Handle(Query query, CancellationToken cancellationToken)
        {
            var match = MatchOf(query.Q!);
            // ORDER BY rowid DESC LIMIT with a rowid bound: FTS5 walks its doclists backwards from the cursor, so a page
            // costs the same however deep it is. The agent and kind filters apply to the hits as they come.
            const string sql = """
                SELECT e.id, e.kind, e.ref, e.sender AS "From", e.recipient AS "To", e.at,
                       snippet(search_text, 0, char(1), char(2), '…', 16) AS snippet
                FROM search_text JOIN search_entries e ON e.id = search_text.rowid
                WHERE search_text MATCH @match
                  AND (@Before IS NULL OR search_text.rowid < @Before)
                  AND (@Agent IS NULL OR e.sender = @Agent OR e.recipient = @Agent)
                  AND (@Kind IS NULL OR e.kind = @Kind)
                ORDER BY search_text.rowid DESC
                LIMIT @take
                """;
            using var connection = db.Open();
            // One read snapshot for the hits and the lag: what the page says is missing is exactly what it could not find.
            using var transaction = connection.BeginTransaction(deferred: true);
            var rows = (await connection.QueryAsync<Row>(new CommandDefinition(sql,
                new { match, query.Before, query.Agent, query.Kind, take = query.Limit + 1 }, transaction, cancellationToken: cancellationToken))).AsList();
            var page = rows.Take(query.Limit).Select(r => new Hit(r.Id, r.Kind, r.Ref, r.From, r.To, r.At, Parts(r.Snippet))).ToList();
            return new Page(page, rows.Count > query.Limit ? page[^1].Id : null, LagOf(connection, transaction, query.Kind));
        }

        /// <summary>Every kind's rows after its cursor (of <paramref name="kind"/> alone when the query names one); null when none.</summary>
        private Lag? LagOf(SqliteConnection connection, SqliteTransaction transaction, string? kind)
        {
            long texts = 0;
            DateTimeOffset? since = null;
            foreach (var source in sources)
                foreach (var k in source.Kinds.Where(k => kind is null || k == kind))
                {
                    var backlog = source.Backlog(connection, transaction, k, SearchIndexer.CursorOf(connection, transaction, k));
                    texts += backlog.Count;
                    if (backlog.Oldest is { } oldest && (since is null || oldest < since)) since = oldest;
                }
            return texts > 0 && since is { } at ? new Lag(texts, at) : null;
        }

        /// <summary>Settable, not positional: snippet() has no declared type, which Dapper's constructor matching cannot take.</summary>
        private sealed class Row
        {
            public long Id { get; init; }
            public string Kind { get; init; } = "";
            public long Ref { get; init; }
            public string From { get; init; } = "";
            public string? To { get; init; }
            public DateTimeOffset At { get; init; }
            public string Snippet { get; init; } = "";
        }

        private static List<Part> Parts(string snippet)
        {
            var parts = new List<Part>();
            var hit = false;
            foreach (var piece in snippet.Split([Open, Close], StringSplitOptions.None))
            {
                if (piece.Length > 0) parts.Add(new Part(piece, hit));
                hit = !hit;
            }
            return parts;
        }
    }

    /// <summary>
    /// The FTS5 query for what a person typed: each word a quoted string (quotes doubled), all of them required; a word
    /// ending in <c>*</c> a prefix. Control characters are dropped (they would pass as the snippet's markers).
    /// </summary>
    internal static string MatchOf(string q)
    {
        var words = q.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length > MaxWords) throw new BadRequestException($"q: at most {MaxWords} words");
        var match = new StringBuilder();
        foreach (var raw in words)
        {
            var word = new string(raw.Where(c => !char.IsControl(c)).ToArray());
            var prefix = word.Length > 1 && word.EndsWith('*');
            if (prefix) word = word.TrimEnd('*');
            if (!word.Any(char.IsLetterOrDigit)) continue; // punctuation alone is no word to the tokenizer
            if (match.Length > 0) match.Append(' ');
            match.Append('"').Append(word.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            if (prefix) match.Append('*');
        }
        return match.Length > 0 ? match.ToString() : throw new BadRequestException("q: give at least one word of letters or digits");
    }
}
