using Hive.Shared.Errors;
using Hive.Shared.Socket;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Shared.LooseEnds;

/// <summary>
/// One of an agent's open threads: a question it asked that waits for an answer (<c>asked</c>), a question to it that
/// waits for its answer (<c>to_answer</c>), or a reminder it set that has not fired (<c>reminder</c>). <c>with</c> is
/// the other party of a question; <c>cancel</c> the kind <c>cancel_loose_end</c> takes for it, when the agent may.
/// </summary>
public sealed record LooseEnd(string Kind, long Id, string Text, DateTimeOffset Since, string? With, DateTimeOffset? Due, string? Cancel);

/// <summary>
/// A feature's part of the loose ends (Questions, Reminders): the agent's open threads it owns, and how the agent
/// cancels one of its own. Register as <c>AddTransient&lt;LooseEndsSource, YourSource&gt;()</c>.
/// </summary>
public abstract class LooseEndsSource
{
    /// <summary>The <c>kind</c> of <c>cancel_loose_end</c> this source handles (<c>question</c>, <c>reminder</c>).</summary>
    public abstract string CancelKind { get; }

    public abstract Task<IReadOnlyList<LooseEnd>> ListAsync(string agent, CancellationToken cancellationToken);

    /// <summary>Cancels the agent's own thread <paramref name="id"/>: not_found when there is none, forbidden when it is not the agent's to cancel.</summary>
    public abstract Task CancelAsync(string agent, long id, CancellationToken cancellationToken);
}

/// <summary><c>loose_ends</c> (the calling agent's open threads, oldest first) and <c>cancel_loose_end {kind, id}</c>.</summary>
internal sealed class LooseEndsSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map("loose_ends", async request =>
        {
            var all = new List<LooseEnd>();
            foreach (var source in request.Services.GetServices<LooseEndsSource>())
                all.AddRange(await source.ListAsync(request.Agent, request.CancellationToken));
            return new { loose_ends = all.OrderBy(e => e.Since).ThenBy(e => e.Id) };
        });

        verbs.Map("cancel_loose_end", async request =>
        {
            var args = request.Bind<CancelArgs>();
            var sources = request.Services.GetServices<LooseEndsSource>().ToList();
            if (args.Id is not > 0) throw new BadRequestException("cancel_loose_end needs a positive integer id");
            var source = sources.FirstOrDefault(s => s.CancelKind == args.Kind)
                ?? throw new BadRequestException($"kind must be one of {string.Join(", ", sources.Select(s => s.CancelKind).Order())}");
            await source.CancelAsync(request.Agent, args.Id.Value, request.CancellationToken);
            return null;
        });
    }

    private sealed record CancelArgs(string? Kind, long? Id);
}
