using Dapper;
using FluentValidation;
using Hive.Contracts.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>Message history for the dashboard's backfill: newest first, before an id, a page at a time.</summary>
public static class ListMessages
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public sealed record Query(long? Before, int Limit = DefaultLimit) : IRequest<IReadOnlyList<MessageView>>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit);
            RuleFor(q => q.Before).GreaterThan(0).When(q => q.Before is not null);
        }
    }

    internal sealed class Handler(IDb db, IFileRefScanner fileRefs) : IRequestHandler<Query, IReadOnlyList<MessageView>>
    {
        public async Task<IReadOnlyList<MessageView>> Handle(Query query, CancellationToken cancellationToken)
        {
            const string sql = $"""
                SELECT {MessageRow.Columns} FROM messages
                WHERE @Before IS NULL OR id < @Before
                ORDER BY id DESC
                LIMIT @Limit;
                """;
            using var connection = db.Open();
            var rows = await connection.QueryAsync<MessageRow>(new CommandDefinition(sql, query, cancellationToken: cancellationToken));
            return rows.Select(r => r.View(fileRefs)).ToList();
        }
    }
}
