using Dapper;
using Hive.Shared.Data;

namespace Hive.Features.Gateway.Recordings;

/// <summary>
/// Which agents' call bodies are recorded: all, but those the operator switched off (<see cref="SetCallRecording"/>), read
/// from <c>calls_unrecorded</c> once and kept in memory, since every call asks.
/// </summary>
internal sealed class CallRecording(IDb db)
{
    private readonly Lock _lock = new();
    private HashSet<string>? _off;

    public bool IsOn(string agent)
    {
        lock (_lock) return !Off().Contains(agent);
    }

    public void Set(string agent, bool on)
    {
        lock (_lock)
        {
            if (on) Off().Remove(agent);
            else Off().Add(agent);
        }
    }

    private HashSet<string> Off()
    {
        if (_off is null)
        {
            using var connection = db.Open();
            _off = new HashSet<string>(connection.Query<string>("SELECT agent FROM calls_unrecorded"), StringComparer.Ordinal);
        }
        return _off;
    }
}
