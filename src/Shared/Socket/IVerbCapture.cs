using System.Text.Json;
using Hive.Contracts.Protocol;

namespace Hive.Shared.Socket;

/// <summary>
/// Agents whose verbs that reach beyond them (<see cref="VerbReach.Hive"/>) are captured instead of carried out: a replay's
/// agent, whose turn changes nothing outside itself. The gateway implements it; the dispatch asks before any such verb runs.
/// </summary>
public interface IVerbCapture
{
    bool Captures(string agent);

    /// <summary>Keeps the call and answers it as the verb would, with ids of the capture's own.</summary>
    Task<object?> CaptureAsync(string agent, SocketVerb verb, JsonElement request, CancellationToken cancellationToken);
}
