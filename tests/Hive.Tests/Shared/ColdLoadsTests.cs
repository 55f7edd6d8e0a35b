using Hive.Shared.Dashboard;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Shared;

/// <summary>
/// Concurrent cold loads share builds (five pages cold-loading in a loop took every core from the agents'
/// sends). Sharing must stay invisible: a load that arrives after a change was acknowledged sees it.
/// </summary>
public sealed class ColdLoadsTests
{
    [Fact]
    public async Task Loads_that_arrive_during_a_build_share_the_next_one_and_see_every_change_acknowledged_before_they_came()
    {
        var probe = new HoldingContributor();
        // A hive of its own: its probe contributor holds the first build open.
        await using var hive = await HiveInstance.StartAsync(["alice"], services =>
            services.AddSingleton<IDashboardStateContributor>(probe));
        var loads = hive.Service<ColdLoads>();
        await using var alice = await hive.ConnectAsync("alice");

        probe.HoldNext();
        var first = hive.GetJsonAsync("/api/state");
        await probe.Held.Task.WaitAsync(TimeSpan.FromSeconds(10)); // build 1 has its seq and its read transaction
        var buildsBefore = loads.Builds;
        var id = await alice.SendAsync("operator", "after the first build began");

        var requestsBefore = loads.Requests;
        var later = Enumerable.Range(0, 10).Select(_ => hive.GetJsonAsync("/api/state")).ToList();
        await HiveInstance.Until(() => loads.Requests == requestsBefore + 10, what: "ten more cold loads to arrive");
        probe.Release();

        var firstState = await first;
        var states = await Task.WhenAll(later);
        Assert.DoesNotContain(firstState.GetProperty("inbox").EnumerateArray(), m => m.GetProperty("id").GetInt64() == id);
        Assert.Equal(buildsBefore + 1, loads.Builds); // ten loads, one build
        Assert.All(states, s =>
        {
            Assert.Contains(s.GetProperty("inbox").EnumerateArray(), m => m.GetProperty("id").GetInt64() == id);
            Assert.Equal(states[0].GetProperty("seq").GetInt64(), s.GetProperty("seq").GetInt64());
        });
        Assert.True(states[0].GetProperty("seq").GetInt64() > firstState.GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task A_load_whose_client_gives_up_does_not_cancel_the_build_the_others_wait_for()
    {
        var probe = new HoldingContributor();
        await using var hive = await HiveInstance.StartAsync(["alice"], services =>
            services.AddSingleton<IDashboardStateContributor>(probe));

        probe.HoldNext();
        // The client gives up once its build is under way (a timeout could strike before the request reached the build on
        // a cold host, and then there would be nothing to give up on).
        using var impatient = hive.CreateClient();
        using var giveUp = new CancellationTokenSource();
        var givingUp = impatient.GetAsync("/api/state", giveUp.Token);
        await probe.Held.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var patient = hive.GetJsonAsync("/api/state");
        giveUp.Cancel();
        await Assert.ThrowsAnyAsync<TaskCanceledException>(() => givingUp);
        probe.Release();

        Assert.True((await patient).GetProperty("seq").GetInt64() > 0);
    }

    /// <summary>Holds the build it is told to hold inside its contribution, after the gate was left.</summary>
    private sealed class HoldingContributor : IDashboardStateContributor
    {
        private TaskCompletionSource? _release;
        private TaskCompletionSource? _next;
        public TaskCompletionSource Held { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void HoldNext()
        {
            Held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _next = _release;
        }

        public void Release() => _release?.TrySetResult();

        public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken)
        {
            var release = Interlocked.Exchange(ref _next, null);
            if (release is null) return;
            Held.TrySetResult();
            await release.Task.WaitAsync(cancellationToken);
        }
    }
}
