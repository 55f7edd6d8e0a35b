namespace Hive.Shared.Agents;

/// <summary>
/// Whom an agent may message or ask. Declared here because Messages and Questions enforce it while the agents'
/// configuration lives higher up (Containers implements it); with no implementation, anyone may reach anyone.
/// </summary>
public interface IRecipientPolicy
{
    /// <summary>Why <paramref name="from"/> may not send to (or ask) <paramref name="to"/>, as the refusal says it; null when it may.</summary>
    string? WhyNot(string from, string to);

    /// <summary>True when <paramref name="from"/> may send to (or ask) <paramref name="to"/>.</summary>
    bool MayReach(string from, string to) => WhyNot(from, to) is null;
}

/// <summary>No restriction: the policy until a feature that configures agents provides one.</summary>
public sealed class AnyoneMayReachAnyone : IRecipientPolicy
{
    public string? WhyNot(string from, string to) => null;
}
