namespace Hive.Features.Work.Leases;

/// <summary><c>Hive:Work:Leases</c>: the bounds of the agents' advisory leases.</summary>
public sealed class LeaseOptions
{
    public const string Section = "Hive:Work:Leases";

    /// <summary>The TTL of a lease asked for without one.</summary>
    public int DefaultTtlSeconds { get; set; } = 300;

    /// <summary>The most live leases one agent may hold at once (<c>too_many</c> beyond).</summary>
    public int MaxPerAgent { get; set; } = 100;
}
