using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Shared.Constellation;

/// <summary>
/// This hive's name in a constellation of hives, or null when it is in none (no broker configured: an address with
/// <c>@</c> then names no one). Declared here because Messages must know whether a <c>to</c> leaves the box while the
/// constellation lives higher up (Constellation implements it).
/// </summary>
public interface IConstellation
{
    string? HiveName { get; }
}

/// <summary>No constellation: the hive alone, with no other hives to reach.</summary>
public sealed class NoConstellation : IConstellation
{
    public string? HiveName => null;
}

/// <summary><c>agent@hive</c> addresses; hive names follow the agent-name rule (lowercase, at most 31 characters).</summary>
public static class HiveAddresses
{
    /// <summary>The two halves of a well-formed <c>agent@hive</c>, else null.</summary>
    public static (string Agent, string Hive)? Parse(string? address)
    {
        if (address is null) return null;
        var at = address.IndexOf('@');
        if (at < 0 || at != address.LastIndexOf('@')) return null;
        var (agent, hive) = (address[..at], address[(at + 1)..]);
        return (agent == AgentNames.Operator || AgentNames.IsWellFormed(agent)) && AgentNames.IsWellFormed(hive) ? (agent, hive) : null;
    }

    /// <summary>True when <paramref name="to"/> names an agent on another hive of this hive's constellation.</summary>
    public static bool IsRemote(this IConstellation constellation, string? to) =>
        constellation.HiveName is { } own && Parse(to) is { } address && address.Hive != own;

    /// <summary><c>bob@&lt;own name&gt;</c> is plain <c>bob</c>; anything else is left as it is.</summary>
    public static string? Local(this IConstellation constellation, string? to) =>
        constellation.HiveName is { } own && Parse(to) is { } address && address.Hive == own ? address.Agent : to;
}

/// <summary>
/// A message a local sender addressed to <c>agent@other-hive</c>, stored by Messages (<paramref name="MessageId"/>): sent
/// from inside that send's change, so the Constellation's outbox row commits with the message or not at all.
/// </summary>
public sealed record RelayToHive(long MessageId, string From, string To, string Body, DateTimeOffset SentAt) : IRequest, IChangesState;
