using Dapper;
using FluentValidation;
using Hive.Contracts.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>The operator's inbox: messages addressed to <c>operator</c>, newest first.</summary>
public static class ListInbox
{
    public sealed record Query(long? Before, int Limit = ListMessages.DefaultLimit) : IRequest<IReadOnlyList<MessageView>>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Limit).InclusiveBetween(1, ListMessages.MaxLimit);
            RuleFor(q => q.Before).GreaterThan(0).When(q => q.Before is not null);
        }
    }

    internal sealed class Handler(IDb db, IFileRefScanner fileRefs) : IRequestHandler<Query, IReadOnlyList<MessageView>>
    {
        public async Task<IReadOnlyList<MessageView>> Handle(Query query, CancellationToken cancellationToken)
        {
            const string sql = $"""
                SELECT {MessageRow.Columns} FROM messages
                WHERE recipient = 'operator' AND (@Before IS NULL OR id < @Before)
                ORDER BY id DESC
                LIMIT @Limit;
                """;
            using var connection = db.Open();
            var rows = await connection.QueryAsync<MessageRow>(new CommandDefinition(sql, query, cancellationToken: cancellationToken));
            return rows.Select(r => r.View(fileRefs)).ToList();
        }
    }
}
