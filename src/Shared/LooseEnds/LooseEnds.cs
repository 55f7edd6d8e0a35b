using Hive.Contracts.LooseEnds;
using Hive.Shared.Errors;
using Hive.Shared.Socket;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Shared.LooseEnds;

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
        verbs.Map(LooseEndVerbs.LooseEnds, async (request, _) =>
        {
            var all = new List<LooseEnd>();
            foreach (var source in request.Services.GetServices<LooseEndsSource>())
                all.AddRange(await source.ListAsync(request.Agent, request.CancellationToken));
            return new LooseEndsReply(all.OrderBy(e => e.Since).ThenBy(e => e.Id));
        });

        verbs.Map(LooseEndVerbs.CancelLooseEnd, async (request, args) =>
        {
            var sources = request.Services.GetServices<LooseEndsSource>().ToList();
            if (args.Id is not > 0) throw new BadRequestException("cancel_loose_end needs a positive integer id");
            var source = sources.FirstOrDefault(s => s.CancelKind == args.Kind)
                ?? throw new BadRequestException($"kind must be one of {string.Join(", ", sources.Select(s => s.CancelKind).Order())}");
            await source.CancelAsync(request.Agent, args.Id.Value, request.CancellationToken);
        });
    }
}
