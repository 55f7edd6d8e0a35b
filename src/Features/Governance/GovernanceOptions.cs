namespace Hive.Features.Governance;

/// <summary>The <c>Hive:Governance</c> configuration section.</summary>
public sealed class GovernanceOptions
{
    /// <summary>Turns running at once, hive-wide.</summary>
    public int MaxConcurrentTurns { get; set; } = Environment.ProcessorCount * 2;

    /// <summary>Turns running at once per provider (absent: only the hive-wide cap).</summary>
    public Dictionary<string, int> ProviderCaps { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A turn running longer is stopped (its slot returns).</summary>
    public double MaxTurnMinutes { get; set; } = 60;

    /// <summary>How long a provider's circuit stays open when the limit it hit named no reset time.</summary>
    public double QuotaDefaultMinutes { get; set; } = 60;

    /// <summary>The share of a cap at which the operator is told, once per period.</summary>
    public int WarnPercent { get; set; } = 80;

    /// <summary>USD per million tokens, per model: what a turn costs when its agent did not say.</summary>
    public Dictionary<string, ModelPrice> Prices { get; set; } = new(StringComparer.Ordinal);

    public BudgetOptions Budgets { get; set; } = new();

    /// <summary>
    /// The most one turn's self-reported cost (an agent whose calls bypass the gateway) is charged: a report above it is
    /// charged at this bound to its agent only (none of it reaches the hive's books) and audited.
    /// </summary>
    public double MaxReportedTurnUsd { get; set; } = 25;

    /// <summary>The same bound on one turn's self-reported tokens.</summary>
    public long MaxReportedTurnTokens { get; set; } = 100_000_000;

    /// <summary>A turn running this long is nudged (a system message), and after as long again its agent is paused and the operator asked; 0: off.</summary>
    public double StallMinutes { get; set; } = 10;

    /// <summary>This many turns in a row that spent tokens and did nothing pause the agent and ask the operator; 0: off.</summary>
    public int LoopTurns { get; set; } = 5;

    /// <summary>An agent gone <c>failed</c> (its restarts ran out) asks the operator one question.</summary>
    public bool CrashLoopQuestion { get; set; } = true;
}

public sealed class ModelPrice
{
    public double InputPerMtok { get; set; }
    public double OutputPerMtok { get; set; }
    public double CacheReadPerMtok { get; set; }
    public double CacheWritePerMtok { get; set; }
}

/// <summary>Configured caps: the hive's (<c>Hive</c>), every agent's default (<c>Agent</c>) and named agents' own (<c>Agents:&lt;name&gt;</c>).</summary>
public sealed class BudgetOptions
{
    public CapOptions? Hive { get; set; }
    public CapOptions? Agent { get; set; }
    public Dictionary<string, CapOptions> Agents { get; set; } = new(StringComparer.Ordinal);
}

public sealed class CapOptions
{
    public double? DailyUsd { get; set; }
    public double? MonthlyUsd { get; set; }
    public long? DailyTokens { get; set; }
    public long? MonthlyTokens { get; set; }

    public Caps ToCaps() => new(DailyUsd, MonthlyUsd, DailyTokens, MonthlyTokens);
}

/// <summary>
/// The stop grace (<c>Hive:Containers:StopGraceSeconds</c>): how long a turn told to stop has before the host ends it,
/// the same grace an agent's process gets when it is stopped.
/// </summary>
public sealed class StopGraceOptions
{
    public double StopGraceSeconds { get; set; } = 5;

    public TimeSpan StopGrace => TimeSpan.FromSeconds(StopGraceSeconds);
}
