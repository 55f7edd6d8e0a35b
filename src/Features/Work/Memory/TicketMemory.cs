using System.Text;
using Hive.Contracts.Work;
using Hive.Features.Work.Workspaces;
using Hive.Shared;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Work.Memory;

/// <summary>
/// What a claiming agent is told of the work done before it: the finished tickets most like its ticket, and the notes the
/// operator keeps for its workflow in the meta repo (<c>notes/&lt;workflow&gt;.md</c>); and, once a ticket with a branch is
/// done, the files that branch changed, read from its clone after the move (git is slow: never inside a change).
/// </summary>
internal sealed class TicketMemory(IDb db, StateChanges changes, IServiceScopeFactory scopes, HivePaths paths, TicketDiffs diffs, TimeProvider clock,
    ILogger<TicketMemory> logger)
{
    /// <summary>How many finished tickets a brief names.</summary>
    public const int BriefSimilar = 3;

    /// <summary>The most of a workflow's notes a brief carries, in UTF-8 bytes; a longer file is cut, and the brief says so.</summary>
    public const int MaxNotesBytes = 8192;

    /// <summary>The finished tickets most like <paramref name="ticket"/> (its title, body and labels), the closest first.</summary>
    public IReadOnlyList<TicketOutcome> Similar(TicketView ticket)
    {
        var match = TicketOutcomes.MatchOf($"{ticket.Title} {string.Join(' ', ticket.Labels)} {ticket.Body}");
        if (match is null) return [];
        using var connection = db.Open();
        return TicketOutcomes.Find(connection, match, BriefSimilar, ticket.Id, clock.GetUtcNow());
    }

    /// <summary>The outcomes that best match <paramref name="match"/> (a query from <see cref="TicketOutcomes.MatchOf"/>).</summary>
    public IReadOnlyList<TicketOutcome> Search(string match, int limit)
    {
        using var connection = db.Open();
        return TicketOutcomes.Find(connection, match, limit, null, clock.GetUtcNow());
    }

    /// <summary>
    /// The operator's notes for <paramref name="workflow"/> (<c>meta/notes/&lt;workflow&gt;.md</c>, a regular file), at most
    /// <see cref="MaxNotesBytes"/> of them; null when there are none.
    /// </summary>
    public string? NotesFor(string workflow)
    {
        var file = new FileInfo(Path.Combine(paths.MetaDir, "notes", Path.GetFileName(workflow) + ".md"));
        if (file is not { Exists: true, LinkTarget: null } || Path.GetFileName(workflow) != workflow) return null;
        try
        {
            var bytes = new byte[MaxNotesBytes];
            int read;
            using (var stream = file.OpenRead()) read = stream.ReadAtLeast(bytes, MaxNotesBytes, throwOnEndOfStream: false);
            var text = Encoding.UTF8.GetString(bytes, 0, read).TrimEnd('\uFFFD'); // a character cut at the end is dropped
            return file.Length <= MaxNotesBytes ? text : $"{text}\n… (cut: notes/{workflow}.md is {file.Length} bytes; a brief carries its first {MaxNotesBytes})";
        }
        catch (IOException e)
        {
            logger.LogWarning("work: the notes for workflow {Workflow} could not be read ({Why}); briefs go without them", workflow, e.Message);
            return null;
        }
    }

    /// <summary>
    /// Replaces a finished ticket's files by those its branch changed against its base; a branch that cannot be read keeps
    /// the files the ticket handed in (logged).
    /// </summary>
    public async Task NoteBranchFilesAsync(long ticketId)
    {
        try
        {
            var files = await diffs.NamesAsync(ticketId, CancellationToken.None);
            await changes.RunAsync(scopes, (change, _) =>
            {
                change.Execute("UPDATE ticket_outcomes SET files = @files WHERE ticket_id = @ticketId", new { ticketId, files = TicketRow.Json(files) });
                return Task.CompletedTask;
            }, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning("work: ticket {Ticket} is done but its branch's files could not be read ({Why}); its memory keeps the files it handed in", ticketId, e.Message);
        }
    }
}
