using FluentValidation;
using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work.Leases;

/// <summary>
/// A lease ends before its time: its holder releases it (<c>lease_release</c>), or the operator breaks it
/// (<c>DELETE /api/leases?resource=..&amp;holder=..</c>; without a holder, every lease on the resource).
/// </summary>
public static class ReleaseLease
{
    /// <param name="Holder">The agent whose lease ends; null (the operator only) for every holder of the resource.</param>
    /// <param name="ByOperator">The operator breaks it (the event says <c>broken</c>) rather than its holder letting go.</param>
    public sealed record Command(string? Resource, string? Holder, bool ByOperator = false) : IRequest<Result>, IChangesState;

    /// <summary>The resources' leases that ended (one per holder).</summary>
    public sealed record Result(IReadOnlyList<LeaseView> Released);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Resource).Resource();
            RuleFor(c => c.Holder).NotEmpty().When(c => !c.ByOperator).WithMessage("an agent releases its own lease");
        }
    }

    internal sealed class Handler(StateChanges changes, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            // An expired row goes too, but only a live one counts as released: the caller did not hold it any more.
            var rows = change.Query<LeaseRow>($"""
                DELETE FROM leases WHERE resource = @Resource AND (@Holder IS NULL OR holder = @Holder)
                RETURNING {LeaseRow.Columns};
                """, new { command.Resource, command.Holder });
            var released = rows.Where(r => r.ExpiresAt > now).Select(r => r.View()).ToList();
            if (released.Count == 0)
            {
                throw new NotFoundException(command.Holder is null ? $"no live lease on {command.Resource}"
                    : command.ByOperator ? $"{command.Holder} holds no live lease on {command.Resource}" : $"you hold no live lease on {command.Resource}"); // rolls back: expired rows are the sweep's
            }
            LeasesSql.RaiseChanged(change, now, command.ByOperator ? "broken" : "released", [],
                [.. rows.Select(r => new LeaseEnded(r.Resource, r.Holder))]);
            return Task.FromResult(new Result(released));
        }
    }
}
