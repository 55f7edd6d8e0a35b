using System.IO.Pipelines;
using Hive.Host.Auth;
using Microsoft.AspNetCore.Connections;

namespace Hive.Tests.Host.Auth;

/// <summary>
/// A connection whose first request has reached the host ranks as "head arriving" (closed last to make room) from the
/// moment the transport hands its bytes over, not from the moment the host gets round to reading them: on a host short
/// of threads that can be much later, and a flood would have the operator's new connection closed as a silent one
/// meanwhile. The reader's scheduler is held back here, as a starved thread pool would hold it.
/// </summary>
public sealed class FirstRequestHeadTests
{
    [Fact]
    public async Task A_head_handed_to_a_read_not_yet_resumed_ranks_as_arriving_not_as_silence()
    {
        var held = new HeldScheduler();
        var input = new Pipe(new PipeOptions(readerScheduler: held, useSynchronizationContext: false));
        var output = new Pipe();
        var connection = new DefaultConnectionContext("c1", new DuplexPipe(input.Reader, output.Writer), new DuplexPipe(output.Reader, input.Writer));
        var tracked = new BudgetedConnection(connection, 0);
        var token = new OperatorToken("t0ken-" + Guid.NewGuid().ToString("N"), TimeSpan.FromHours(1));

        var classified = FirstRequestHead.SignsInAsync(connection, tracked, token);
        Assert.Equal(1, tracked.Rank); // nothing sent yet: silent

        await input.Writer.WriteAsync("GET /api/state HTTP/1.1\r\nHost: h\r\n\r\n"u8.ToArray());
        Assert.False(classified.IsCompleted); // the read's continuation waits on the held scheduler
        Assert.Equal(2, tracked.Rank);

        held.RunAll();
        Assert.False(await classified); // read at last: no credential, so not the operator's
    }

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    /// <summary>Keeps every continuation until <see cref="RunAll"/>.</summary>
    private sealed class HeldScheduler : PipeScheduler
    {
        private readonly Queue<(Action<object?> Action, object? State)> _held = new();

        public override void Schedule(Action<object?> action, object? state)
        {
            lock (_held) _held.Enqueue((action, state));
        }

        public void RunAll()
        {
            while (true)
            {
                (Action<object?> Action, object? State) next;
                lock (_held)
                {
                    if (_held.Count == 0) return;
                    next = _held.Dequeue();
                }
                next.Action(next.State);
            }
        }
    }
}
