using FluentValidation;
using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Work.Leases;

/// <summary>
/// An agent takes an advisory lease on a resource (<c>lease_acquire</c>): exclusive (the default) conflicts with any other
/// holder, shared coexists with other shared ones. Taking one's own lease again renews it (and may change its kind or
/// reason), so a retry is harmless. A conflict is not an error: the reply says <c>granted: false</c> and whose lease is in
/// the way until when. Expired leases count as absent.
/// </summary>
public static class AcquireLease
{
    public sealed record Command(string Agent, string? Resource, int? TtlSeconds, bool Exclusive, string? Reason) : IRequest<Result>, IChangesState;

    /// <summary>Granted: <see cref="Lease"/>; refused: <see cref="Conflict"/>.</summary>
    public sealed record Result(bool Granted, LeaseView? Lease, LeaseConflict? Conflict);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Resource).Resource();
            RuleFor(c => c.TtlSeconds).Ttl();
            RuleFor(c => c.Reason).MaximumLength(LeaseRules.MaxReasonChars)
                .WithMessage($"reason is limited to {LeaseRules.MaxReasonChars} characters");
        }
    }

    internal sealed class Handler(StateChanges changes, TimeProvider clock, IOptions<LeaseOptions> options, LeaseSweeper sweeper)
        : IRequestHandler<Command, Result>
    {
        public Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current; // BEGIN IMMEDIATE: two racing acquires of one resource are decided one after the other
            var now = clock.GetUtcNow();
            var args = new
            {
                command.Agent, command.Resource, command.Exclusive, command.Reason, Now = now,
                ExpiresAt = now.AddSeconds(command.TtlSeconds ?? options.Value.DefaultTtlSeconds)
            };
            // Expired leases on this resource are gone before anything is decided (the sweep would take them soon anyway).
            var expired = change.Query<LeaseEnded>("DELETE FROM leases WHERE resource = @Resource AND expires_at <= @Now RETURNING resource, holder", args);

            var conflict = change.Query<LeaseRow>($"""
                SELECT {LeaseRow.Columns} FROM leases
                WHERE resource = @Resource AND holder <> @Agent AND (exclusive = 1 OR @Exclusive = 1)
                ORDER BY expires_at DESC, holder LIMIT 1
                """, args).SingleOrDefault();
            if (conflict is not null)
            {
                if (expired.Count > 0) LeasesSql.RaiseChanged(change, now, "expired", [], expired);
                return Task.FromResult(new Result(false, null, conflict.Conflict()));
            }

            var max = options.Value.MaxPerAgent;
            var held = change.QuerySingle<long>(
                "SELECT count(*) FROM leases WHERE holder = @Agent AND resource <> @Resource AND expires_at > @Now", args);
            if (held >= max)
                throw new TooManyException($"{command.Agent} holds {held} leases, the most an agent may hold; release some first");

            var row = change.QuerySingle<LeaseRow>($"""
                INSERT INTO leases (resource, holder, exclusive, reason, acquired_at, expires_at)
                VALUES (@Resource, @Agent, @Exclusive, @Reason, @Now, @ExpiresAt)
                ON CONFLICT (resource, holder) DO UPDATE
                    SET exclusive = excluded.exclusive, reason = excluded.reason, expires_at = excluded.expires_at
                RETURNING {LeaseRow.Columns};
                """, args);
            LeasesSql.RaiseChanged(change, now, "granted", [row.View()], expired);
            change.AfterPublished(sweeper.Wake); // its expiry may be the soonest now
            return Task.FromResult(new Result(true, row.View(), null));
        }
    }
}
