using FluentValidation;
using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using Hive.Shared.Validation;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// A new ticket, in its workflow's first phase: by the operator (<c>POST /api/tickets</c>, <c>hivectl ticket create</c>),
/// the manager or an agent <c>Hive:Work:Creators</c> names (<c>ticket_create</c>), or by an agent that found it while working
/// its parent (<see cref="DiscoverTicket"/>: <c>parent_id</c> and the reason it branched). Its dependencies must exist; the
/// board pulls it once they are done.
/// </summary>
public static class CreateTicket
{
    public const int MaxTitleBytes = 200;
    public const int MaxBodyBytes = 16 * 1024;
    public const int MaxLabels = 16;
    public const int MaxDependencies = 32;

    public sealed record Command(
        string By, string? Title, string? Body = null, string? Workflow = null, int? Priority = null, IReadOnlyList<string>? Labels = null,
        IReadOnlyList<long>? DependsOn = null, long? ParentId = null, string? DiscoveryReason = null) : IRequest<TicketView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Title).BoundedText("title", MaxTitleBytes);
            RuleFor(c => c.Title).Must(TicketRules.IsCleanTitle).WithMessage(TicketRules.TitleMessage);
            RuleForEach(c => c.DependsOn).GreaterThan(0).WithMessage(TicketRules.DependencyMessage);
            RuleFor(c => c.Body).Must(TicketRules.FitsBody).WithMessage($"body is limited to {MaxBodyBytes} UTF-8 bytes").WithErrorCode(ErrorCodes.TooLarge);
            RuleFor(c => c.Priority).Must(TicketRules.IsPriority).WithMessage(TicketRules.PriorityMessage);
            RuleFor(c => c.Labels!.Count).LessThanOrEqualTo(MaxLabels).OverridePropertyName("labels").When(c => c.Labels is not null)
                .WithMessage($"at most {MaxLabels} labels");
            RuleForEach(c => c.Labels).Must(TicketRules.IsLabel).WithMessage(TicketRules.LabelMessage);
            RuleFor(c => c.DependsOn!.Count).LessThanOrEqualTo(MaxDependencies).OverridePropertyName("depends_on").When(c => c.DependsOn is not null)
                .WithMessage($"at most {MaxDependencies} dependencies");
            RuleFor(c => c.DiscoveryReason).BoundedText("reason", 1024).When(c => c.ParentId is not null);
        }
    }

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, Board board, TimeProvider clock)
        : IRequestHandler<Command, TicketView>
    {
        public Task<TicketView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var parent = command.ParentId is { } parentId ? TicketReads.Get(change, parentId) : null;
            var name = command.Workflow ?? parent?.Workflow ?? WorkflowCatalog.DefaultWorkflow;
            var workflow = catalog.Find(name) ?? throw new NotFoundException($"no workflow named {name} (GET /api/workflows lists them)");
            var labels = (command.Labels ?? []).Distinct(StringComparer.Ordinal).ToList();
            var dependsOn = (command.DependsOn ?? []).Distinct().ToList();
            var now = clock.GetUtcNow();
            var id = change.QuerySingle<long>("""
                INSERT INTO tickets (title, body, workflow, phase, priority, labels, parent_id, discovery_reason, created_by, created_at, updated_at, phase_entered_at)
                VALUES (@Title, @body, @workflow, @phase, @priority, @labels, @ParentId, @DiscoveryReason, @By, @now, @now, @now)
                RETURNING id
                """, new
            {
                command.Title, body = command.Body ?? "", workflow = workflow.Name, phase = workflow.Initial.Name, priority = command.Priority ?? 0,
                labels = TicketRow.Json(labels), command.ParentId, command.DiscoveryReason, command.By, now,
            });
            TicketDependencies.Set(change, id, dependsOn);
            TicketMoves.History(change, id, null, workflow.Initial.Name, command.By, null, now);
            var view = change.RaiseTicketChanged(TicketReads.Get(change, id), catalog);
            if (parent is not null) change.RaiseTicketChanged(parent, catalog);
            change.AfterPublished(board.Poke);
            return Task.FromResult(view);
        }
    }
}

/// <summary>A ticket's dependencies, replaced as a whole: each must exist, and none may lead back to the ticket (a cycle is refused with its path).</summary>
internal static class TicketDependencies
{
    public static void Set(StateChange change, long ticket, IReadOnlyList<long> dependsOn)
    {
        if (dependsOn.Contains(ticket)) throw new ConflictException($"ticket {ticket} cannot depend on itself");
        var known = change.Query<long>("SELECT id FROM tickets WHERE id IN (SELECT value FROM json_each(@ids))", new { ids = TicketRow.Json(dependsOn) }).ToHashSet();
        if (dependsOn.Where(d => !known.Contains(d)).ToList() is [var missing, ..]) throw new NotFoundException($"depends_on names ticket {missing}, which does not exist");
        foreach (var dependency in dependsOn)
        {
            // A path from the dependency back to this ticket would close a cycle.
            var path = change.Query<string>("""
                WITH RECURSIVE reach (id, path) AS (
                    SELECT @dependency, CAST(@dependency AS TEXT)
                    UNION
                    SELECT d.depends_on, reach.path || ' → ' || d.depends_on FROM ticket_dependencies d JOIN reach ON d.ticket_id = reach.id
                    WHERE length(reach.path) < 4000
                )
                SELECT path FROM reach WHERE id = @ticket LIMIT 1
                """, new { dependency, ticket }).FirstOrDefault();
            if (path is not null) throw new ConflictException($"a cycle: ticket {ticket} would depend on {path}, which depends on it");
        }
        change.Execute("DELETE FROM ticket_dependencies WHERE ticket_id = @ticket", new { ticket });
        foreach (var dependency in dependsOn)
            change.Execute("INSERT INTO ticket_dependencies (ticket_id, depends_on) VALUES (@ticket, @dependency)", new { ticket, dependency });
    }
}
