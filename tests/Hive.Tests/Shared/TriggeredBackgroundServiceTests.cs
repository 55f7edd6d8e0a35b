using Hive.Shared.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hive.Tests.Shared;

/// <summary>The woken loop: passes on a wake (coalesced), on an idle time, at start-up when asked; a failing pass is logged.</summary>
public sealed class TriggeredBackgroundServiceTests : IAsyncLifetime
{
    private readonly WakeSignal _signal = new();
    private ProbeLoop? _loop;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_loop is not null) await _loop.StopAsync(CancellationToken.None);
        _loop?.Dispose();
    }

    private async Task<ProbeLoop> StartAsync(Func<int, Task> pass, bool passAtStart = true, TimeSpan? idle = null, ILogger? logger = null)
    {
        _loop = new ProbeLoop(_signal, idle, passAtStart, logger ?? NullLogger.Instance, pass);
        await _loop.StartAsync(CancellationToken.None);
        return _loop;
    }

    [Fact]
    public async Task Wakes_during_a_pass_make_exactly_one_more_pass()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = await StartAsync(async n =>
        {
            if (n != 1) return;
            started.TrySetResult();
            await gate.Task;
        });

        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 5; i++) loop.Wake();
        gate.SetResult();
        await HiveInstance.Until(() => loop.CompletedPasses == 2, what: "the pass the wakes asked for");
        Assert.False(_signal.Pending.IsCompleted, "the five wakes were one, and it is taken");

        loop.Wake();
        await HiveInstance.Until(() => loop.CompletedPasses == 3, what: "the pass of a wake while waiting");
    }

    [Fact]
    public async Task A_wake_before_the_loop_started_is_kept()
    {
        _signal.Wake();
        var loop = await StartAsync(_ => Task.CompletedTask, passAtStart: false);
        await HiveInstance.Until(() => loop.CompletedPasses == 1, what: "the pass of the early wake");
    }

    [Fact]
    public async Task Passes_again_after_the_idle_time_without_a_wake()
    {
        var loop = await StartAsync(_ => Task.CompletedTask, idle: TimeSpan.FromMilliseconds(10));
        await HiveInstance.Until(() => loop.CompletedPasses >= 3, what: "passes on the idle time alone");
    }

    [Fact]
    public async Task A_failing_pass_is_logged_and_the_loop_carries_on()
    {
        var logger = new ErrorRecordingLogger();
        var loop = await StartAsync(n => n == 1 ? throw new InvalidOperationException("boom") : Task.CompletedTask, logger: logger);
        await HiveInstance.Until(() => loop.CompletedPasses == 1, what: "the failed pass");
        Assert.IsType<InvalidOperationException>(Assert.Single(logger.Errors));
        loop.Wake();
        await HiveInstance.Until(() => loop.CompletedPasses == 2, what: "the next pass");
    }

    [Fact]
    public async Task Stopping_ends_a_pass_in_flight()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = await StartAsync(_ =>
        {
            started.TrySetResult();
            return new TaskCompletionSource().Task; // never ends by itself
        });
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await loop.StopAsync(CancellationToken.None);
        Assert.Equal(0, loop.CompletedPasses);
    }

    private sealed class ProbeLoop(WakeSignal signal, TimeSpan? idle, bool passAtStart, ILogger logger, Func<int, Task> pass)
        : TriggeredBackgroundService(signal, idle, passAtStart, TimeProvider.System, logger)
    {
        private int _passes;

        protected override Task PassAsync(CancellationToken stoppingToken) =>
            pass(Interlocked.Increment(ref _passes)).WaitAsync(stoppingToken);
    }
}
