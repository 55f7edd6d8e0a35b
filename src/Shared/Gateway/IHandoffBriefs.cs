namespace Hive.Shared.Gateway;

/// <summary>
/// What an agent moved to another provider is told of its work so far: a brief built from the last calls the gateway saw
/// it make on <c>provider</c> (its task, its last tool calls and their results, the files it changed), never the
/// conversation itself. The gateway implements it (Governance, below it, asks when a turn starts on a new provider).
/// </summary>
public interface IHandoffBriefs
{
    /// <summary>The brief of <paramref name="agent"/>'s work on <paramref name="provider"/>; null when the gateway saw none this host life.</summary>
    string? BriefOf(string agent, string provider);
}

public sealed class NoHandoffBriefs : IHandoffBriefs
{
    public string? BriefOf(string agent, string provider) => null;
}
