using Hive.Features.Messages;
using Hive.Tests.Infrastructure;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Shared;

/// <summary>
/// A change that has committed but not yet published its event must not be half-visible to a snapshot: either the
/// snapshot waits for the event (and its seq covers it) or it does not see the row.
/// </summary>
public sealed class SnapshotConsistencyTests : IAsyncLifetime
{
    private readonly Hold _hold = new();
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice"], services =>
    {
        services.AddSingleton(_hold);
        // First in line, before the dashboard relay: the event is held back after the commit.
        services.Insert(0, ServiceDescriptor.Transient<INotificationHandler<MessageSent>, HoldingHandler>());
    });

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    [Fact]
    public async Task A_snapshot_taken_between_commit_and_event_sees_the_message_exactly_once()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var sending = alice.SendAsync("operator", "hold");
        await _hold.Reached.Task.WaitAsync(TimeSpan.FromSeconds(5)); // committed, event not yet published

        var snapshot = _hive.GetJsonAsync("/api/state");
        var waited = await Task.WhenAny(snapshot, Task.Delay(300)) != snapshot;
        _hold.Release.TrySetResult();
        var state = await snapshot;
        var id = await sending;

        var inSnapshot = state.GetProperty("inbox").EnumerateArray().Count(m => m.GetProperty("id").GetInt64() == id);
        await using var events = await _hive.OpenEventsAsync(state.GetProperty("seq").GetInt64());
        var marker = await alice.SendAsync("operator", "marker");
        var inStream = 0;
        while (true)
        {
            var e = (await events.NextAsync(TimeSpan.FromSeconds(5)))!;
            if (e.Type != "sent") continue;
            var eventId = e.Json.GetProperty("id").GetInt64();
            if (eventId == id) inStream++;
            if (eventId == marker) break;
        }

        Assert.Equal(1, inSnapshot + inStream);
        Assert.True(waited, "the snapshot should wait for the change in flight");
    }

    public sealed class Hold
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class HoldingHandler(Hold hold) : INotificationHandler<MessageSent>
    {
        public async Task Handle(MessageSent notification, CancellationToken cancellationToken)
        {
            if (notification.Message.Body != "hold") return;
            hold.Reached.TrySetResult();
            await hold.Release.Task;
        }
    }
}
