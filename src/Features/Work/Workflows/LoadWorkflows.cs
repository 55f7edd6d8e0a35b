using Dapper;
using Hive.Contracts.Work;
using Hive.Features.Containers;
using Hive.Features.Forge;
using Hive.Features.Work.Workspaces;
using Hive.Shared;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Work;

/// <summary>
/// Loads <c>meta/workflows/*.yaml</c> (the shipped files copied in first when missing): each file that parses replaces its
/// workflow and is kept as the last good version; a file that does not is refused with its line and reason, and its last
/// good version (from an earlier load, across restarts) keeps running. A file naming a repository other than its last
/// good version's is refused too unless the forge has that repository (<see cref="CheckRepository"/>, asked before the
/// change: it is a network call). Run at start-up, after each meta commit that may change a workflow file, and when the
/// operator asks. Raises <c>workflows_changed</c> when anything differs; a workflow loaded with warnings (a pass-through
/// phase) is logged.
/// </summary>
public static class LoadWorkflows
{
    public sealed record Command : IRequest<WorkflowsView>;

    /// <summary>The files read, each with why its repository cannot be reached (null: reachable, unchanged or none), and the files refused unread.</summary>
    internal sealed record Apply(IReadOnlyList<WorkflowFile> Files, IReadOnlyList<WorkflowError> Unread) : IRequest<WorkflowsView>, IChangesState;

    internal sealed record WorkflowFile(string File, string Yaml, string? RepositoryProblem);

    internal sealed class ReadHandler(IMediator mediator, Hive.Shared.Data.IDb db, HivePaths paths) : IRequestHandler<Command, WorkflowsView>
    {
        public async Task<WorkflowsView> Handle(Command command, CancellationToken cancellationToken)
        {
            Dictionary<string, string> stored;
            using (var connection = db.Open())
                stored = connection.Query<(string Name, string Yaml)>("SELECT name, yaml FROM workflows").ToDictionary(r => r.Name, r => r.Yaml);
            var unread = new List<WorkflowError>();
            var files = new List<WorkflowFile>();
            foreach (var (file, yaml) in Handler.ReadFiles(Path.Combine(paths.MetaDir, "workflows"), unread))
            {
                var name = Path.GetFileNameWithoutExtension(file);
                string? problem = null;
                if (WorkRepository.Of(TryParse(name, yaml)) is { } repository && repository != WorkRepository.Of(TryParse(name, stored.GetValueOrDefault(name))))
                    problem = await mediator.Send(new CheckRepository.Query(repository.Address, repository.Credential), cancellationToken);
                files.Add(new WorkflowFile(file, yaml, problem));
            }
            return await mediator.Send(new Apply(files, unread), cancellationToken);
        }

        private static Workflow? TryParse(string name, string? yaml)
        {
            if (yaml is null) return null;
            try { return WorkflowParser.Parse(name, yaml); }
            catch (WorkflowException) { return null; }
        }
    }

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, TimeProvider clock, ILogger<Command> logger)
        : IRequestHandler<Apply, WorkflowsView>
    {
        public Task<WorkflowsView> Handle(Apply command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var stored = change.Query<(string Name, string Yaml)>("SELECT name, yaml FROM workflows").ToDictionary(r => r.Name, r => r.Yaml);
            var workflows = new SortedDictionary<string, Workflow>(StringComparer.Ordinal);
            var errors = new List<WorkflowError>(command.Unread);
            foreach (var workflow in ShippedOrStored(stored)) workflows[workflow.Name] = workflow;

            foreach (var (file, yaml, repositoryProblem) in command.Files)
            {
                var name = Path.GetFileNameWithoutExtension(file);
                try
                {
                    var parsed = WorkflowParser.Parse(name, yaml);
                    if (repositoryProblem is not null)
                        throw new WorkflowException(RepositoryLine(yaml), $"repository {parsed.Repository}: {repositoryProblem}");
                    if (TicketReads.PhasesInUse(change.Connection, change.Transaction, name).FirstOrDefault(p => parsed.Find(p) is null) is { } dropped)
                        throw new WorkflowException(1, $"it has no phase {dropped}, which tickets are in: move them first");
                    workflows[name] = parsed;
                    if (parsed.Warnings.Count > 0 && (catalog.Find(name) is not { } running || TicketRow.Json(running) != TicketRow.Json(parsed)))
                        foreach (var warning in parsed.Warnings) logger.LogWarning("work: workflows/{File} loads with a warning: {Warning}", file, warning);
                    if (stored.GetValueOrDefault(name) != yaml)
                        change.Execute("INSERT INTO workflows (name, yaml, loaded_at) VALUES (@name, @yaml, @now) ON CONFLICT (name) DO UPDATE SET yaml = @yaml, loaded_at = @now",
                            new { name, yaml, now = clock.GetUtcNow() });
                }
                catch (WorkflowException e)
                {
                    var kept = workflows.ContainsKey(name);
                    errors.Add(new WorkflowError(file, e.Line, e.Reason, kept));
                    logger.LogWarning("work: workflows/{File} is refused at line {Line}: {Reason}{Kept}", file, e.Line, e.Reason,
                        kept ? "; its last good version keeps running" : "");
                }
            }

            var before = (catalog.All, catalog.Errors);
            catalog.Set(workflows, errors);
            change.OnRolledBack(() => catalog.Set(before.All, before.Errors));
            var view = new WorkflowsView([.. workflows.Values], errors);
            if (!Same(before.All, workflows) || !before.Errors.SequenceEqual(errors)) change.Raise(new WorkflowsChanged(view.Workflows, view.Errors));
            return Task.FromResult(view);
        }

        /// <summary>The line of the file's top-level <c>repository:</c> key (1 when it cannot be told).</summary>
        private static long RepositoryLine(string yaml)
        {
            var lines = yaml.Split('\n');
            var at = Array.FindIndex(lines, l => l.StartsWith("repository:", StringComparison.Ordinal));
            return at < 0 ? 1 : at + 1;
        }

        /// <summary>The shipped workflows, each replaced by its stored last good version when there is one, and the stored ones the hive no longer ships.</summary>
        private static IEnumerable<Workflow> ShippedOrStored(IReadOnlyDictionary<string, string> stored)
        {
            var shipped = WorkflowCatalog.ShippedFiles().ToDictionary(f => Path.GetFileNameWithoutExtension(f.Key), f => f.Value);
            foreach (var name in shipped.Keys.Union(stored.Keys))
            {
                // A stored version parsed when it was stored; a newer parser may refuse it, and then the shipped one stands.
                Workflow? kept = null;
                if (stored.TryGetValue(name, out var yaml))
                {
                    try { kept = WorkflowParser.Parse(name, yaml); }
                    catch (WorkflowException) { }
                }
                if ((kept ?? (shipped.TryGetValue(name, out var text) ? WorkflowParser.Parse(name, text) : null)) is { } workflow) yield return workflow;
            }
        }

        internal static IEnumerable<(string File, string Yaml)> ReadFiles(string dir, List<WorkflowError> errors)
        {
            if (!Directory.Exists(dir)) yield break;
            foreach (var path in Directory.EnumerateFiles(dir, "*.yaml").Order(StringComparer.Ordinal))
            {
                var file = Path.GetFileName(path);
                if (!WorkflowParser.WorkflowName().IsMatch(Path.GetFileNameWithoutExtension(file)))
                {
                    errors.Add(new WorkflowError(file, 1, "a workflow file is named <name>.yaml, the name matching ^[a-z][a-z0-9_-]{0,40}$", false));
                    continue;
                }
                var info = new FileInfo(path);
                if (info.LinkTarget is not null || info.Length > WorkflowParser.MaxBytes)
                {
                    errors.Add(new WorkflowError(file, 1, $"not a regular file of at most {WorkflowParser.MaxBytes / 1024} KiB", false));
                    continue;
                }
                yield return (file, File.ReadAllText(path));
            }
        }

        private static bool Same(IReadOnlyDictionary<string, Workflow> a, IReadOnlyDictionary<string, Workflow> b) =>
            a.Count == b.Count && a.All(w => b.TryGetValue(w.Key, out var other) && TicketRow.Json(w.Value) == TicketRow.Json(other));
    }
}

public sealed record WorkflowsView(IReadOnlyList<Workflow> Workflows, IReadOnlyList<WorkflowError> Errors);

/// <summary>The shipped workflow files, written into the meta repo where missing (an edited file is left as it is).</summary>
internal static class ShipWorkflows
{
    public static Task SendAsync(IMediator mediator, CancellationToken cancellationToken) =>
        mediator.Send(new WriteMetaFiles.Command("workflows", WorkflowCatalog.ShippedFiles(), "hive: the shipped workflows", OnlyMissing: true), cancellationToken);
}
