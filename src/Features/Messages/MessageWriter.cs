using System.Threading.Channels;
using Dapper;
using Hive.Contracts.Json;
using Hive.Shared.Data;
using Hive.Shared.Health;
using Hive.Shared.Search;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Messages;

/// <summary>
/// Group commit: one writer takes every send waiting in its queue, inserts them in one transaction, and completes
/// each send only after that commit. Senders never contend for the write lock, and a send is acknowledged only once
/// it is durable (at the configured <c>synchronous</c> level).
/// </summary>
internal sealed class MessageWriter : IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly IDb _db;
    private readonly ILogger<MessageWriter> _logger;
    private readonly StorageHealth _health;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;

    private readonly ISearchIndex _search;
    private readonly ParkedHandOver _handOver;

    public MessageWriter(IDb db, StorageHealth health, ILogger<MessageWriter> logger, ISearchIndex search, ParkedHandOver handOver)
    {
        _db = db;
        _search = search;
        _handOver = handOver;
        _health = health;
        _logger = logger;
        _loop = Task.Run(WriteLoopAsync);
    }

    /// <param name="ClientId">The sender's idempotency key: a draft whose (sender, client id) is stored already stores nothing.</param>
    public sealed record Draft(
        string Sender, string Recipient, string Kind, string Body, DateTimeOffset SentAt, string? ClientId = null, long? InReplyTo = null);

    /// <summary>
    /// The stored row; <see cref="Duplicate"/> when it was stored by an earlier send with the same client id. A broadcast's
    /// <see cref="Broadcast"/> holds all its rows, the first (<see cref="Row"/>) included.
    /// </summary>
    public sealed record Stored(MessageRow Row, bool Duplicate, IReadOnlyList<MessageRow>? Broadcast = null);

    /// <param name="Recipients">For a broadcast: every recipient, the draft's own first; all rows commit together.</param>
    private sealed record Pending(Draft Draft, IReadOnlyList<string>? Recipients, TaskCompletionSource<Stored> Committed);

    /// <summary>Queues a message; the task completes with the stored row once its transaction has committed.</summary>
    public Task<Stored> AppendAsync(Draft draft) => Enqueue(new Pending(draft, null, NewCompletion()));

    /// <summary>
    /// Queues one copy of <paramref name="draft"/> per recipient, written in one transaction, each carrying the first row's
    /// id as its <c>broadcast_id</c>; the draft's client id goes on the first row only (a retry finds the whole broadcast).
    /// </summary>
    public Task<Stored> AppendBroadcastAsync(Draft draft, IReadOnlyList<string> recipients) =>
        Enqueue(new Pending(draft with { Recipient = recipients[0] }, recipients, NewCompletion()));

    // Continuations run on the writer's thread as it completes each send (the rest of the send: its event and its reply),
    // not handed to the pool: a hand-off less per send, and the next batch gathers the sends that came meanwhile. The
    // rest of a send never blocks (it awaits), so the writer is held only as long as that synchronous part runs.
    private static TaskCompletionSource<Stored> NewCompletion() => new();

    private Task<Stored> Enqueue(Pending pending)
    {
        if (!_queue.Writer.TryWrite(pending))
            throw new InvalidOperationException("the host is shutting down");
        return pending.Committed.Task;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        var rows = new List<Stored>(MaxBatch);
        var handedOver = new List<ParkedHandOver.Claimed>();
        PreparedInsert? insert = null; // one connection and one prepared statement for the writer's life
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            rows.Clear();
            try
            {
                insert ??= new PreparedInsert(_db.Open());
                // Released before the sends complete below: the rest of a send may begin a change of its own on this thread.
                using var turn = await _db.EnterWriteAsync();
                // Taken once the turn is ours, so the sends that came while it waited go into this batch.
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending)) batch.Add(pending);
                using var transaction = insert.Connection.BeginTransaction();
                foreach (var (draft, recipients, _) in batch)
                    rows.Add(recipients is null ? insert.Store(transaction, draft) : insert.StoreBroadcast(transaction, draft, recipients));
                // A parked recv gets its new messages in this transaction: its own take would be a second one after it.
                _handOver.HandOut(transaction, rows.Where(r => !r.Duplicate).SelectMany(r => r.Broadcast ?? [r.Row]), handedOver);
                transaction.Commit();
            }
            catch (Exception e)
            {
                // Each send fails with the exception itself, so its caller gets the code the mapping table gives it
                // (storage_full, storage_unavailable); a storage fault is logged once by the health, with the db path.
                if (!_health.Observe(e))
                    _logger.LogError(e, "a batch of {Count} messages failed to commit; none was acknowledged", batch.Count);
                ParkedHandOver.Complete(handedOver, committed: false); // they look again
                foreach (var pending in batch) pending.Committed.TrySetException(e);
                insert?.Dispose(); // start the next batch on a fresh connection
                insert = null;
                continue;
            }
            // Before the sends complete: each send's `sent` then releases the receiver it was handed to.
            ParkedHandOver.Complete(handedOver, committed: true);
            _health.WriteSucceeded();
            // Not indexed here: the index reads the batch behind it, from its cursor, so a send's commit is the message alone.
            _search.Wake();
            for (var i = 0; i < batch.Count; i++) batch[i].Committed.TrySetResult(rows[i]);
        }
        insert?.Dispose();
    }

    /// <summary>The writer's INSERT, prepared once on its own long-lived connection.</summary>
    private sealed class PreparedInsert : IDisposable
    {
        private readonly SqliteCommand _command;
        private readonly SqliteParameter _sender, _recipient, _kind, _body, _sentAt, _clientId, _inReplyTo, _broadcastId;

        public PreparedInsert(SqliteConnection connection)
        {
            Connection = connection;
            _command = connection.CreateCommand();
            // A (sender, client_id) stored already inserts nothing: the send was a retry. No RETURNING: it would open a
            // statement savepoint for every send, a few µs each on the send path; the new id is the connection's last rowid.
            _command.CommandText = """
                INSERT INTO messages (sender, recipient, kind, body, sent_at, client_id, in_reply_to, broadcast_id)
                VALUES ($sender, $recipient, $kind, $body, $sent_at, $client_id, $in_reply_to, $broadcast_id)
                ON CONFLICT (sender, client_id) WHERE client_id IS NOT NULL DO NOTHING;
                """;
            _sender = _command.Parameters.Add("$sender", SqliteType.Text);
            _recipient = _command.Parameters.Add("$recipient", SqliteType.Text);
            _kind = _command.Parameters.Add("$kind", SqliteType.Text);
            _body = _command.Parameters.Add("$body", SqliteType.Text);
            _sentAt = _command.Parameters.Add("$sent_at", SqliteType.Text);
            _clientId = _command.Parameters.Add("$client_id", SqliteType.Text);
            _inReplyTo = _command.Parameters.Add("$in_reply_to", SqliteType.Integer);
            _broadcastId = _command.Parameters.Add("$broadcast_id", SqliteType.Integer);
        }

        public SqliteConnection Connection { get; }

        public Stored Store(SqliteTransaction transaction, Draft draft) =>
            Run(transaction, draft, null) is { } id ? new Stored(Row(id, draft, null), false) : new Stored(Earlier(transaction, draft), true);

        /// <summary>The first row, then the others carrying its id; the first gets its own id as <c>broadcast_id</c> last.</summary>
        public Stored StoreBroadcast(SqliteTransaction transaction, Draft draft, IReadOnlyList<string> recipients)
        {
            if (Run(transaction, draft, null) is not { } first)
            {
                var earlier = Earlier(transaction, draft);
                var all = Connection.Query<MessageRow>($"SELECT {MessageRow.Columns} FROM messages WHERE broadcast_id = @BroadcastId ORDER BY id",
                    earlier, transaction).AsList();
                return new Stored(earlier, true, all);
            }
            Connection.Execute("UPDATE messages SET broadcast_id = @first WHERE id = @first", new { first }, transaction);
            var rows = new List<MessageRow>(recipients.Count) { Row(first, draft, first) };
            foreach (var recipient in recipients.Skip(1))
            {
                var copy = draft with { Recipient = recipient, ClientId = null };
                rows.Add(Row(Run(transaction, copy, first)!.Value, copy, first));
            }
            return new Stored(rows[0], false, rows);
        }

        private static MessageRow Row(long id, Draft draft, long? broadcastId) =>
            new(id, draft.Sender, draft.Recipient, draft.Kind, draft.Body, draft.SentAt, null, null, InReplyTo: draft.InReplyTo, BroadcastId: broadcastId);

        /// <summary>The new row's id, or null when the sender's client id is stored already.</summary>
        private long? Run(SqliteTransaction transaction, Draft draft, long? broadcastId)
        {
            _command.Transaction = transaction;
            _sender.Value = draft.Sender;
            _recipient.Value = draft.Recipient;
            _kind.Value = draft.Kind;
            _body.Value = draft.Body;
            _sentAt.Value = UtcTimestamp.Format(draft.SentAt);
            _clientId.Value = (object?)draft.ClientId ?? DBNull.Value;
            _inReplyTo.Value = (object?)draft.InReplyTo ?? DBNull.Value;
            _broadcastId.Value = (object?)broadcastId ?? DBNull.Value;
            return _command.ExecuteNonQuery() == 1 ? SQLitePCL.raw.sqlite3_last_insert_rowid(Connection.Handle) : null;
        }

        /// <summary>The row an earlier send with the same client id stored (rare: only retries get here).</summary>
        private MessageRow Earlier(SqliteTransaction transaction, Draft draft) =>
            Connection.QuerySingle<MessageRow>(
                $"SELECT {MessageRow.Columns} FROM messages WHERE sender = @Sender AND client_id = @ClientId",
                new { draft.Sender, draft.ClientId }, transaction);

        public void Dispose()
        {
            _command.Dispose();
            Connection.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop; // drains what was queued: everything accepted is written before shutdown completes
    }
}
