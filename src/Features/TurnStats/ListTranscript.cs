using Dapper;
using FluentValidation;
using Hive.Contracts.TurnStats;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.TurnStats;

/// <summary>
/// An agent's transcript a page at a time, newest first (keyset on the id): all of it, or one recorded turn's
/// (<c>?turn=&lt;turn id&gt;</c>), or the running turn's (<c>?turn=running</c>); <c>?before=&lt;entry id&gt;&amp;limit=</c>.
/// </summary>
public static class ListTranscript
{
    public const int DefaultLimit = 200;
    public const int MaxLimit = 1000;

    /// <summary><paramref name="Turn"/>: null for all, 0 for the running turn, else a turn's id.</summary>
    public sealed record Query(string Agent, long? Turn = null, long? Before = null, int Limit = DefaultLimit) : IRequest<IReadOnlyList<TranscriptEntryView>>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator(IAgentDirectory agents)
        {
            RuleFor(q => q.Agent).Must(agents.IsAgent)
                .WithMessage(q => $"no agent named {(q.Agent.Length <= 40 ? q.Agent : q.Agent[..40] + "…")}").WithErrorCode(ErrorCodes.NotFound);
            RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit);
            RuleFor(q => q.Before).GreaterThan(0).When(q => q.Before is not null);
            RuleFor(q => q.Turn).GreaterThanOrEqualTo(0).When(q => q.Turn is not null);
        }
    }

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<TranscriptEntryView>>
    {
        public async Task<IReadOnlyList<TranscriptEntryView>> Handle(Query query, CancellationToken cancellationToken)
        {
            var turn = query.Turn switch
            {
                null => "",
                0 => "AND turn_id IS NULL",
                _ => "AND turn_id = @Turn",
            };
            var sql = $"""
                SELECT {TranscriptEntryRow.Columns} FROM transcript_entries
                WHERE agent = @Agent {turn} AND (@Before IS NULL OR id < @Before)
                ORDER BY id DESC
                LIMIT @Limit;
                """;
            using var connection = db.Open();
            var rows = await connection.QueryAsync<TranscriptEntryRow>(new CommandDefinition(sql, query, cancellationToken: cancellationToken));
            return rows.Select(r => r.View()).ToList();
        }
    }
}
