using Hive.Features.Messages;
using Hive.Shared.Dashboard;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Shared;

/// <summary>
/// A change that has committed but not yet published its event must not be half-visible to a snapshot: either the
/// snapshot waits for the event (and its seq covers it) or it does not see the row. The check is run twice: on the
/// real hive, and on one whose gate is bypassed, to show that it catches exactly that.
/// </summary>
public sealed class SnapshotConsistencyTests
{
    [Fact]
    public async Task A_snapshot_taken_between_commit_and_event_sees_the_message_exactly_once()
    {
        var outcome = await RunAsync(bypassGate: false);

        Assert.Equal(1, outcome.InSnapshot + outcome.InStream);
        Assert.True(outcome.SnapshotWaited, "the snapshot should wait for the change in flight");
    }

    [Fact]
    public async Task The_check_fails_when_the_gate_is_bypassed()
    {
        var outcome = await RunAsync(bypassGate: true);

        // Without the gate the snapshot reads the committed row at once and its seq predates the row's event, so the
        // page would get the message twice: once in the snapshot, once replayed from the stream. (Whether it "waited"
        // is not asserted here: on a loaded machine 300 ms can pass anyway; the count is what is deterministic.)
        Assert.Equal(2, outcome.InSnapshot + outcome.InStream);
    }

    private sealed record Outcome(bool SnapshotWaited, int InSnapshot, int InStream);

    private static async Task<Outcome> RunAsync(bool bypassGate)
    {
        var hold = new Hold();
        // A hive of its own for each run: its probe holds events back, and one run bypasses the gate.
        await using var hive = await HiveInstance.StartAsync(["alice"], services =>
        {
            services.AddSingleton(hold);
            // First in line, before the dashboard relay: the event is held back after the commit.
            services.Insert(0, ServiceDescriptor.Transient<INotificationHandler<MessageSent>, HoldingHandler>());
            if (bypassGate) services.AddSingleton<IStateChangeGate, BypassedGate>();
        });
        await using var alice = await hive.ConnectAsync("alice");
        await hive.GetJsonAsync("/api/state"); // warm: a first snapshot's start-up cost must not pass for waiting
        var sending = alice.SendAsync("operator", "hold");
        await hold.Reached.Task.WaitAsync(TimeSpan.FromSeconds(5)); // committed, event not yet published

        var snapshot = hive.GetJsonAsync("/api/state");
        // Bounded: a snapshot that waits is released below; one that does not returns at once.
        var waited = await Task.WhenAny(snapshot, Task.Delay(300)) != snapshot;
        hold.Release.TrySetResult();
        var state = await snapshot;
        var id = await sending;

        var inSnapshot = state.GetProperty("inbox").EnumerateArray().Count(m => m.GetProperty("id").GetInt64() == id);
        await using var events = await hive.OpenEventsAsync(state.GetProperty("seq").GetInt64());
        var marker = await alice.SendAsync("operator", "marker");
        var inStream = 0;
        while (true)
        {
            var e = (await events.NextAsync())!;
            if (e.Type != "sent") continue;
            var eventId = e.Json.GetProperty("id").GetInt64();
            if (eventId == id) inStream++;
            if (eventId == marker) break;
        }
        return new Outcome(waited, inSnapshot, inStream);
    }

    private sealed class Hold
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

    /// <summary>A gate that lets everything through: what the hive would be without it.</summary>
    private sealed class BypassedGate : IStateChangeGate
    {
        public ValueTask<IDisposable> EnterChangeAsync(CancellationToken cancellationToken = default) => new(NoHold.Instance);
        public ValueTask<IDisposable> EnterSnapshotAsync(CancellationToken cancellationToken = default) => new(NoHold.Instance);

        private sealed class NoHold : IDisposable
        {
            public static readonly NoHold Instance = new();
            public void Dispose() { }
        }
    }
}
