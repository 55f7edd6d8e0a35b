using FluentValidation;
using Hive.Contracts.Work;
using Hive.Features.Work.Workspaces;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work.Reviews;

/// <summary>
/// A reviewer (the operator, or an agent with the ticket's reviewing capability) comments on lines of a ticket's diff
/// (<c>POST /api/tickets/{id}/comments</c>, <c>review_comment</c>). The lines must be ones the diff shows on that side
/// (a changed line or its context), else it is refused and nothing is saved. Saved with the lines quoted as they are, at
/// the branch's head now, and in the same change a <c>review_comment</c> message to the ticket's owner carrying the file,
/// the lines, the quote and the text: the comment and its message are saved together or not at all, so it arrives once.
/// </summary>
public static class CommentOnLines
{
    public const int MaxTextBytes = 8192;
    public const int MaxLines = 200;

    public sealed record Command(string By, long TicketId, string? Path, int? Line, int? StartLine, string? Side, string? Text) : IRequest<ReviewComment>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Path).NotEmpty().WithMessage("name the file, as the diff names it: path");
            RuleFor(c => c.Line).NotNull().GreaterThan(0).WithMessage("name the line: line (1 or more)");
            RuleFor(c => c.StartLine).GreaterThan(0).LessThanOrEqualTo(c => c.Line).When(c => c.StartLine is not null && c.Line is not null)
                .WithMessage("start_line is a line from 1 up to line");
            RuleFor(c => c).Must(c => c.Line!.Value - (c.StartLine ?? c.Line!.Value) < MaxLines).When(c => c.Line is > 0 && c.StartLine is > 0)
                .OverridePropertyName("start_line").WithMessage($"a comment covers at most {MaxLines} lines");
            RuleFor(c => c.Side).Must(s => s is null or PatchHunks.New or PatchHunks.Old).WithMessage("side is new (the branch's lines) or old (lines it removed)");
            RuleFor(c => c.Text).ReviewText();
        }
    }

    internal sealed class Handler(IMediator mediator, TicketDiffs diffs, ReviewParties parties) : IRequestHandler<Command, ReviewComment>
    {
        public async Task<ReviewComment> Handle(Command command, CancellationToken cancellationToken)
        {
            var (workflow, _, owner) = parties.TicketOf(command.TicketId);
            await parties.MustReviewAsync(mediator, command.By, workflow, owner, cancellationToken);
            var diff = await diffs.ReadAsync(command.TicketId, cancellationToken);

            var side = command.Side ?? PatchHunks.New;
            var (start, end) = (command.StartLine ?? command.Line!.Value, command.Line!.Value);
            var index = diff.Files.ToList().FindIndex(f => (side == PatchHunks.Old ? f.OldPath ?? f.Path : f.Path) == command.Path);
            if (index < 0) throw new BadRequestException($"{command.Path} is not among the files ticket {command.TicketId}'s diff changes");
            var hunks = PatchHunks.Parse(diff.Patch);
            var quoted = index < hunks.Files.Count ? hunks.Files[index].Quote(side, start, end) : null;
            if (quoted is null)
                throw new BadRequestException($"{command.Path} line{(start == end ? $" {end}" : $"s {start}-{end}")} ({side} side) is outside the diff: comment on lines it shows");
            return await mediator.Send(new Save(command, owner, side, start, end, TicketRules.Clip(quoted, MaxTextBytes), diff.HeadSha), cancellationToken);
        }
    }

    internal sealed record Save(Command Comment, string Owner, string Side, int Start, int End, string Quoted, string HeadSha) : IRequest<ReviewComment>, IChangesState;

    internal sealed class SaveHandler(StateChanges changes, ReviewParties parties, IMediator mediator, TimeProvider clock) : IRequestHandler<Save, ReviewComment>
    {
        public async Task<ReviewComment> Handle(Save save, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var command = save.Comment;
            var saved = ReviewRows.Insert(change, new ReviewRows.CommentRow(0, command.TicketId, null, command.By, command.Path, save.Side, save.Start, save.End,
                save.Quoted, save.HeadSha, command.Text!, clock.GetUtcNow(), null, null, null));
            var lines = save.Start == save.End ? $"line {save.End}" : $"lines {save.Start}-{save.End}";
            var body = $"{command.By} commented on ticket #{command.TicketId}, {command.Path} {lines}{(save.Side == PatchHunks.Old ? " (removed)" : "")}:\n" +
                       string.Join('\n', save.Quoted.Split('\n').Select(l => "> " + l)) + $"\n\n{command.Text}\n\n" +
                       $"Answer it: review_reply {{\"comment\": {saved.Id}, \"text\": \"...\"}}; once a commit addresses it: review_resolve {{\"comment\": {saved.Id}, \"commit\": \"<sha>\"}}.";
            await parties.TellAsync(mediator, command.By, [save.Owner], ReviewMessages.Comment, body, ReviewMessages.Extra(saved));
            change.Raise(new ReviewChanged(command.TicketId, ReviewChanged.Commented, saved.Id, null));
            return saved.View();
        }
    }
}
