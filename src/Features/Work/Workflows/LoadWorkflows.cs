using Hive.Features.Containers;
using Hive.Shared;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Work;

/// <summary>
/// Loads <c>meta/workflows/*.yaml</c> (the shipped files copied in first when missing): each file that parses replaces its
/// workflow and is kept as the last good version; a file that does not is refused with its line and reason, and its last
/// good version (from an earlier load, across restarts) keeps running. Run at start-up, after each meta commit, and when
/// the operator asks. Raises <c>workflows_changed</c> when anything differs.
/// </summary>
public static class LoadWorkflows
{
    public sealed record Command : IRequest<WorkflowsView>, IChangesState;

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, HivePaths paths, TimeProvider clock, ILogger<Command> logger)
        : IRequestHandler<Command, WorkflowsView>
    {
        public Task<WorkflowsView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var stored = change.Query<(string Name, string Yaml)>("SELECT name, yaml FROM workflows").ToDictionary(r => r.Name, r => r.Yaml);
            var workflows = new SortedDictionary<string, Workflow>(StringComparer.Ordinal);
            var errors = new List<WorkflowError>();
            foreach (var workflow in ShippedOrStored(stored)) workflows[workflow.Name] = workflow;

            foreach (var (file, yaml) in ReadFiles(Path.Combine(paths.MetaDir, "workflows"), errors))
            {
                var name = Path.GetFileNameWithoutExtension(file);
                try
                {
                    var parsed = WorkflowParser.Parse(name, yaml);
                    if (TicketReads.PhasesInUse(change.Connection, change.Transaction, name).FirstOrDefault(p => parsed.Find(p) is null) is { } dropped)
                        throw new WorkflowException(1, $"it has no phase {dropped}, which tickets are in: move them first");
                    workflows[name] = parsed;
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

        private static IEnumerable<(string File, string Yaml)> ReadFiles(string dir, List<WorkflowError> errors)
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
