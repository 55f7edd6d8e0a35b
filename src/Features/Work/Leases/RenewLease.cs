using FluentValidation;
using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Work.Leases;

/// <summary>An agent extends its own live lease (<c>lease_renew</c>) to <c>ttl_seconds</c> from now; an expired one is gone (not_found).</summary>
public static class RenewLease
{
    public sealed record Command(string Agent, string? Resource, int? TtlSeconds) : IRequest<LeaseView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Resource).Resource();
            RuleFor(c => c.TtlSeconds).Ttl();
        }
    }

    internal sealed class Handler(StateChanges changes, TimeProvider clock, IOptions<LeaseOptions> options, LeaseSweeper sweeper)
        : IRequestHandler<Command, LeaseView>
    {
        public Task<LeaseView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var row = change.QuerySingleOrDefault<LeaseRow>($"""
                UPDATE leases SET expires_at = @ExpiresAt
                WHERE resource = @Resource AND holder = @Agent AND expires_at > @Now
                RETURNING {LeaseRow.Columns};
                """, new
            {
                command.Agent, command.Resource, Now = now,
                ExpiresAt = now.AddSeconds(command.TtlSeconds ?? options.Value.DefaultTtlSeconds)
            })
                ?? throw new NotFoundException($"you hold no live lease on {command.Resource}");
            LeasesSql.RaiseChanged(change, now, "renewed", [row.View()], []);
            change.AfterPublished(sweeper.Wake);
            return Task.FromResult(row.View());
        }
    }
}
