using System.Text;
using System.Text.Json.Nodes;
using Hive.Bench.Infrastructure;

namespace Hive.Bench.Modes;

/// <summary>
/// The swarm's model calls, three ways: what the provider served (<see cref="StreamingProvider.Calls"/>, by serial), what the host
/// metered (its <c>model_calls</c> rows; a complete row's input tokens are the serial of the call it booked), and what the
/// agents' client saw (<c>&lt;agent&gt;.calls</c>). Served and metered must be the same calls, none booked twice, except
/// calls cut by a kill: served whole by the provider but ended at most <see cref="BookingWindow"/> before a SIGKILL of the
/// host, which died before booking them (their rows are left open and marked interrupted at the next start, or there
/// is none: a call is written once, at its end, unless it is still streaming half a second after its first byte). The
/// gateway's added time to first byte of a call is the client's time to the response's first byte minus the provider's
/// own, from the request's arrival to its first byte written; the same difference for the calls the client made
/// straight to the provider is this measurement's floor (the client and the loopback, no gateway), and for the calls it
/// made through a bare forwarder in a process of its own, the floor of any gateway under the same load.
/// </summary>
internal static class SwarmModelCalls
{
    private const double AddedFirstByteGoalMs = 2;

    /// <summary>
    /// A call the provider served whole but the host never booked complete counts as cut by a kill when its stream ended at
    /// most this long before a SIGKILL of the host (the host books a call after the agent has its whole answer); anywhere
    /// else it is a call the meter missed.
    /// </summary>
    private static readonly TimeSpan BookingWindow = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long after a host came up its calls count as made in its start's aftermath: the run's agents (re)started and
    /// their runtimes coming up, the host's own code still cold. Past it, the gateway's added time is the steady state's.
    /// </summary>
    private static readonly TimeSpan Aftermath = TimeSpan.FromSeconds(30);

    /// <summary>The figures (the swarm's <c>model_calls</c>) and whether they are green: calls served, every one metered once but those cut by a kill.</summary>
    public static (JsonObject Result, bool Green) Analyse(SwarmRun run, StreamingProvider provider, int providerMaxInFlight)
    {
        var providerCalls = provider.Calls;
        var viaGateway = providerCalls.Where(c => !c.Direct).ToDictionary(c => c.Serial);
        var direct = providerCalls.Where(c => c.Direct).ToDictionary(c => c.Serial);
        var served = viaGateway.Values.Where(c => c.Served).ToDictionary(c => c.Serial);

        var (rowsByState, complete) = ReadHostRows(run.DataDir);
        var metered = complete.GroupBy(c => c.Serial).ToDictionary(g => g.Key, g => g.ToList());
        var bookedTwice = metered.Count(m => m.Value.Count > 1);
        var meteredNotServed = metered.Keys.Count(k => !served.ContainsKey(k));
        var (cutByKill, unbooked) = SplitUnmetered(served.Values.Where(c => !metered.ContainsKey(c.Serial)), run.Kills);

        var client = SwarmAgent.ReadCalls(run.LogDir);
        var clientViaGateway = client.Calls.Where(c => !c.Direct).ToList();
        var matched = clientViaGateway.Where(c => viaGateway.TryGetValue(c.Serial, out var p) && !double.IsNaN(p.FirstByteMs)).ToList();
        double Added(SwarmAgent.ClientCall c) => c.FirstByteMs - viaGateway[c.Serial].FirstByteMs;
        var added = matched.Select(Added).ToList();
        var addedFresh = matched.Where(c => c.Fresh).Select(Added).ToList();
        var addedReused = matched.Where(c => !c.Fresh).Select(Added).ToList();
        bool InAftermath(DateTimeOffset received) => run.Ups.LastOrDefault(up => up <= received) is var up && up != default && received - up < Aftermath;
        var byAftermath = matched.ToLookup(c => InAftermath(viaGateway[c.Serial].ReceivedAt), Added);
        var (addedAftermath, addedSteady) = (byAftermath[true].ToList(), byAftermath[false].ToList());
        var pastGateway = client.Calls.Where(c => c.Direct && direct.TryGetValue(c.Serial, out var p) && !double.IsNaN(p.FirstByteMs)).ToLookup(c => c.ViaForwarder);
        double DirectAdded(SwarmAgent.ClientCall c) => c.FirstByteMs - direct[c.Serial].FirstByteMs;
        List<double> Steady(IEnumerable<SwarmAgent.ClientCall> calls) => calls.Where(c => !InAftermath(direct[c.Serial].ReceivedAt)).Select(DirectAdded).ToList();
        var (floor, floorSteady) = (pastGateway[false].Select(DirectAdded).ToList(), Steady(pastGateway[false]));
        var (forwarded, forwardedSteady) = (pastGateway[true].Select(DirectAdded).ToList(), Steady(pastGateway[true]));
        // Where the added time goes: the host's own (its row's first byte, from the call's arrival at the host, minus the
        // provider's) and the rest (the client, the forwarding port in front of the agent, the door's socket).
        var hostFirstByte = metered.Where(m => m.Value[0].FirstByteMs is not null).ToDictionary(m => m.Key, m => m.Value[0].FirstByteMs!.Value);
        var inHost = hostFirstByte.Where(h => served.ContainsKey(h.Key)).Select(h => h.Value - served[h.Key].FirstByteMs).ToList();
        var outsideHost = clientViaGateway.Where(c => hostFirstByte.ContainsKey(c.Serial)).Select(c => c.FirstByteMs - hostFirstByte[c.Serial]).ToList();
        var providerFirstByte = viaGateway.Values.Where(c => !double.IsNaN(c.FirstByteMs)).Select(c => c.FirstByteMs).ToList();

        var addedFigures = Figures(added);
        var equal = bookedTwice == 0 && meteredNotServed == 0 && unbooked.Count == 0;
        var green = served.Count > 0 && equal;
        return (new JsonObject
        {
            ["provider_max_in_flight"] = providerMaxInFlight,
            ["provider_peak_in_flight"] = provider.PeakInFlight,
            ["received_via_gateway"] = viaGateway.Count,
            ["served"] = served.Count,
            ["cut_at_the_provider"] = viaGateway.Count - served.Count,
            ["metered_complete"] = metered.Count,
            ["host_rows_by_state"] = rowsByState,
            ["booked_twice"] = bookedTwice,
            ["metered_not_served"] = meteredNotServed,
            ["served_cut_by_a_kill"] = cutByKill.Count,
            ["served_cut_by_a_kill_seconds_before_it"] = new JsonArray(cutByKill.Select(c => (JsonNode?)Math.Round(c.SecondsBeforeKill, 3)).ToArray()),
            ["served_not_metered_outside_kills"] = unbooked.Count,
            ["served_not_metered_outside_kills_labels"] = new JsonArray(unbooked.Take(20).Select(c => (JsonNode?)$"{c.Serial} {c.Label} {c.EndedAt:O}").ToArray()),
            ["metered_equals_served_minus_cut_by_kills"] = equal && metered.Count == served.Count - cutByKill.Count,
            ["client_calls"] = clientViaGateway.Count,
            ["client_calls_whole"] = clientViaGateway.Count(c => c.Stopped),
            ["client_calls_not_200"] = clientViaGateway.Count(c => c.Status != 200),
            ["client_errors"] = client.Errors,
            ["client_last_error"] = client.LastError,
            ["client_direct_calls"] = client.Calls.Count(c => c.Direct && !c.ViaForwarder),
            ["client_forwarder_calls"] = client.Calls.Count(c => c.ViaForwarder),
            ["provider_first_byte_ms"] = Figures(providerFirstByte),
            ["gateway_added_first_byte_ms"] = addedFigures,
            ["gateway_added_first_byte_goal_met"] = added.Count > 0 && addedFigures["p99"]!.GetValue<double>() < AddedFirstByteGoalMs,
            ["gateway_added_first_byte_new_connection_ms"] = Figures(addedFresh),
            ["gateway_added_first_byte_kept_alive_ms"] = Figures(addedReused),
            ["gateway_added_first_byte_after_a_host_start_ms"] = Figures(addedAftermath),
            ["gateway_added_first_byte_steady_ms"] = Figures(addedSteady),
            ["direct_added_first_byte_ms"] = Figures(floor),
            ["direct_added_first_byte_steady_ms"] = Figures(floorSteady),
            ["forwarder_added_first_byte_ms"] = Figures(forwarded),
            ["forwarder_added_first_byte_steady_ms"] = Figures(forwardedSteady),
            ["added_in_host_ms"] = Figures(inHost),
            ["added_outside_host_ms"] = Figures(outsideHost),
        }, green);
    }

    /// <summary>The host's <c>anthropic</c> rows counted by state, and each complete row's serial (its input tokens) and first byte.</summary>
    private static (JsonObject RowsByState, List<(long Serial, double? FirstByteMs)> Complete) ReadHostRows(string dataDir)
    {
        var states = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var complete = new List<(long Serial, double? FirstByteMs)>();
        using var connection = HiveDatabase.Open(dataDir);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT state, input_tokens, first_byte_ms FROM model_calls WHERE provider = 'anthropic'";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var state = reader.GetString(0);
            states[state] = states.GetValueOrDefault(state) + 1;
            if (state == "complete") complete.Add((reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetDouble(2)));
        }
        var rowsByState = new JsonObject();
        foreach (var (state, n) in states) rowsByState[state] = n;
        return (rowsByState, complete);
    }

    /// <summary>Calls served but not metered: those cut by a kill (ended within <see cref="BookingWindow"/> before one), and the rest.</summary>
    private static (List<(StreamingProvider.Call Call, double SecondsBeforeKill)> CutByKill, List<StreamingProvider.Call> Unbooked) SplitUnmetered(
        IEnumerable<StreamingProvider.Call> unmetered, List<(DateTimeOffset Sent, DateTimeOffset Gone)> kills)
    {
        var cutByKill = new List<(StreamingProvider.Call Call, double SecondsBeforeKill)>();
        var unbooked = new List<StreamingProvider.Call>();
        foreach (var call in unmetered.OrderBy(c => c.Serial))
        {
            var kill = kills.Where(k => call.EndedAt <= k.Gone && call.EndedAt >= k.Sent - BookingWindow).Select(k => (DateTimeOffset?)k.Sent).FirstOrDefault();
            if (kill is { } sent) cutByKill.Add((call, (sent - call.EndedAt).TotalSeconds));
            else unbooked.Add(call);
        }
        return (cutByKill, unbooked);
    }

    /// <summary>p50, p90, p99 and max in ms to 3 decimals, with their count; only the count when there are none.</summary>
    private static JsonObject Figures(List<double> values)
    {
        if (values.Count == 0) return new JsonObject { ["n"] = 0 };
        var l = Latency.Of(values);
        return new JsonObject
        {
            ["n"] = values.Count, ["p50"] = Math.Round(l.P50, 3), ["p90"] = Math.Round(l.P90, 3), ["p99"] = Math.Round(l.P99, 3), ["max"] = Math.Round(l.Max, 3),
        };
    }

    /// <summary>The <c>GOAL</c> line of the gateway's added time to first byte.</summary>
    public static string GoalLine(JsonObject model)
    {
        var addedP99 = model["gateway_added_first_byte_ms"]?["p99"]?.GetValue<double>();
        var floorP99 = model["forwarder_added_first_byte_ms"]?["p99"]?.GetValue<double>();
        return $"GOAL gateway's added time to first byte p99 < {AddedFirstByteGoalMs} ms: " +
               $"{(model["gateway_added_first_byte_goal_met"]!.GetValue<bool>() ? "met" : "MISSED")} ({(addedP99 is { } p ? Stats.F(p, 3) + " ms" : "no calls")}; " +
               $"a bare forwarder in its own process adds {(floorP99 is { } f ? Stats.F(f, 3) + " ms" : "nothing measured")} under the same load)";
    }

    /// <summary>The model calls' rows of the swarm's Markdown table.</summary>
    public static void AppendMarkdown(StringBuilder text, JsonObject c)
    {
        text.AppendLine($"| model calls served (provider, whole streams) | {c["served"]} of {c["received_via_gateway"]} received through the gateway ({c["cut_at_the_provider"]} cut while streaming); " +
                        $"provider's peak in flight {c["provider_peak_in_flight"]} (max_in_flight {c["provider_max_in_flight"]}) |");
        text.AppendLine($"| model calls metered (host, complete rows) | {c["metered_complete"]} (rows by state: {string.Join(", ", c["host_rows_by_state"]!.AsObject().Select(k => $"{k.Key} {k.Value}"))}); " +
                        $"booked twice **{c["booked_twice"]}**, metered not served **{c["metered_not_served"]}** |");
        var before = c["served_cut_by_a_kill_seconds_before_it"]!.AsArray();
        text.AppendLine($"| served, not metered | cut by a kill {c["served_cut_by_a_kill"]}{(before.Count == 0 ? "" : $" (ended {string.Join(", ", before.Select(x => $"{x} s"))} before the SIGKILL)")}, " +
                        $"elsewhere **{c["served_not_metered_outside_kills"]}**; metered = served − cut by kills: {c["metered_equals_served_minus_cut_by_kills"]} |");
        text.AppendLine($"| the agents' client | {c["client_calls"]} calls through the gateway ({c["client_calls_whole"]} read whole, {c["client_calls_not_200"]} not 200), {c["client_errors"]} failed, {c["client_direct_calls"]} straight to the provider, {c["client_forwarder_calls"]} through the bare forwarder |");
        text.AppendLine($"| provider's request → first byte | {FiguresText(c["provider_first_byte_ms"])} |");
        text.AppendLine($"| gateway's added time to first byte (client's − provider's) | {FiguresText(c["gateway_added_first_byte_ms"])} |");
        text.AppendLine($"| … a turn's first call (opens its connection) | {FiguresText(c["gateway_added_first_byte_new_connection_ms"])} |");
        text.AppendLine($"| … its later calls (the connection kept alive) | {FiguresText(c["gateway_added_first_byte_kept_alive_ms"])} |");
        text.AppendLine($"| … calls in the {Aftermath.TotalSeconds:0} s after a host came up (agents restarting, the host cold) | {FiguresText(c["gateway_added_first_byte_after_a_host_start_ms"])} |");
        text.AppendLine($"| … every other call (the steady state) | {FiguresText(c["gateway_added_first_byte_steady_ms"])} |");
        text.AppendLine($"| … of it in the host (its row's first byte − provider's) | {FiguresText(c["added_in_host_ms"])} |");
        text.AppendLine($"| … the rest (client, forwarding port, door) | {FiguresText(c["added_outside_host_ms"])} |");
        text.AppendLine($"| the same measured on direct calls (the floor: client, loopback) | {FiguresText(c["direct_added_first_byte_ms"])} |");
        text.AppendLine($"| … its steady state (no host start in the {Aftermath.TotalSeconds:0} s before) | {FiguresText(c["direct_added_first_byte_steady_ms"])} |");
        text.AppendLine($"| the same through a bare forwarder in its own process (the floor of any gateway) | {FiguresText(c["forwarder_added_first_byte_ms"])} |");
        text.AppendLine($"| … its steady state | {FiguresText(c["forwarder_added_first_byte_steady_ms"])} |");
    }

    private static string FiguresText(JsonNode? f) =>
        f!["n"]!.GetValue<int>() == 0 ? "none" : $"p50 {f["p50"]} ms, p90 {f["p90"]} ms, p99 {f["p99"]} ms, max {f["max"]} ms (n={f["n"]})";
}
