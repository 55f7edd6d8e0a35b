using FluentValidation;
using Hive.Contracts.Work;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// Changes what a ticket says without moving it. The agent holding it (<c>ticket_update</c>) adds a note, ticks
/// done-definition items, or sets the summary its phase will hand on; the operator (<c>PATCH /api/tickets/{id}</c>) may
/// also change its title, body, priority, labels and dependencies (a cycle refused).
/// </summary>
public static class UpdateTicket
{
    public sealed record Command(
        string By, long Id, string? Note = null, IReadOnlyList<string>? Done = null, string? Title = null, string? Body = null, int? Priority = null,
        IReadOnlyList<string>? Labels = null, IReadOnlyList<long>? DependsOn = null) : IRequest<TicketView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Note).Must(n => n is null || (n.Trim().Length > 0 && System.Text.Encoding.UTF8.GetByteCount(n) <= 8192))
                .WithMessage("note is 1 to 8192 UTF-8 bytes");
            RuleFor(c => c.Title).Must(t => t is null || (t.Trim().Length > 0 && System.Text.Encoding.UTF8.GetByteCount(t) <= CreateTicket.MaxTitleBytes))
                .WithMessage($"title is 1 to {CreateTicket.MaxTitleBytes} UTF-8 bytes");
            RuleFor(c => c.Body).Must(TicketRules.FitsBody).WithMessage($"body is limited to {CreateTicket.MaxBodyBytes} UTF-8 bytes");
            RuleFor(c => c.Priority).Must(TicketRules.IsPriority).WithMessage(TicketRules.PriorityMessage);
            RuleFor(c => c.Title).Must(TicketRules.IsCleanTitle).WithMessage(TicketRules.TitleMessage);
            RuleFor(c => c.Labels!.Count).LessThanOrEqualTo(CreateTicket.MaxLabels).OverridePropertyName("labels").When(c => c.Labels is not null);
            RuleForEach(c => c.Labels).Must(TicketRules.IsLabel).WithMessage(TicketRules.LabelMessage);
            RuleFor(c => c.DependsOn!.Count).LessThanOrEqualTo(CreateTicket.MaxDependencies).OverridePropertyName("depends_on").When(c => c.DependsOn is not null)
                .WithMessage($"at most {CreateTicket.MaxDependencies} dependencies");
            RuleForEach(c => c.DependsOn).GreaterThan(0).WithMessage(TicketRules.DependencyMessage);
            RuleFor(c => c.Done!.Count).LessThanOrEqualTo(TicketRules.MaxTicks).OverridePropertyName("done").When(c => c.Done is not null).WithMessage($"at most {TicketRules.MaxTicks} ticks");
            RuleForEach(c => c.Done).Must(TicketRules.IsTick).WithMessage(TicketRules.TickMessage);
        }
    }

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, Board board, TimeProvider clock)
        : IRequestHandler<Command, TicketView>
    {
        public Task<TicketView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var row = TicketReads.Get(change, command.Id);
            var byOperator = command.By == AgentNames.Operator;
            if (!byOperator && row.Assignee != command.By) throw new ForbiddenException($"ticket {row.Id} is held by {row.Assignee ?? "nobody"}: only its holder or the operator changes it");
            if (!byOperator && (command.Title ?? command.Body ?? (object?)command.Priority ?? command.Labels ?? (object?)command.DependsOn) is not null)
                throw new ForbiddenException("an agent adds notes and ticks; the title, body, priority, labels and dependencies are the operator's");
            var now = clock.GetUtcNow();
            if (command.Note is { } note)
                change.Execute("INSERT INTO ticket_notes (ticket_id, author, written_at, text) VALUES (@Id, @By, @now, @note)", new { row.Id, command.By, now, note });
            if (command.Done is { Count: > 0 } done)
            {
                var phase = catalog.Get(row.Workflow).Find(row.Phase)!;
                change.Execute("UPDATE tickets SET ticks = @ticks WHERE id = @Id", new { ticks = TicketRow.Json(Gate.Ticks(phase, [.. row.TickList, .. done])), row.Id });
            }
            if (command.DependsOn is { } dependsOn) TicketDependencies.Set(change, row.Id, [.. dependsOn.Distinct()]);
            change.Execute("""
                UPDATE tickets SET title = coalesce(@Title, title), body = coalesce(@Body, body), priority = coalesce(@Priority, priority),
                                   labels = coalesce(@labels, labels), updated_at = @now
                WHERE id = @Id
                """, new { command.Title, command.Body, command.Priority, labels = command.Labels is null ? null : TicketRow.Json(command.Labels.Distinct().ToList()), now, row.Id });
            if (command.Priority is not null || command.DependsOn is not null) change.AfterPublished(board.Poke);
            return Task.FromResult(change.RaiseTicketChanged(TicketReads.Get(change, row.Id), catalog));
        }
    }
}
