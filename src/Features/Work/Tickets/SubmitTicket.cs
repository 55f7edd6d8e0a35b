using FluentValidation;
using Hive.Contracts.Work;
using Hive.Features.Work.Workspaces;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// The agent holding a ticket hands its phase's work to the gate (<c>ticket_submit</c>): outputs, a summary for the next
/// phase, the done-definition items it ticks, and optionally where to go (else the phase's first allowed move). The gate
/// checks every expected output and tick; refused, nothing changes and the reply lists what is missing. Passed, the
/// ticket moves on in the same change that checked it (its summary and outputs joining its context), or, when the next
/// column is at its WIP limit, waits for room there (<c>next_phase</c>) while its agent is free for other work. What
/// needs the forge (pushing the ticket's branch, seeing a commit) is done first, outside the change, and the change then
/// refuses if the ticket moved meanwhile: a submission is applied once.
/// </summary>
public static class SubmitTicket
{
    public sealed record Command(
        string Agent, long Id, IReadOnlyList<OutputValue>? Outputs = null, string? Summary = null, IReadOnlyList<string>? Done = null, string? To = null)
        : IRequest<TicketSubmitReply>;


    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Outputs!.Count).LessThanOrEqualTo(32).OverridePropertyName("outputs").When(c => c.Outputs is not null).WithMessage("at most 32 outputs");
            RuleForEach(c => c.Outputs).Must(o => o is not null && ExpectedOutput.Kinds.Contains(o.Kind) && o.Value is { Length: > 0 and <= 4096 } && Gate.Plausible(o))
                .WithMessage($"each output is {{kind, value}}: kind one of {string.Join(", ", ExpectedOutput.Kinds)}, value 1 to 4096 characters without control characters (a file's a plain relative path)");
            RuleForEach(c => c.Done).Must(TicketRules.IsTick).WithMessage(TicketRules.TickMessage);
            RuleFor(c => c.Summary).Must(s => s is null || System.Text.Encoding.UTF8.GetByteCount(s) <= 8192)
                .WithMessage("summary is limited to 8192 UTF-8 bytes").WithErrorCode(ErrorCodes.TooLarge);
            RuleFor(c => c.Done!.Count).LessThanOrEqualTo(TicketRules.MaxTicks).OverridePropertyName("done").When(c => c.Done is not null).WithMessage($"at most {TicketRules.MaxTicks} ticks");
        }
    }

    internal sealed class Handler(IDb db, WorkflowCatalog catalog, IMediator mediator, TicketWorkspaces workspaces) : IRequestHandler<Command, TicketSubmitReply>
    {
        public async Task<TicketSubmitReply> Handle(Command command, CancellationToken cancellationToken)
        {
            TicketRow row;
            using (var connection = db.Open())
                row = TicketReads.Find(connection, null, command.Id) ?? throw new NotFoundException($"no ticket {command.Id}");
            var phase = Holding(row, command.Agent, catalog);
            var repository = WorkRepository.Of(catalog.Find(row.Workflow));
            var workspace = repository is null ? null : workspaces.Get(row.Id) is { RemovedAt: null } live && live.Agent == command.Agent ? live : null;
            // The repository's part of the gate: the ticket's branch pushed first, then what is in the repository; found
            // before the change, applied inside it.
            var forge = new Dictionary<ExpectedOutput, string?>();
            if (repository is not null && phase.ExpectedOutputs.Any(o => o.Kind is ExpectedOutput.Branch or ExpectedOutput.Commit))
            {
                var head = workspace is null ? null : await workspaces.PushAsync(row.Id, repository, cancellationToken);
                var branch = workspace?.Branch ?? command.Outputs?.FirstOrDefault(o => o.Kind == ExpectedOutput.Branch)?.Value;
                foreach (var expected in phase.ExpectedOutputs.Where(o => o.Kind is ExpectedOutput.Branch or ExpectedOutput.Commit))
                {
                    var given = command.Outputs?.FirstOrDefault(o => o.Kind == expected.Kind)?.Value;
                    forge[expected] = branch is null ? "no branch: the ticket has no workspace, and none was given"
                        : expected.Kind == ExpectedOutput.Branch
                            ? await workspaces.BranchExistsAsync(repository, branch, cancellationToken) ? null : $"{branch} is not on {repository.Where}"
                            : (given ?? head) is not { } sha ? "no commit on the ticket's branch (commit in /work, then submit)"
                            : await workspaces.CommitExistsAsync(repository, branch, sha, cancellationToken) ? null : $"{sha} is not on {branch} on {repository.Where}";
                }
            }
            else if (workspace is not null) await workspaces.PushAsync(row.Id, repository!, cancellationToken);
            return await mediator.Send(new Apply(command, row.Phase, row.ClaimedAt, phase, forge, workspace is not null), cancellationToken);
        }
    }

    /// <summary>The phase the agent holds the ticket in; refuses a ticket it does not hold, or that moved on since.</summary>
    internal static Phase Holding(TicketRow row, string agent, WorkflowCatalog catalog)
    {
        if (row.Assignee != agent)
        {
            var last = row.ContextEntries.LastOrDefault();
            if (last?.By == agent) throw new ConflictException($"ticket {row.Id} already left {last.Phase} (now {row.Phase}): your submission was applied");
            throw new ConflictException(row.Assignee is null ? $"ticket {row.Id} is not claimed: claim it first" : $"ticket {row.Id} is held by {row.Assignee}, not {agent}");
        }
        if (row.ResumePhase is not null) throw new ConflictException(TicketMoveRule.Blocked(row, MoveKind.Submit));
        return catalog.Get(row.Workflow).Find(row.Phase)!;
    }

    internal sealed record Apply(Command Submit, string Phase, DateTimeOffset? ClaimedAt, Phase Rules, IReadOnlyDictionary<ExpectedOutput, string?> Forge, bool Workspace)
        : IRequest<TicketSubmitReply>, IChangesState;

    internal sealed class ApplyHandler(StateChanges changes, WorkflowCatalog catalog, TicketMoves moves, TicketFacts facts, Gate gate, IMediator mediator,
        TimeProvider clock) : IRequestHandler<Apply, TicketSubmitReply>
    {
        public async Task<TicketSubmitReply> Handle(Apply apply, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var command = apply.Submit;
            var row = TicketReads.Get(change, command.Id);
            var phase = Holding(row, command.Agent, catalog);
            if (row.Phase != apply.Phase || row.ClaimedAt != apply.ClaimedAt)
                throw new ConflictException($"ticket {row.Id} changed while its gate was checked: submit again");
            var workflow = catalog.Get(row.Workflow);
            var to = command.To is null ? workflow.NextAfter(phase) : workflow.Find(command.To);
            var known = facts.For(change, row, to);
            // A move the phase allows asks the gate; anything else is refused before the gate looks.
            var allowed = TicketMoveRule.Check(workflow, row, to, MoveKind.Submit, command.Agent, known, command.To);
            if (allowed is not MoveVerdict.AskGate) throw TicketMoves.Refusal(allowed);

            var outputs = command.Outputs ?? [];
            var ticks = Gate.Ticks(phase, [.. row.TickList, .. command.Done ?? []]);
            var result = await gate.CheckAsync(phase, command.Agent, apply.Workspace, row.ClaimedAt, outputs, command.Summary, ticks,
                (expected, _) => Task.FromResult(apply.Forge.GetValueOrDefault(expected, "not checked")));
            var verdict = TicketMoveRule.Check(workflow, row, to, MoveKind.Submit, command.Agent, known with { Gate = result }, command.To);
            if (verdict is MoveVerdict.Refuse) throw TicketMoves.Refusal(verdict);

            var now = clock.GetUtcNow();
            var context = row.ContextEntries.Append(new ContextEntry(phase.Name, command.Agent, now, command.Summary, outputs)).ToList();
            var submission = new Submission(command.Agent, now, outputs, command.Summary, result);
            change.Execute("UPDATE tickets SET context = @context, ticks = @ticks, submitted = @submission, updated_at = @now WHERE id = @Id",
                new { context = TicketRow.Json(context), ticks = TicketRow.Json(ticks), submission = TicketRow.Json(submission), now, row.Id });
            var moved = await moves.ApplyAsync(change, mediator, TicketReads.Get(change, row.Id), to!, command.Agent, verdict);
            return new TicketSubmitReply(TicketReads.View(change.Connection, change.Transaction, moved, catalog), result, moved.NextPhase is null, moved.NextPhase);
        }
    }
}
