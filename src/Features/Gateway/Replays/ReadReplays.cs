using Dapper;
using Hive.Contracts.Gateway;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Gateway.Replays;

/// <summary>One replay, with where it diverged and what it captured (<c>GET /api/replays/{id}</c>).</summary>
public static class ReadReplay
{
    public sealed record Query(long Id) : IRequest<ReplayView>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, ReplayView>
    {
        public Task<ReplayView> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            return Task.FromResult(ReplayRow.Read(connection, query.Id) ?? throw new NotFoundException($"no replay {query.Id}"));
        }
    }
}

/// <summary>Replays, newest first (<c>GET /api/replays?agent=</c>: only those of that agent's turns, or by that replay agent).</summary>
public static class ListReplays
{
    public const int Limit = 100;

    public sealed record Query(string? Agent) : IRequest<IReadOnlyList<ReplayView>>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<ReplayView>>
    {
        public Task<IReadOnlyList<ReplayView>> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            IReadOnlyList<ReplayView> replays = connection.Query<ReplayRow>($"""
                SELECT {ReplayRow.Columns} FROM replays
                WHERE @Agent IS NULL OR source_agent = @Agent OR agent = @Agent
                ORDER BY id DESC LIMIT {Limit}
                """, query).Select(r => r.View(connection)).ToList();
            return Task.FromResult(replays);
        }
    }
}
