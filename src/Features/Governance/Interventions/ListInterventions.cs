using Dapper;
using FluentValidation;
using Hive.Contracts.Governance;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Governance;

/// <summary><c>GET /api/interventions?agent=&amp;actor=&amp;since=&amp;before=&amp;limit=</c>: newest first, filtered, paged by id.</summary>
public static class ListInterventions
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public sealed record Query(string? Agent, string? Actor, DateTimeOffset? Since, long? Before, int Limit) : IRequest<IReadOnlyList<InterventionView>>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit).WithName("limit").WithMessage($"limit must be 1 to {MaxLimit}");
    }

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<InterventionView>>
    {
        public Task<IReadOnlyList<InterventionView>> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            IReadOnlyList<InterventionView> rows = connection.Query<InterventionRow>($"""
                    SELECT {InterventionRow.Columns} FROM interventions
                    WHERE (@Agent IS NULL OR target = @Agent) AND (@Actor IS NULL OR actor = @Actor)
                      AND (@Since IS NULL OR at >= @Since) AND (@Before IS NULL OR id < @Before)
                    ORDER BY id DESC LIMIT @Limit
                    """, query).Select(r => r.View()).ToList();
            return Task.FromResult(rows);
        }
    }
}
