using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Hive.Bench.Infrastructure;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>How a swarm was run: its options and the governor's slots.</summary>
internal sealed record SwarmSettings(int Agents, int Kills, double Minutes, int Seed, int Slots);

/// <summary>
/// How a swarm ended: the measured part's length and the turns started in it, the drain, and the SQLite files' sizes
/// once drained.
/// </summary>
internal sealed record SwarmEnd(double MeasuredSeconds, int TurnsInRun, bool Drained, double DrainSeconds, long DbBytes, long WalBytes);

/// <summary>
/// The swarm's figures of its mail, turns, host and database, from what the database holds (it survived every kill: every
/// swarm body) against what the agents' COMMANDs logged; and the run's Markdown summary.
/// </summary>
internal static class SwarmReport
{
    private sealed record Row(long Id, string Sender, string Recipient, string Kind, string Uid, DateTimeOffset SentAt);

    public static JsonObject Analyse(SwarmRun run, SwarmSettings settings, SwarmEnd end, string loadStart)
    {
        var rows = ReadSwarmMessages(run.DataDir);
        var questionsAsked = HiveDatabase.Scalar(run.DataDir, "SELECT count(*) FROM questions WHERE asker LIKE 'a%'");
        var governedTurns = HiveDatabase.Scalar(run.DataDir, "SELECT count(*) FROM governed_turns");
        var turnsByEnd = GovernedTurnsByEnd(run.DataDir);
        var logs = SwarmAgent.ReadLogs(run.LogDir);

        var byId = logs.Sightings.GroupBy(s => s.Id).ToDictionary(g => g.Key, g => g.OrderBy(s => s.StartNs).ToList());
        var toAgents = rows.Where(r => r.Recipient != "operator").ToList();
        var toOperator = rows.Where(r => r.Recipient == "operator").ToList();
        var lostToAgents = toAgents.Where(r => !byId.ContainsKey(r.Id)).ToList();
        var uids = rows.Select(r => r.Uid).ToHashSet();
        var ackedMissing = logs.AckedSends.Where(u => !uids.Contains(u)).ToList();
        List<string> operatorMissing;
        lock (run.OperatorSent) operatorMissing = run.OperatorSent.Where(u => !uids.Contains(u)).ToList();
        var committedTwice = rows.GroupBy(r => (r.Recipient, r.Uid)).Count(g => g.Count() > 1);
        var duplicated = byId.Values.Where(s => s.Count > 1).ToList();
        var unflagged = duplicated.Count(s => s.Skip(1).Any(x => !x.Redelivered));
        var lost = lostToAgents.Count + ackedMissing.Count + operatorMissing.Count;

        // Wake latency: a message's sent_at -> the start of the COMMAND first handed it.
        var rowsById = toAgents.ToDictionary(r => r.Id);
        var wakes = byId.Where(kv => rowsById.ContainsKey(kv.Key))
            .Select(kv => (kv.Value[0].StartNs / 1_000_000.0) - rowsById[kv.Key].SentAt.ToUnixTimeMilliseconds()).ToList();
        var wake = Latency.Of(wakes.Count == 0 ? [0.0] : wakes);

        var stall = LongestStall(toAgents, byId, logs.Turns);
        var stallAt = stall.From == 0 ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeMilliseconds(stall.From / 1_000_000);
        var stallInDown = stallAt is { } s0 && run.Down.Any(d => s0 <= d.To && s0.AddSeconds(stall.Seconds) >= d.From);

        var cpu = run.Lives.Sum(l => l.CpuSeconds);
        var peakRss = run.Lives.Count == 0 ? 0 : run.Lives.Max(l => l.PeakRssKb);
        var turns = logs.Turns.Values.Sum(x => x.Count);
        var green = lost == 0 && unflagged == 0 && committedTwice == 0 && end.Drained && turns > 0;

        return new JsonObject
        {
            ["mode"] = "swarm",
            ["agents"] = settings.Agents,
            ["minutes"] = settings.Minutes,
            ["kills"] = settings.Kills,
            ["seed"] = settings.Seed,
            ["max_concurrent_turns"] = settings.Slots,
            ["machine"] = Machine(loadStart),
            ["messages"] = new JsonObject
            {
                ["sent"] = rows.Count,
                ["sent_by_kind"] = new JsonObject(rows.GroupBy(r => r.Kind).OrderBy(g => g.Key).Select(g => KeyValuePair.Create(g.Key, (JsonNode?)g.Count()))),
                ["sent_by_agents_acknowledged"] = logs.AckedSends.Count,
                ["sent_by_operator"] = run.OperatorSent.Count,
                ["to_operator"] = toOperator.Count,
                ["delivered"] = toAgents.Count - lostToAgents.Count + toOperator.Count,
                ["delivered_to_a_command"] = toAgents.Count - lostToAgents.Count,
                ["lost"] = lost,
                ["lost_never_handed_to_a_command"] = lostToAgents.Count,
                ["lost_acknowledged_send_missing"] = ackedMissing.Count + operatorMissing.Count,
                ["duplicated"] = duplicated.Count,
                ["duplicated_flagged_redelivered"] = duplicated.Count - unflagged,
                ["duplicated_unflagged"] = unflagged,
                ["committed_twice"] = committedTwice,
                ["lost_ids"] = new JsonArray(lostToAgents.Take(20).Select(r => (JsonNode?)$"{r.Id} {r.Sender}->{r.Recipient} {r.Uid}").ToArray()),
            },
            ["questions"] = new JsonObject { ["asked"] = questionsAsked, ["answered_by_operator"] = run.QuestionsAnswered },
            ["wake_latency_ms"] = new JsonObject
            {
                ["n"] = wakes.Count, ["p50"] = Math.Round(wake.P50, 1), ["p90"] = Math.Round(wake.P90, 1), ["p99"] = Math.Round(wake.P99, 1),
                ["max"] = Math.Round(wake.Max, 1),
            },
            ["turns"] = new JsonObject
            {
                ["started_in_run"] = end.TurnsInRun,
                ["started_total"] = turns,
                ["per_minute"] = Math.Round(end.TurnsInRun / Math.Max(1e-9, end.MeasuredSeconds / 60), 1),
                ["governed"] = governedTurns,
                ["governed_by_end"] = turnsByEnd,
            },
            ["host"] = new JsonObject
            {
                ["lives"] = run.Lives.Count,
                ["cpu_seconds"] = Math.Round(cpu, 1),
                ["cpu_percent_of_one_core"] = Math.Round(100 * cpu / Math.Max(1e-9, end.MeasuredSeconds + end.DrainSeconds), 1),
                ["peak_rss_mib"] = Math.Round(peakRss / 1024.0, 1),
                ["restart_seconds"] = new JsonArray(run.Down.Select(d => (JsonNode?)Math.Round((d.To - d.From).TotalSeconds, 1)).ToArray()),
            },
            ["sqlite"] = new JsonObject
            {
                ["db_bytes_end"] = end.DbBytes, ["wal_bytes_end"] = end.WalBytes, ["db_bytes_peak"] = run.PeakDb, ["wal_bytes_peak"] = run.PeakWal,
            },
            ["longest_stall"] = new JsonObject
            {
                ["seconds"] = Math.Round(stall.Seconds, 2),
                ["agent"] = stall.Agent,
                ["at"] = stallAt?.ToString("O", CultureInfo.InvariantCulture),
                ["overlaps_a_host_restart"] = stallInDown,
            },
            ["run_seconds"] = Math.Round(end.MeasuredSeconds, 1),
            ["drain_seconds"] = Math.Round(end.DrainSeconds, 1),
            ["drained"] = end.Drained,
            ["operator_errors"] = run.OperatorErrors,
            ["operator_last_error"] = run.LastOperatorError,
            ["load_end"] = LoadAverage(),
            ["green"] = green,
        };
    }

    /// <summary>Every swarm body the database committed (<c>swarm &lt;uid&gt;</c>).</summary>
    private static List<Row> ReadSwarmMessages(string dataDir)
    {
        var rows = new List<Row>();
        using var connection = HiveDatabase.Open(dataDir);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, sender, recipient, kind, body, sent_at FROM messages WHERE body LIKE 'swarm %'";
        using var reader = command.ExecuteReader();
        while (reader.Read())
            rows.Add(new Row(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)["swarm ".Length..],
                DateTimeOffset.Parse(reader.GetString(5), CultureInfo.InvariantCulture)));
        return rows;
    }

    private static JsonObject GovernedTurnsByEnd(string dataDir)
    {
        var turnsByEnd = new JsonObject();
        using var connection = HiveDatabase.Open(dataDir);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT coalesce(end_reason, 'open'), count(*) FROM governed_turns GROUP BY 1";
        using var reader = command.ExecuteReader();
        while (reader.Read()) turnsByEnd[reader.GetString(0)] = reader.GetInt64(1);
        return turnsByEnd;
    }

    /// <summary>The longest span in which an agent had mail waiting (sent, not yet handed to a COMMAND) and no COMMAND running; <c>From</c> in Unix ns, 0 if none.</summary>
    private static (double Seconds, string Agent, long From) LongestStall(List<Row> toAgents, Dictionary<long, List<SwarmAgent.Sighting>> sightingsById,
        Dictionary<string, List<(long Start, long? End)>> turns)
    {
        var stall = (Seconds: 0.0, Agent: "", From: 0L);
        foreach (var agentRows in toAgents.GroupBy(r => r.Recipient))
        {
            var waiting = agentRows.Where(r => sightingsById.ContainsKey(r.Id))
                .Select(r => (From: r.SentAt.ToUnixTimeMilliseconds() * 1_000_000, To: sightingsById[r.Id][0].StartNs)).Where(w => w.To > w.From).ToList();
            var running = turns.GetValueOrDefault(agentRows.Key, []).Select(t => (From: t.Start, To: t.End ?? t.Start)).ToList();
            foreach (var gap in Subtract(Merge(waiting), Merge(running)))
                if ((gap.To - gap.From) / 1e9 > stall.Seconds) stall = ((gap.To - gap.From) / 1e9, agentRows.Key, gap.From);
        }
        return stall;
    }

    private static JsonObject Machine(string loadStart)
    {
        string Read(string path) { try { return File.ReadAllText(path).Trim(); } catch (IOException) { return "unknown"; } }
        var memKb = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
        return new JsonObject
        {
            ["cores"] = Environment.ProcessorCount,
            ["cpu"] = model,
            ["ram_gib"] = memKb is null ? null : Math.Round(long.Parse(memKb, CultureInfo.InvariantCulture) / 1024.0 / 1024.0, 1),
            ["kernel"] = Read("/proc/sys/kernel/osrelease"),
            ["runtime"] = $".NET {Environment.Version}",
            ["build"] = BuildConfiguration,
            ["load_start"] = loadStart,
        };
    }

    public static string Markdown(JsonObject r)
    {
        var m = r["messages"]!;
        var w = r["wake_latency_ms"]!;
        var t = r["turns"]!;
        var h = r["host"]!;
        var q = r["sqlite"]!;
        var s = r["longest_stall"]!;
        var machine = r["machine"]!;
        string Mib(JsonNode? bytes) => Stats.F(bytes!.GetValue<long>() / 1024.0 / 1024.0, 1) + " MiB";
        var text = new StringBuilder();
        text.AppendLine($"### `bench -- swarm --minutes {r["minutes"]} --agents {r["agents"]} --kills {r["kills"]} --seed {r["seed"]}` ({(r["green"]!.GetValue<bool>() ? "green" : "FAILED")})");
        text.AppendLine();
        text.AppendLine($"Machine: {machine["cores"]} cores ({machine["cpu"]}), {machine["ram_gib"]} GiB RAM, Linux {machine["kernel"]}, {machine["runtime"]}, {machine["build"]} build; " +
                        $"load average {machine["load_start"]} at start, {r["load_end"]} at the end.");
        text.AppendLine();
        text.AppendLine("| figure | value |");
        text.AppendLine("|---|---|");
        text.AppendLine($"| messages sent (committed; by kind) | {m["sent"]} ({string.Join(", ", m["sent_by_kind"]!.AsObject().Select(k => $"{k.Key} {k.Value}"))}); agents' acknowledged sends {m["sent_by_agents_acknowledged"]}, operator's {m["sent_by_operator"]}, questions answered {r["questions"]!["answered_by_operator"]} of {r["questions"]!["asked"]} |");
        text.AppendLine($"| delivered | {m["delivered"]} ({m["delivered_to_a_command"]} handed to a COMMAND, {m["to_operator"]} in the operator's inbox) |");
        text.AppendLine($"| lost | **{m["lost"]}** (never handed out {m["lost_never_handed_to_a_command"]}, acknowledged send not in the database {m["lost_acknowledged_send_missing"]}) |");
        text.AppendLine($"| duplicated | {m["duplicated"]} (flagged `redelivered` {m["duplicated_flagged_redelivered"]}, unflagged **{m["duplicated_unflagged"]}**; bodies committed twice {m["committed_twice"]}) |");
        text.AppendLine($"| wake latency, send → COMMAND started | p50 {w["p50"]} ms, p90 {w["p90"]} ms, p99 {w["p99"]} ms, max {w["max"]} ms (n={w["n"]}) |");
        text.AppendLine($"| turns per minute | {t["per_minute"]} ({t["started_in_run"]} turns in {r["run_seconds"]} s; {t["started_total"]} with the drain; governed turns by end: {string.Join(", ", t["governed_by_end"]!.AsObject().Select(k => $"{k.Key} {k.Value}"))}) |");
        text.AppendLine($"| host CPU | {h["cpu_seconds"]} s over {h["lives"]} lives ({h["cpu_percent_of_one_core"]} % of one core) |");
        text.AppendLine($"| host peak RSS | {h["peak_rss_mib"]} MiB (largest life's VmHWM) |");
        text.AppendLine($"| host restarts (SIGKILL → ready) | {(h["restart_seconds"]!.AsArray().Count == 0 ? "none" : string.Join(", ", h["restart_seconds"]!.AsArray().Select(x => $"{x} s")))} |");
        text.AppendLine($"| SQLite `hive.db` / WAL | end {Mib(q["db_bytes_end"])} / {Mib(q["wal_bytes_end"])}; peak {Mib(q["db_bytes_peak"])} / {Mib(q["wal_bytes_peak"])} |");
        text.AppendLine($"| longest stall with work waiting | {s["seconds"]} s ({s["agent"]} at {s["at"]}{(s["overlaps_a_host_restart"]!.GetValue<bool>() ? ", across a host restart" : "")}) |");
        text.AppendLine($"| drain (agents stop replying → idle) | {r["drain_seconds"]} s{(r["drained"]!.GetValue<bool>() ? "" : " — NOT IDLE")} |");
        if (r["model_calls"] is JsonObject c) SwarmModelCalls.AppendMarkdown(text, c);
        return text.ToString();
    }

    private static List<(long From, long To)> Merge(IEnumerable<(long From, long To)> spans)
    {
        var merged = new List<(long From, long To)>();
        foreach (var span in spans.Where(x => x.To > x.From).OrderBy(x => x.From))
            if (merged.Count > 0 && span.From <= merged[^1].To) merged[^1] = (merged[^1].From, Math.Max(merged[^1].To, span.To));
            else merged.Add(span);
        return merged;
    }

    /// <summary>The parts of the (merged) spans <paramref name="from"/> not covered by the (merged) spans <paramref name="minus"/>.</summary>
    private static IEnumerable<(long From, long To)> Subtract(List<(long From, long To)> from, List<(long From, long To)> minus)
    {
        var j = 0;
        foreach (var (start, end) in from)
        {
            var cursor = start;
            while (j < minus.Count && minus[j].To <= cursor) j++;
            var k = j;
            while (k < minus.Count && minus[k].From < end)
            {
                if (minus[k].From > cursor) yield return (cursor, minus[k].From);
                cursor = Math.Max(cursor, minus[k].To);
                k++;
            }
            if (cursor < end) yield return (cursor, end);
        }
    }
}
