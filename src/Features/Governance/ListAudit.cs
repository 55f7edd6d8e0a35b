using System.Text.Json;
using FluentValidation;
using Dapper;
using Hive.Shared.Data;
using Hive.Shared.Json;
using MediatR;

namespace Hive.Features.Governance;

/// <summary><c>GET /api/governance/audit?before=&amp;limit=</c>: the audit trail, newest first.</summary>
public static class ListAudit
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public sealed record Query(long? Before, int Limit) : IRequest<IReadOnlyList<AuditView>>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit).WithName("limit").WithMessage($"limit must be 1 to {MaxLimit}");
    }

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<AuditView>>
    {
        public Task<IReadOnlyList<AuditView>> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            IReadOnlyList<AuditView> rows = connection.Query<(long Id, DateTimeOffset At, string Actor, string Action, string? Subject, string? Detail)>("""
                    SELECT id, at, actor, action, subject, detail FROM governance_audit
                    WHERE @Before IS NULL OR id < @Before ORDER BY id DESC LIMIT @Limit
                    """, query)
                .Select(r => new AuditView(r.Id, r.At, r.Actor, r.Action, r.Subject,
                    r.Detail is null ? null : JsonSerializer.Deserialize<JsonElement>(r.Detail, HiveJson.Options)))
                .ToList();
            return Task.FromResult(rows);
        }
    }
}

public sealed record AuditView(long Id, DateTimeOffset At, string Actor, string Action, string? Subject, JsonElement? Detail);
