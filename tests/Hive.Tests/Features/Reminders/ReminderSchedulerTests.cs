using Hive.Features.Reminders;
using MediatR;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Features.Reminders;

/// <summary>
/// The scheduler: a tick that fails (here: a storage error on the first three ticks) is logged and the scheduler
/// carries on. A hive of its own per test: its ticks fail on purpose.
/// </summary>
public sealed class ReminderSchedulerTests : IAsyncLifetime
{
    private readonly FailingTicks _failures = new(3);
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice"], services =>
    {
        services.AddSingleton(_failures);
        services.AddTransient<IPipelineBehavior<DeliverDueReminders.Command, DeliverDueReminders.Result>, FailingTickBehavior>();
        services.Configure<RemindersOptions>(o => o.TickSeconds = 0.1);
    });

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    [Fact]
    public async Task Storage_errors_in_ticks_do_not_stop_the_scheduler()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await alice.CallAsync(new { op = "remind", body = "still delivered", in_seconds = 0 });
        var message = await alice.RecvAsync(waitMs: 10_000);
        Assert.Equal("still delivered", message!.Value.GetProperty("body").GetString());
        Assert.True(_failures.Remaining <= 0, "the failing ticks happened first");
        // The delivering tick counts itself once it returns, which may be just after the message arrived.
        await HiveInstance.Until(() => _hive.Service<ReminderScheduler>().CompletedTicks > 3, what: "the delivering tick to complete");
    }

    public sealed class FailingTicks(int count)
    {
        private int _remaining = count;
        public int Remaining => Volatile.Read(ref _remaining);
        public bool TakeOne() => Interlocked.Decrement(ref _remaining) >= 0;
    }

    private sealed class FailingTickBehavior(FailingTicks failures) : IPipelineBehavior<DeliverDueReminders.Command, DeliverDueReminders.Result>
    {
        public Task<DeliverDueReminders.Result> Handle(DeliverDueReminders.Command request, CancellationToken cancellationToken,
            RequestHandlerDelegate<DeliverDueReminders.Result> next) =>
            failures.TakeOne() ? throw new SqliteException("disk I/O error (simulated)", 10) : next();
    }
}
