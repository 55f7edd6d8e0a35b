using Hive.Shared.Limits;

namespace Hive.Shared.Dashboard;

/// <summary>
/// The event streams each <see cref="OperatorClient"/> holds, so that one runaway page or script takes at most
/// <see cref="ConnectionLimits.EventStreamsPerClient"/> of the host's streams and the others keep theirs.
/// </summary>
public sealed class EventStreamClients
{
    private readonly Dictionary<string, int> _open = new(StringComparer.Ordinal);

    public int OpenOf(string client)
    {
        lock (_open) return _open.GetValueOrDefault(client);
    }

    /// <summary>A lease on one of <paramref name="client"/>'s streams (dispose it when the stream ends), or null when it holds <paramref name="cap"/> already.</summary>
    public IDisposable? TryOpen(string client, int cap)
    {
        lock (_open)
        {
            var open = _open.GetValueOrDefault(client);
            if (open >= cap) return null;
            _open[client] = open + 1;
        }
        return new Lease(this, client);
    }

    private void Close(string client)
    {
        lock (_open)
        {
            // Clients come and go with sessions: an entry lives only while its client holds a stream.
            if (_open[client] == 1) _open.Remove(client);
            else _open[client]--;
        }
    }

    private sealed class Lease(EventStreamClients owner, string client) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) owner.Close(client);
        }
    }
}
