using Dapper;
using FluentValidation;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Governance;

/// <summary><c>GET /api/audit?actor=&amp;since=&amp;before=&amp;limit=</c>: the audit log, newest first.</summary>
public static class ListAuditLog
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public sealed record Query(string? Actor, DateTimeOffset? Since, long? Before, int Limit) : IRequest<IReadOnlyList<AuditLogView>>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit).WithName("limit").WithMessage($"limit must be 1 to {MaxLimit}");
    }

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<AuditLogView>>
    {
        public Task<IReadOnlyList<AuditLogView>> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            IReadOnlyList<AuditLogView> rows = connection.Query<AuditLogView>("""
                SELECT id, at, actor, action, target, result FROM audit_log
                WHERE (@Actor IS NULL OR actor = @Actor) AND (@Since IS NULL OR at >= @Since) AND (@Before IS NULL OR id < @Before)
                ORDER BY id DESC LIMIT @Limit
                """, query).AsList();
            return Task.FromResult(rows);
        }
    }
}

public sealed record AuditLogView(long Id, DateTimeOffset At, string Actor, string Action, string? Target, string Result);
