using Hive.Contracts.Work;
using Hive.Features.StateFiles;
using Hive.Shared;

namespace Hive.Features.Work;

/// <summary>
/// What a phase's gate checks before a ticket may leave it: each expected output is there (a file in the ticket's work
/// dir, a URL, a note, the ticket's branch or a commit on the forge), and each done-definition item is ticked. Finds
/// everything missing at once, one line each. A reviewed phase's gate is its review, not this; dependencies are
/// <see cref="TicketMoveRule"/>'s.
/// </summary>
internal sealed class Gate(HivePaths paths, IStateFileAllowList allowList)
{
    /// <param name="since">When the ticket was claimed: a file output must have been written since (a file left by an earlier ticket does not pass).</param>
    public async Task<GateResult> CheckAsync(Phase phase, string agent, bool workspace, DateTimeOffset? since, IReadOnlyList<OutputValue> outputs, string? summary,
        IReadOnlyList<string> ticks, Func<ExpectedOutput, OutputValue?, Task<string?>>? forge)
    {
        var missing = new List<string>();
        foreach (var expected in phase.ExpectedOutputs)
        {
            var given = outputs.FirstOrDefault(o => o.Kind == expected.Kind);
            var problem = expected.Kind switch
            {
                ExpectedOutput.File => FileProblem(expected.Path!, agent, workspace, since),
                ExpectedOutput.Note => given is { Value.Length: > 0 } || !string.IsNullOrWhiteSpace(summary) ? null : "no note given (an output of kind note, or a summary)",
                ExpectedOutput.Url => given is null ? "no url given"
                    : Uri.TryCreate(given.Value, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" ? null : $"'{TicketRules.Clip(given.Value, 200)}' is not an http(s) URL",
                _ => forge is null ? "the forge is not set up here (Hive:Forge:Url)" : await forge(expected, given),
            };
            if (problem is not null) missing.Add($"{expected.Label}: {problem}");
        }
        foreach (var item in phase.DoneDefinition.Where(item => !ticks.Contains(item)))
            missing.Add($"not ticked: {item}");
        return new GateResult(missing.Count == 0, missing);
    }

    /// <summary>Whether a submitted output's value is what its kind allows (a file's a plain relative path; no control characters).</summary>
    public static bool Plausible(OutputValue output) =>
        output.Kind == ExpectedOutput.File
            ? WorkflowParser.IsPlainRelativePath(output.Value)
            : !output.Value.Any(c => char.IsControl(c) && c is not '\n' and not '\t');

    /// <summary>Ticks as given (item texts, or their numbers from 1) turned into the done definition's texts; an unknown tick is refused.</summary>
    public static IReadOnlyList<string> Ticks(Phase phase, IReadOnlyList<string> given)
    {
        var ticks = new List<string>();
        foreach (var tick in given)
        {
            var item = int.TryParse(tick, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= 1 && n <= phase.DoneDefinition.Count
                ? phase.DoneDefinition[n - 1]
                : phase.DoneDefinition.FirstOrDefault(d => d == tick)
                  ?? throw new Hive.Shared.Errors.BadRequestException($"'{TicketRules.Clip(tick, 100)}' is not an item of {phase.Name}'s done definition (give its text or its number, 1 to {phase.DoneDefinition.Count})");
            if (!ticks.Contains(item)) ticks.Add(item);
        }
        return ticks;
    }

    private string? FileProblem(string path, string agent, bool workspace, DateTimeOffset? since)
    {
        if (!workspace)
        {
            if (allowList.Check($"/agents/{agent}/state/{path}", agent) != StateFileVerdict.Allowed) return $"not found in /agents/{agent}/state (or not a regular file there)";
            var written = File.GetLastWriteTimeUtc(Path.Combine(paths.AgentStateDir(agent), path));
            return since is { } claimed && written < claimed.UtcDateTime.AddSeconds(-1) ? $"not written since the ticket was claimed ({claimed:u})" : null;
        }
        // In a worktree: a regular file reached through no symbolic link (an agent's link could point anywhere on the host).
        var current = Path.Combine(paths.AgentDir(agent), "work");
        foreach (var part in path.Split('/'))
        {
            current = Path.Combine(current, part);
            var info = new FileInfo(current);
            if (!info.Exists && !Directory.Exists(current)) return "not found in /work";
            if (info.LinkTarget is not null) return "is a symbolic link, not a file in /work";
        }
        return File.Exists(current) ? null : "is a directory, not a file";
    }
}
