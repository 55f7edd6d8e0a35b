using FluentValidation;
using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work.MergeQueue;

/// <summary>
/// The operator pauses a repository's merge queue (no batch starts; one running finishes) or resumes it. Only a repository
/// a workflow names, or one with tickets in its queue, has a queue to pause.
/// </summary>
public static class PauseMergeQueue
{
    public sealed record Command(string By, string? Repository, bool Paused) : IRequest<MergeQueueView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.Repository).NotEmpty().WithMessage("say which repository: repository").MaximumLength(2048);
    }

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, MergeQueueLoop loop, TimeProvider clock) : IRequestHandler<Command, MergeQueueView>
    {
        public Task<MergeQueueView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var repository = catalog.All.Values.Select(w => w.Repository).OfType<string>()
                .Concat(QueueRows.Live(change.Connection, change.Transaction).Select(e => e.Repository))
                .FirstOrDefault(r => string.Equals(r, command.Repository, StringComparison.OrdinalIgnoreCase))
                ?? throw new NotFoundException($"no workflow names {command.Repository}, and no ticket waits in a queue of it");
            var was = QueueRows.Pauses(change.Connection, change.Transaction).Any(p => string.Equals(p.Repository, repository, StringComparison.OrdinalIgnoreCase));
            if (command.Paused && !was)
            {
                change.Execute("INSERT INTO merge_queue_pauses (repository, paused_by, paused_at) VALUES (@repository, @By, @now)", new { repository, command.By, now });
                QueueRows.Step(change, repository, null, null, MergeSteps.Paused, "no batch starts until it is resumed", command.By, now);
            }
            else if (!command.Paused && was)
            {
                change.Execute("DELETE FROM merge_queue_pauses WHERE repository = @repository COLLATE NOCASE", new { repository });
                QueueRows.Step(change, repository, null, null, MergeSteps.Resumed, "batches start again", command.By, now);
                change.AfterPublished(loop.Wake);
            }
            return Task.FromResult(QueueRows.View(change.Connection, change.Transaction));
        }
    }
}
