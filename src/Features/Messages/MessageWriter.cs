using System.Threading.Channels;
using Dapper;
using Hive.Shared.Data;
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
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;

    public MessageWriter(IDb db, ILogger<MessageWriter> logger)
    {
        _db = db;
        _logger = logger;
        _loop = Task.Run(WriteLoopAsync);
    }

    public sealed record Draft(string Sender, string Recipient, string Kind, string Body, DateTimeOffset SentAt);

    private sealed record Pending(Draft Draft, TaskCompletionSource<MessageRow> Committed);

    /// <summary>Queues a message; the task completes with the stored row once its transaction has committed.</summary>
    public Task<MessageRow> AppendAsync(Draft draft)
    {
        var pending = new Pending(draft, new TaskCompletionSource<MessageRow>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
            throw new InvalidOperationException("the host is shutting down");
        return pending.Committed.Task;
    }

    private async Task WriteLoopAsync()
    {
        const string insert = """
            INSERT INTO messages (sender, recipient, kind, body, sent_at)
            VALUES (@Sender, @Recipient, @Kind, @Body, @SentAt)
            RETURNING id;
            """;
        var batch = new List<Pending>(MaxBatch);
        var rows = new List<MessageRow>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            rows.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending)) batch.Add(pending);
            try
            {
                using var connection = _db.Open();
                using var transaction = connection.BeginTransaction();
                foreach (var (draft, _) in batch)
                {
                    // QuerySingle reads the RETURNING statement to its end, so the WAL can checkpoint.
                    var id = connection.QuerySingle<long>(insert, draft, transaction);
                    rows.Add(new MessageRow(id, draft.Sender, draft.Recipient, draft.Kind, draft.Body, draft.SentAt, null, null));
                }
                transaction.Commit();
            }
            catch (Exception e)
            {
                _logger.LogError(e, "a batch of {Count} messages failed to commit; none was acknowledged", batch.Count);
                foreach (var pending in batch) pending.Committed.TrySetException(e);
                continue;
            }
            for (var i = 0; i < batch.Count; i++) batch[i].Committed.TrySetResult(rows[i]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop; // drains what was queued: everything accepted is written before shutdown completes
    }
}
