namespace Hive.Shared.Agents;

/// <summary>
/// Whom an agent may message or ask. Declared here because Messages and Questions enforce it while the agents'
/// configuration lives higher up (Containers implements it); with no implementation, anyone may reach anyone.
/// </summary>
public interface IRecipientPolicy
{
    /// <summary>True when <paramref name="from"/> may send to (or ask) <paramref name="to"/>; the operator and the manager are always reachable.</summary>
    bool MayReach(string from, string to);
}

/// <summary>No restriction: the policy until a feature that configures agents provides one.</summary>
public sealed class AnyoneMayReachAnyone : IRecipientPolicy
{
    public bool MayReach(string from, string to) => true;
}
