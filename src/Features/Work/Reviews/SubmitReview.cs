using FluentValidation;
using Hive.Contracts.Work;
using Hive.Features.Questions;
using Hive.Features.Work.Workspaces;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work.Reviews;

/// <summary>
/// A reviewer submits a review of a ticket's branch (<c>POST /api/tickets/{id}/reviews</c>, <c>review_submit</c>):
/// <c>comment</c> (words only), <c>request_changes</c> (the ticket goes back to its worked phase, with the review and the
/// threads still open in its context) or <c>approve</c> (the gate of its review passes and it moves on). A verdict is
/// for a ticket in a reviewed phase, given by the operator or, where the phase is reviewed by a capability, an agent
/// with it; it answers the review the board asked for (that question is withdrawn). The review, the owner's
/// <c>review_submitted</c> message and the move are one change.
/// </summary>
public static class SubmitReview
{
    public sealed record Command(string By, long TicketId, string? Verdict, string? Body) : IRequest<ReviewSubmitReply>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Verdict).Must(v => v is not null && ReviewVerdicts.All.Contains(v))
                .WithMessage($"verdict is one of {string.Join(", ", ReviewVerdicts.All)}");
            RuleFor(c => c.Body).ReviewText(required: false);
            RuleFor(c => c.Body).NotEmpty().When(c => c.Verdict == ReviewVerdicts.Comment).WithMessage("a comment review says something: body");
        }
    }

    internal sealed class Handler(IMediator mediator, TicketDiffs diffs, ReviewParties parties, WorkflowCatalog catalog)
        : IRequestHandler<Command, ReviewSubmitReply>
    {
        public async Task<ReviewSubmitReply> Handle(Command command, CancellationToken cancellationToken)
        {
            var (workflow, phase, owner) = parties.TicketOf(command.TicketId);
            await parties.MustReviewAsync(mediator, command.By, workflow, owner, cancellationToken);
            if (command.Verdict != ReviewVerdicts.Comment && command.By != AgentNames.Operator
                && catalog.Find(workflow)?.Find(phase)?.ReviewedBy is { } reviewedBy && !await parties.HasAsync(mediator, command.By, reviewedBy, cancellationToken))
                throw new ForbiddenException(reviewedBy == AgentNames.Operator
                    ? $"ticket {command.TicketId}'s {phase} is the operator's to decide: comment instead"
                    : $"deciding ticket {command.TicketId}'s {phase} takes the capability {reviewedBy}, which {command.By} does not have: comment instead");
            var (_, _, head) = await diffs.HeadAsync(command.TicketId, cancellationToken);
            return await mediator.Send(new Save(command, phase, owner, head), cancellationToken);
        }
    }

    internal sealed record Save(Command Review, string Phase, string Owner, string HeadSha) : IRequest<ReviewSubmitReply>, IChangesState;

    internal sealed class SaveHandler(StateChanges changes, WorkflowCatalog catalog, ReviewOutcomes outcomes, ReviewParties parties, IMediator mediator,
        TimeProvider clock) : IRequestHandler<Save, ReviewSubmitReply>
    {
        public async Task<ReviewSubmitReply> Handle(Save save, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var command = save.Review;
            var row = TicketReads.Get(change, command.TicketId);
            if (row.Phase != save.Phase) throw new ConflictException($"ticket {row.Id} moved to {row.Phase} while its review was checked: look again");
            var decides = command.Verdict != ReviewVerdicts.Comment;
            var questionId = row.ReviewQuestionId;
            if (decides)
            {
                if (catalog.Find(row.Workflow)?.Find(row.Phase) is not { ReviewedBy: not null })
                    throw new ConflictException($"ticket {row.Id} is in {row.Phase}, not in review: a verdict moves a ticket out of a reviewed phase (a comment review says what you think now)");
                if (row.NextPhase is not null) throw new ConflictException($"ticket {row.Id} passed its review and waits for room in {row.NextPhase}");
            }

            var now = clock.GetUtcNow();
            var id = change.QuerySingle<long>("""
                INSERT INTO review_decisions (ticket_id, reviewer, verdict, body, head_sha, submitted_at)
                VALUES (@TicketId, @By, @Verdict, @Body, @head, @now) RETURNING id
                """, new { command.TicketId, command.By, command.Verdict, command.Body, head = save.HeadSha, now });
            var open = ReviewRows.Open(change, row.Id);
            var threads = open.Select(c => $"{c.Path} line {c.Line}: {TicketRules.Clip(c.Text, 300)} (comment {c.Id})").ToList();
            var words = string.Join('\n', new[] { command.Body ?? "" }.Concat(threads).Where(s => s.Length > 0));
            await parties.TellAsync(mediator, command.By, [save.Owner], ReviewMessages.Submitted,
                $"{command.By} reviewed ticket #{row.Id}: {command.Verdict}{(words.Length > 0 ? $"\n{words}" : "")}",
                new Dictionary<string, object?> { ["ticket_id"] = row.Id, ["review_id"] = id, ["verdict"] = command.Verdict, ["body"] = command.Body, ["open_comments"] = open.Select(c => c.Id).ToList() });
            if (decides)
            {
                await outcomes.ApplyAsync(change, mediator, row, command.Verdict == ReviewVerdicts.Approve, TicketRules.Clip(words, 4096), command.By);
                // The question the board asked is answered by this review: withdrawn, so nobody answers it twice.
                if (questionId is { } asked && TicketReads.Get(change, row.Id).ReviewQuestionId != asked
                    && await mediator.Send(new ReadQuestion.Query(asked), CancellationToken.None) is { AnsweredAt: null })
                    await mediator.Send(new CancelQuestion.Command(asked, AgentNames.Hive), CancellationToken.None);
            }
            change.Raise(new ReviewChanged(row.Id, ReviewChanged.Reviewed, null, id));
            var decision = ReviewRows.Decisions(change.Connection, change.Transaction, row.Id).Single(d => d.Id == id);
            return new ReviewSubmitReply(decision, TicketReads.View(change.Connection, change.Transaction, TicketReads.Get(change, row.Id), catalog));
        }
    }
}
