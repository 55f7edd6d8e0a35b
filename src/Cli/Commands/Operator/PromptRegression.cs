using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hive.Contracts.Gateway;
using Hive.Contracts.Json;
using RecordedTurn = Hive.Contracts.TurnStats.TurnView;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// A prompt regression (<c>hivectl replay --agent A --last N [--preset-file F] [--env K=V]... [--on-divergence live]</c>):
/// the agent's last N recorded turns replayed one after another, oldest first, each with the changed preset or setting,
/// each replay agent destroyed once its replay has ended. Per turn: identical, diverged at call k (with what differed), and,
/// gone live, the live continuation's tool calls beside the original's; or why it could not be replayed. The report is a
/// Markdown file for a person and a JSON summary beside it.
/// </summary>
internal static class PromptRegression
{
    public sealed record Settings(string Agent, int Last, string? PresetFile, JsonObject? Env, string? OnDivergence, TimeSpan Timeout, string? Report);

    /// <summary>One turn's outcome: <c>identical</c>, <c>diverged</c>, <c>failed</c> (the replay ended without a verdict) or <c>refused</c> (not replayable).</summary>
    public sealed record TurnOutcome(
        long Turn, string Outcome, long? Replay, string? ReplayAgent, int? CallsReplayed, int? CallsRecorded, Divergence? Divergence, string? Why,
        IReadOnlyList<ToolCall> OriginalToolCalls, IReadOnlyList<ToolCall>? LiveToolCalls, IReadOnlyList<CapturedVerb> Captured);

    public sealed record ToolCall(string? Name, string Input);

    public sealed record Summary(
        string Agent, string? Preset, IReadOnlyDictionary<string, string>? Env, string OnDivergence, DateTimeOffset At, int Turns, int Identical, int Diverged,
        int Failed, int Refused, string Report, IReadOnlyList<TurnOutcome> Results);

    public static async Task<CliOutput> RunAsync(HiveApiClient api, Settings settings, CancellationToken ct)
    {
        if (settings.Last is < 1 or > 500) throw new UsageError("--last takes a number of turns from 1 to 500");
        var preset = settings.PresetFile is { } file ? PresetOf(file) : null;
        var agent = Uri.EscapeDataString(settings.Agent);
        var recorded = Read<List<RecordedTurn>>(await api.GetAsync($"/api/agents/{agent}/turns?limit={settings.Last}", ct));
        var turns = recorded.Where(t => t.GrantedTurnId is not null).Select(t => t.GrantedTurnId!.Value).Distinct().Order().ToList();
        if (turns.Count == 0) throw new CliError("not_found", $"{settings.Agent} has no recorded turn to replay");

        var results = new List<TurnOutcome>();
        foreach (var turn in turns) results.Add(await ReplayOneAsync(api, turn, preset, settings, ct));

        var at = DateTimeOffset.UtcNow;
        var report = settings.Report ?? $"replay-{settings.Agent}-{at.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}";
        var summary = new Summary(settings.Agent, settings.PresetFile, settings.Env?.ToDictionary(p => p.Key, p => p.Value?.GetValue<string>() ?? ""),
            settings.OnDivergence ?? OnDivergence.Stop, at, results.Count, Count("identical"), Count("diverged"), Count("failed"), Count("refused"),
            report + ".md", results);
        var markdown = Markdown(summary);
        await File.WriteAllTextAsync(report + ".md", markdown, ct);
        var json = JsonSerializer.SerializeToNode(summary, HiveJson.Options);
        await File.WriteAllTextAsync(report + ".json", json!.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", ct);
        return new CliOutput(json, $"{summary.Turns} turns of {summary.Agent}: {summary.Identical} identical, {summary.Diverged} diverged, " +
            $"{summary.Failed} failed, {summary.Refused} not replayable\nreport: {report}.md (and {report}.json)\n");

        int Count(string outcome) => results.Count(r => r.Outcome == outcome);
    }

    private static async Task<TurnOutcome> ReplayOneAsync(HiveApiClient api, long turn, JsonObject? preset, Settings settings, CancellationToken ct)
    {
        var original = Read<TurnView>(await api.GetAsync($"/api/turns/{turn}", ct));
        var originalTools = original.ToolCalls.Select(t => new ToolCall(t.Name, t.Input)).ToList();
        var body = new JsonObject();
        if (settings.OnDivergence is { } mode) body["on_divergence"] = mode;
        if (settings.Env is { } env) body["env"] = env.DeepClone();
        if (preset is not null) body["preset"] = preset.DeepClone();
        ReplayView replay;
        try
        {
            replay = Read<ReplayView>(await api.PostAsync($"/api/turns/{turn}/replay", body, ct));
        }
        catch (CliError refused) when (refused.Code is "conflict" or "not_found")
        {
            return new TurnOutcome(turn, "refused", null, null, null, null, null, refused.Message, originalTools, null, []);
        }
        var until = DateTimeOffset.UtcNow + settings.Timeout;
        while (replay.State == ReplayStates.Running && DateTimeOffset.UtcNow < until)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
            replay = Read<ReplayView>(await api.GetAsync($"/api/replays/{replay.Id}", ct));
        }
        IReadOnlyList<ToolCall>? live = null;
        if (replay.OnDivergence == OnDivergence.Live && replay.Divergence is not null && replay.Turn is { } own)
            live = Read<TurnView>(await api.GetAsync($"/api/turns/{own}", ct)).ToolCalls.Select(t => new ToolCall(t.Name, t.Input)).ToList();
        await DestroyAsync(api, replay.Agent, ct);
        var outcome = replay.State is ReplayStates.Identical or ReplayStates.Diverged ? replay.State : "failed";
        var why = replay.State == ReplayStates.Running ? $"still running after {settings.Timeout.TotalSeconds:0} s: destroyed" : replay.Note;
        return new TurnOutcome(turn, outcome, replay.Id, replay.Agent, replay.CallsReplayed, replay.CallsRecorded, replay.Divergence, why, originalTools, live,
            replay.Captured);
    }

    /// <summary>
    /// The replay agent has done its work: nothing of the regression is left running, and no tombstone keeps its name (the
    /// next regression replays the same turns under the same names). An ended replay's agent is being stopped (409 while it
    /// is): the destroy is asked again until that is done.
    /// </summary>
    private static async Task DestroyAsync(HiveApiClient api, string agent, CancellationToken ct)
    {
        for (var until = DateTimeOffset.UtcNow.AddSeconds(60); ; await Task.Delay(TimeSpan.FromMilliseconds(250), ct))
        {
            try
            {
                await api.DeleteAsync($"/api/agents/{Uri.EscapeDataString(agent)}", ct);
                await api.DeleteAsync($"/api/tombstones/{Uri.EscapeDataString(agent)}", ct);
                return;
            }
            catch (CliError busy) when (busy.Code == "conflict" && DateTimeOffset.UtcNow < until)
            {
            }
        }
    }

    /// <summary>The preset file as the replay request carries it: its name (the file's, without <c>.json</c>) and its JSON.</summary>
    internal static JsonObject PresetOf(string path)
    {
        JsonNode? file;
        try
        {
            file = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new UsageError($"--preset-file {path}: {e.Message}");
        }
        if (file is not JsonObject) throw new UsageError($"--preset-file {path}: not a preset (a JSON object with a command)");
        return new JsonObject { ["name"] = Path.GetFileNameWithoutExtension(path), ["file"] = file };
    }

    private static T Read<T>(JsonNode? node) =>
        node.Deserialize<T>(HiveJson.Options) ?? throw new CliError("unexpected", $"the hive answered no {typeof(T).Name}");

    /// <summary>The report a person reads: a table of the turns, then each turn that did not replay identically, in full.</summary>
    internal static string Markdown(Summary summary)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# Replay of {summary.Agent}'s last {summary.Turns} turns\n\n");
        text.Append(CultureInfo.InvariantCulture, $"- at: {summary.At:u}\n- preset: {(summary.Preset is { } p ? Code(p) : "as recorded")}\n");
        if (summary.Env is { Count: > 0 } env) text.Append(CultureInfo.InvariantCulture, $"- env: {string.Join(", ", env.Select(e => Code($"{e.Key}={e.Value}")))}\n");
        text.Append(CultureInfo.InvariantCulture, $"- at a divergence: {summary.OnDivergence}\n");
        text.Append(CultureInfo.InvariantCulture,
            $"- {summary.Identical} identical, {summary.Diverged} diverged, {summary.Failed} failed, {summary.Refused} not replayable\n\n");
        text.Append("| Turn | Outcome | Calls from the recording | Where |\n|---|---|---|---|\n");
        foreach (var r in summary.Results)
            text.Append(CultureInfo.InvariantCulture, $"| #{r.Turn} | {r.Outcome} | {(r.CallsRecorded is { } of ? $"{r.CallsReplayed} of {of}" : "–")} | " +
                $"{(r.Divergence is { } d ? $"call {d.Call}: {string.Join(", ", d.Differences.Select(x => Code(x.Path)))}" : Cell(r.Why ?? ""))} |\n");
        foreach (var r in summary.Results.Where(r => r.Outcome != "identical"))
        {
            text.Append(CultureInfo.InvariantCulture, $"\n## Turn #{r.Turn}: {r.Outcome}{(r.Divergence is { } d ? $" at call {d.Call}" : "")}\n\n");
            if (r.Why is { } why) text.Append(why).Append("\n\n");
            foreach (var difference in r.Divergence?.Differences ?? [])
            {
                text.Append(CultureInfo.InvariantCulture, $"{Code(difference.Path)}:\n\n");
                text.Append("```diff\n");
                foreach (var line in difference.Lines ?? [$"- {difference.Recorded ?? "(absent)"}", $"+ {difference.Replayed ?? "(absent)"}"])
                    text.Append(line.Replace("```", "ʼʼʼ", StringComparison.Ordinal)).Append('\n');
                text.Append("```\n\n");
            }
            if (r.LiveToolCalls is { } live)
            {
                text.Append("Tool calls, the original's beside the live continuation's:\n\n| # | Original | Live |\n|---|---|---|\n");
                for (var i = 0; i < Math.Max(live.Count, r.OriginalToolCalls.Count); i++)
                    text.Append(CultureInfo.InvariantCulture, $"| {i + 1} | {Tool(r.OriginalToolCalls.ElementAtOrDefault(i))} | {Tool(live.ElementAtOrDefault(i))} |\n");
                text.Append('\n');
            }
            if (r.Captured.Count > 0)
            {
                text.Append("Hive verbs the replay called (captured, not carried out):\n\n");
                foreach (var verb in r.Captured) text.Append(CultureInfo.InvariantCulture, $"- {verb.Verb} {Code(verb.Args.GetRawText())}\n");
            }
        }
        return text.ToString();
    }

    private static string Tool(ToolCall? call) => call is null ? "–" : $"{Code(call.Name ?? "?")} {Code(call.Input.Length > 120 ? call.Input[..120] + "…" : call.Input)}";

    private static string Code(string text) => $"`{Cell(text).Replace("`", "ˋ", StringComparison.Ordinal)}`";

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ');
}
