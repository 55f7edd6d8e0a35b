using Hive.Contracts.Questions;
using Hive.Features.StateFiles;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Questions;

/// <summary>One question as it is now (null when there is none): for a feature that asked it and must learn its answer.</summary>
public static class ReadQuestion
{
    public sealed record Query(long Id) : IRequest<QuestionView?>;

    internal sealed class Handler(IDb db, IFileRefScanner fileRefs) : IRequestHandler<Query, QuestionView?>
    {
        public Task<QuestionView?> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            var row = Dapper.SqlMapper.QuerySingleOrDefault<QuestionRow>(connection, $"SELECT {QuestionRow.Columns} FROM questions WHERE id = @Id", query);
            return Task.FromResult(row?.View(fileRefs));
        }
    }
}
