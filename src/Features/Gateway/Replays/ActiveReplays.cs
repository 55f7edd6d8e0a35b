using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Dapper;
using Hive.Contracts.Gateway;
using Hive.Shared.Data;

namespace Hive.Features.Gateway.Replays;

/// <summary>One recorded model call of the turn being replayed: what answers the replayed call that matches it.</summary>
internal sealed class RecordedCall
{
    public long Id { get; init; }
    public string Path { get; init; } = "";
    public string RequestBody { get; init; } = "";
    public string ResponseBody { get; init; } = "";
    public int Status { get; init; }
    public bool Streamed { get; init; }
    public string? Model { get; init; }
}

/// <summary>What the door does with a replay agent's model call.</summary>
internal abstract record ReplayAnswer
{
    /// <summary>The recorded call that matched: its response is the answer.</summary>
    public sealed record Recorded(RecordedCall Call, int Number) : ReplayAnswer;

    /// <summary>The call differs from the recording (or comes after its last call): the replay diverged here.</summary>
    public sealed record Diverged(Divergence Divergence, bool GoLive) : ReplayAnswer;

    /// <summary>The replay went live at an earlier divergence: the call goes to the model.</summary>
    public sealed record Live : ReplayAnswer;

    /// <summary>The replay is over (or this agent replays nothing now): the call is refused, and why.</summary>
    public sealed record Refused(string Why) : ReplayAnswer;
}

/// <summary>
/// A replay in progress: the recorded calls of its turn, which of them answered already, and whether it went live. Each
/// replayed call is matched against the calls not yet used, in order, so that calls a client makes side by side (in the
/// original in one order, in the replay in another) still find theirs; the first unmatched call is the divergence.
/// </summary>
internal sealed class ActiveReplay(long id, string agent, string sourceAgent, long sourceTurn, string onDivergence, IReadOnlyList<RecordedCall> calls)
{
    private readonly Lock _lock = new();
    private readonly bool[] _used = new bool[calls.Count];
    private readonly Dictionary<long, JsonNode?> _normalised = [];
    private int _seen;
    private bool _live;
    private bool _over;

    public long Id => id;
    public string Agent => agent;
    public string SourceAgent => sourceAgent;
    public long SourceTurn => sourceTurn;
    public int Replayed { get; private set; }

    /// <summary>Matches a replayed request (already normalised) against the recording; <paramref name="recorded"/> normalises a recorded call's.</summary>
    public ReplayAnswer Answer(string path, JsonNode? request, Func<RecordedCall, JsonNode?> recorded)
    {
        lock (_lock)
        {
            if (_over) return new ReplayAnswer.Refused($"hive: replay {id} has ended; a replay's agent makes no more model calls");
            if (_live) return new ReplayAnswer.Live();
            _seen++;
            RecordedCall? compared = null;
            for (var i = 0; i < calls.Count; i++)
            {
                if (_used[i] || calls[i].Path != path) continue;
                var call = calls[i];
                if (!_normalised.TryGetValue(call.Id, out var expected)) _normalised[call.Id] = expected = recorded(call);
                compared ??= call;
                if (!RequestComparison.Same(expected, request)) continue;
                _used[i] = true;
                Replayed++;
                return new ReplayAnswer.Recorded(call, _seen);
            }
            var differences = compared is null
                ? [new RequestDifference("$", null, "a call the original turn did not make: its recorded calls are all used")]
                : RequestComparison.Differences(_normalised[compared.Id], request);
            var divergence = new Divergence(_seen, compared?.Id ?? 0, differences);
            if (onDivergence == OnDivergence.Live) _live = true;
            else _over = true;
            return new ReplayAnswer.Diverged(divergence, _live);
        }
    }

    /// <summary>No more calls are answered (the replayed turn ended).</summary>
    public void End()
    {
        lock (_lock) _over = true;
    }
}

/// <summary>
/// The replays the host knows of: every agent that is a replay's (its hive verbs are captured, its model calls never
/// reach a provider unless its replay went live), and those in progress. The agents are read from <c>replays</c> when first
/// asked (after the migrations, before any agent's first verb), so one the last host life made is still a replay's.
/// </summary>
internal sealed class ActiveReplays(IDb db)
{
    private readonly ConcurrentDictionary<string, ActiveReplay> _running = new(StringComparer.Ordinal);
    private ConcurrentDictionary<string, ReplayOf>? _agentsLoaded;
    private readonly Lock _loading = new();

    private ConcurrentDictionary<string, ReplayOf> Agents
    {
        get
        {
            if (_agentsLoaded is { } loaded) return loaded;
            lock (_loading)
            {
                if (_agentsLoaded is not null) return _agentsLoaded;
                using var connection = db.Open();
                var known = connection.Query<(long Id, string Agent, string SourceAgent, long SourceTurn)>(
                    "SELECT id, agent, source_agent, source_turn FROM replays WHERE released = 0 ORDER BY id");
                return _agentsLoaded = new ConcurrentDictionary<string, ReplayOf>(
                    known.Select(r => KeyValuePair.Create(r.Agent, new ReplayOf(r.Id, r.SourceAgent, r.SourceTurn))), StringComparer.Ordinal);
            }
        }
    }

    public bool IsReplayAgent(string agent) => Agents.ContainsKey(agent);

    /// <summary>The turn the agent replays; null for any other agent.</summary>
    public ReplayOf? ReplayOf(string agent) => Agents.GetValueOrDefault(agent);

    public ActiveReplay? Running(string agent) => _running.GetValueOrDefault(agent);

    public void Know(string agent, ReplayOf replay) => Agents[agent] = replay;

    public void Start(ActiveReplay replay)
    {
        Agents[replay.Agent] = new ReplayOf(replay.Id, replay.SourceAgent, replay.SourceTurn);
        _running[replay.Agent] = replay;
    }

    public ActiveReplay? Stop(string agent)
    {
        if (!_running.TryRemove(agent, out var replay)) return null;
        replay.End();
        return replay;
    }

    /// <summary>The agent is gone: its name is free for an ordinary agent again.</summary>
    public void Release(string agent)
    {
        Stop(agent);
        Agents.TryRemove(agent, out _);
    }
}
