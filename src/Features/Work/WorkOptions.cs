namespace Hive.Features.Work;

/// <summary><c>Hive:Work</c>: how the board dispatches.</summary>
public sealed class WorkOptions
{
    public const string Section = "Hive:Work";

    /// <summary>An offer not claimed within this long is taken back and made to another idle agent.</summary>
    public int OfferSeconds { get; set; } = 300;

    /// <summary>How often the board looks for expired offers, leases and free slots besides reacting to changes.</summary>
    public int SweepSeconds { get; set; } = 5;

    /// <summary>How often the conflict radar looks at the active tickets' branches (a branch that did not move costs no diff).</summary>
    public int RadarSeconds { get; set; } = 2;

    /// <summary>Open tickets an agent may hold at once (a claim beyond it is refused); one workspace at /work each.</summary>
    public int MaxClaimsPerAgent { get; set; } = 1;

    /// <summary>Tickets an agent may discover from one parent.</summary>
    public int MaxDiscoveriesPerTicket { get; set; } = 20;

    /// <summary><c>Hive:Work:MergeQueue</c>: how approved tickets land.</summary>
    public MergeQueueOptions MergeQueue { get; set; } = new();

    /// <summary>Agents besides the manager that may create tickets (<c>ticket_create</c>); any agent may discover one from a ticket it holds.</summary>
    public List<string> Creators { get; set; } = [];
}

/// <summary><c>Hive:Work:MergeQueue</c>.</summary>
public sealed class MergeQueueOptions
{
    /// <summary>The most tickets one batch merges and checks together.</summary>
    public int MaxBatchSize { get; set; } = 4;

    /// <summary>How long the oldest queued ticket waits for others to join its batch (a full batch starts at once).</summary>
    public double BatchWaitSeconds { get; set; } = 10;

    /// <summary>A check still running after this long is killed and counts as failing.</summary>
    public int CheckTimeoutSeconds { get; set; } = 600;
}
