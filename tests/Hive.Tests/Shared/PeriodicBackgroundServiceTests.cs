using System.Collections.Concurrent;
using Hive.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Hive.Tests.Shared;

/// <summary>
/// The periodic loop on a clock the test moves by hand: every tick after the start-up one happens exactly when the
/// test fires the timer, so nothing here waits on real time except the deadlines.
/// </summary>
public sealed class PeriodicBackgroundServiceTests : IAsyncLifetime
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(7);

    private readonly FakeTimeProvider _clock = new();
    private readonly ErrorRecordingLogger _logger = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddScoped<TickScope>().BuildServiceProvider();
    private ProbeLoop? _loop;

    public Task InitializeAsync() => Task.CompletedTask;

    // IAsyncLifetime: xunit 2 does not dispose a test class asynchronously, so the loop would run on after its test.
    public async Task DisposeAsync()
    {
        if (_loop is not null) await _loop.StopAsync(CancellationToken.None);
        _loop?.Dispose();
        await _services.DisposeAsync();
    }

    private async Task<ProbeLoop> StartAsync(Func<int, IServiceProvider, CancellationToken, Task> tick)
    {
        _loop = new ProbeLoop(_services.GetRequiredService<IServiceScopeFactory>(), _clock, _logger, tick);
        await _loop.StartAsync(CancellationToken.None);
        return _loop;
    }

    [Fact]
    public async Task Ticks_at_start_up_then_on_each_timer_tick_each_in_a_scope_of_its_own()
    {
        var scopes = new ConcurrentQueue<TickScope>();
        var loop = await StartAsync((_, services, _) =>
        {
            var scope = services.GetRequiredService<TickScope>();
            Assert.Same(scope, services.GetRequiredService<TickScope>());
            scopes.Enqueue(scope);
            return Task.CompletedTask;
        });

        await HiveInstance.Until(() => loop.CompletedTicks == 1, what: "the start-up tick");
        _clock.Advance(Interval);
        await HiveInstance.Until(() => loop.CompletedTicks == 2, what: "the second tick");
        _clock.Advance(Interval);
        await HiveInstance.Until(() => loop.CompletedTicks == 3, what: "the third tick");

        Assert.Equal(3, scopes.Distinct().Count());
        Assert.All(scopes, scope => Assert.True(scope.Disposed, "each tick's scope is disposed when the tick ends"));
        Assert.Empty(_logger.Errors);
    }

    [Fact]
    public async Task A_throwing_tick_is_logged_and_the_loop_carries_on()
    {
        var loop = await StartAsync((tick, _, _) => tick switch
        {
            1 => throw new InvalidOperationException("tick one fails"),
            2 => throw new OperationCanceledException("a tick's own timeout, not the host stopping"),
            _ => Task.CompletedTask,
        });

        await HiveInstance.Until(() => loop.CompletedTicks == 1, what: "the failed start-up tick");
        _clock.Advance(Interval);
        await HiveInstance.Until(() => loop.CompletedTicks == 2, what: "the second failed tick");
        _clock.Advance(Interval);
        await HiveInstance.Until(() => loop.CompletedTicks == 3, what: "a tick after two failures");

        Assert.Equal(3, loop.StartedTicks);
        Assert.Collection(_logger.Errors,
            e => Assert.IsType<InvalidOperationException>(e),
            e => Assert.IsType<OperationCanceledException>(e));
    }

    [Fact]
    public async Task Stopping_ends_a_tick_in_progress_without_counting_or_logging_it()
    {
        var loop = await StartAsync((_, _, stoppingToken) => Task.Delay(Timeout.Infinite, stoppingToken));
        await HiveInstance.Until(() => loop.StartedTicks == 1, what: "the start-up tick to begin");

        await loop.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(loop.ExecuteTask!.IsCompletedSuccessfully);
        Assert.Equal(0, loop.CompletedTicks);
        Assert.Empty(_logger.Errors);
    }

    [Fact]
    public async Task Stopping_between_ticks_ends_the_loop()
    {
        var loop = await StartAsync((_, _, _) => Task.CompletedTask);
        await HiveInstance.Until(() => loop.CompletedTicks == 1, what: "the start-up tick");

        await loop.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(loop.ExecuteTask!.IsCompletedSuccessfully);
        Assert.Equal(1, loop.StartedTicks);
        Assert.Empty(_logger.Errors);
    }

    private sealed class ProbeLoop(
        IServiceScopeFactory scopes,
        TimeProvider clock,
        ILogger logger,
        Func<int, IServiceProvider, CancellationToken, Task> tick) : PeriodicBackgroundService(scopes, Interval, clock, logger)
    {
        private int _startedTicks;
        public int StartedTicks => Volatile.Read(ref _startedTicks);

        protected override Task TickAsync(IServiceProvider services, CancellationToken stoppingToken) =>
            tick(Interlocked.Increment(ref _startedTicks), services, stoppingToken);
    }

    private sealed class TickScope : IDisposable
    {
        public bool Disposed { get; private set; }
        public void Dispose() => Disposed = true;
    }
}
