using Hive.Bench.Modes;
using Hive.Features.Search;
using Microsoft.Data.Sqlite;

namespace Hive.Bench.Infrastructure;

/// <summary>
/// The group-commit floor's search index kept behind its sends, the way the host's indexer keeps it: a thread of its own on
/// a connection of its own, woken by each commit, reads the messages after its cursor in batches of the host's size and
/// writes each batch's entries, their FTS5 text and the cursor in one transaction. It and the floor's sends take turns
/// at one write lock (the host's write gate), so neither sleeps in SQLite's busy handler. It waits for a whole batch (or
/// for the sends to pause for the host's quiet <c>DelayMs</c>), since FTS5 pays most per commit: over sends that go on,
/// every batch is full and search stays within a batch of the sends, so (f16i) is the most a host that keeps search
/// current can reach on this machine.
/// </summary>
internal sealed class FloorIndexer : IDisposable
{
    /// <summary>The host's <c>Hive:Search:BatchSize</c> default.</summary>
    private const int BatchSize = 500;

    /// <summary>The host's <c>Hive:Search:DelayMs</c> default: sends this quiet mean the burst is over.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(20);

    private readonly SqliteConnection _connection;
    private readonly ManualResetEventSlim _woken = new();
    private readonly Thread _loop;
    private volatile bool _stopping;
    private long _indexed;
    private long _committed;
    private long _batches;
    private Exception? _failure;

    public FloorIndexer(RawSqlite storage)
    {
        if (!storage.Indexed) throw new ArgumentException("the floor's database has no search tables", nameof(storage));
        _connection = storage.OpenConnection();
        _loop = new Thread(Loop) { IsBackground = true, Name = "floor indexer" };
        _loop.Start();
    }

    /// <summary>Held by each of the floor's send transactions and each batch here.</summary>
    public object WriteLock { get; } = new();

    /// <summary>Messages indexed so far, and in how many transactions.</summary>
    public long Indexed => Interlocked.Read(ref _indexed);
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>A send transaction of <paramref name="rows"/> committed: there is something to index.</summary>
    public void Wake(int rows)
    {
        Interlocked.Add(ref _committed, rows);
        _woken.Set();
    }

    private void Loop()
    {
        try
        {
            using var cursor = Command("SELECT coalesce((SELECT position FROM search_cursors WHERE kind = 'message'), 0)");
            using var read = Command("SELECT id, sender, recipient, body, sent_at FROM messages WHERE id > $after ORDER BY id LIMIT $limit");
            var after = read.Parameters.Add("$after", SqliteType.Integer);
            read.Parameters.AddWithValue("$limit", BatchSize);
            // The host's own statements (SearchIndex, SearchIndexer): an entry, then its text under the entry's id; the cursor.
            using var entry = Command(SearchIndex.AddEntrySql);
            entry.Parameters.AddWithValue("$kind", "message");
            var (entryRef, sender, recipient, at) = (entry.Parameters.Add("$ref", SqliteType.Integer), entry.Parameters.Add("$sender", SqliteType.Text),
                entry.Parameters.Add("$recipient", SqliteType.Text), entry.Parameters.Add("$at", SqliteType.Text));
            using var text = Command(SearchIndex.AddTextSql);
            var textBody = text.Parameters.Add("$text", SqliteType.Text);
            using var move = Command(SearchIndexer.MoveCursorSql);
            move.Parameters.AddWithValue("@kind", "message");
            var position = move.Parameters.Add("@position", SqliteType.Integer);

            var rows = new List<(long Id, string Sender, string Recipient, string Body, string At)>(BatchSize);
            while (!_stopping)
            {
                if (!_woken.Wait(100)) continue;
                _woken.Reset(); // before reading: a commit after this wakes the next pass
                while (Interlocked.Read(ref _committed) - Indexed < BatchSize && _woken.Wait(Quiet)) _woken.Reset();
                do
                {
                    rows.Clear();
                    lock (WriteLock)
                    {
                        using var transaction = _connection.BeginTransaction(deferred: false);
                        foreach (var command in new[] { cursor, read, entry, text, move }) command.Transaction = transaction;
                        after.Value = (long)cursor.ExecuteScalar()!;
                        using (var reader = read.ExecuteReader())
                            while (reader.Read())
                                rows.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
                        if (rows.Count == 0) break;
                        foreach (var row in rows)
                        {
                            (entryRef.Value, sender.Value, recipient.Value, at.Value) = (row.Id, row.Sender, row.Recipient, row.At);
                            if (entry.ExecuteNonQuery() == 0) continue;
                            textBody.Value = row.Body;
                            text.ExecuteNonQuery();
                        }
                        position.Value = rows[^1].Id;
                        move.ExecuteNonQuery();
                        transaction.Commit();
                    }
                    Interlocked.Add(ref _indexed, rows.Count);
                    Interlocked.Increment(ref _batches);
                }
                while (rows.Count == BatchSize && !_stopping);
            }
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }

    private SqliteCommand Command(string sql)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    public void Dispose()
    {
        _stopping = true;
        _loop.Join();
        _connection.Dispose();
        _woken.Dispose();
        if (_failure is not null) throw new InvalidOperationException("the floor's indexer failed", _failure);
    }
}
