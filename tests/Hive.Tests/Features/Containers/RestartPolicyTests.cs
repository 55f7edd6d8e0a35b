using Hive.Features.Containers;

namespace Hive.Tests.Features.Containers;

/// <summary>The restart policy as a function of the record and its recent restarts: no process, no clock.</summary>
public sealed class RestartPolicyTests
{
    private static readonly ContainersOptions Options = new()
    {
        MaxRestarts = 3, RestartWindowMinutes = 10, RestartBackoffSeconds = 1, MaxRestartBackoffSeconds = 5,
    };

    private static AgentRecord Record(string policy = RestartPolicies.OnFailure, string desired = DesiredStates.Running) =>
        new() { Name = "alice", RestartPolicy = policy, Desired = desired };

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    public void An_agent_meant_to_run_is_restarted_after_a_backoff_that_doubles_with_each_restart(int restarts, double seconds)
    {
        var decision = RestartPolicy.Decide(Record(), restarts, Options);
        Assert.Equal(States.Crashed, decision.State);
        Assert.Equal(TimeSpan.FromSeconds(seconds), decision.RestartIn);
        Assert.Equal($"restarting in {seconds} s", decision.Next);
    }

    [Fact]
    public void The_backoff_stops_growing_at_its_maximum()
    {
        var options = new ContainersOptions { MaxRestarts = 10, RestartBackoffSeconds = 1, MaxRestartBackoffSeconds = 5 };
        Assert.Equal(TimeSpan.FromSeconds(4), RestartPolicy.Decide(Record(), 2, options).RestartIn);
        Assert.Equal(TimeSpan.FromSeconds(5), RestartPolicy.Decide(Record(), 3, options).RestartIn);
        Assert.Equal(TimeSpan.FromSeconds(5), RestartPolicy.Decide(Record(), 9, options).RestartIn);
    }

    [Fact]
    public void At_the_cap_of_restarts_in_the_window_the_agent_is_failed_and_not_restarted()
    {
        var decision = RestartPolicy.Decide(Record(), 3, Options);
        Assert.Equal(States.Failed, decision.State);
        Assert.Null(decision.RestartIn);
        Assert.Equal("failed: 3 restarts in 10 minutes; start it by hand", decision.Next);
    }

    [Fact]
    public void Policy_never_leaves_it_crashed_for_a_person_to_start()
    {
        var decision = RestartPolicy.Decide(Record(RestartPolicies.Never), 0, Options);
        Assert.Equal(States.Crashed, decision.State);
        Assert.Null(decision.RestartIn);
        Assert.Contains("restart policy never", decision.Next);
    }

    [Fact]
    public void An_agent_not_meant_to_run_is_stopped_whatever_its_policy()
    {
        foreach (var policy in new[] { RestartPolicies.OnFailure, RestartPolicies.Never })
        {
            var decision = RestartPolicy.Decide(Record(policy, DesiredStates.Stopped), 0, Options);
            Assert.Equal(States.Stopped, decision.State);
            Assert.Null(decision.RestartIn);
        }
    }

    [Fact]
    public void Only_the_restarts_inside_the_window_count()
    {
        var now = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        var times = new List<DateTimeOffset> { now.AddMinutes(-30), now.AddMinutes(-11), now.AddMinutes(-9), now.AddSeconds(-1) };
        Assert.Equal(2, RestartPolicy.PruneWindow(times, now, Options));
        Assert.Equal([now.AddMinutes(-9), now.AddSeconds(-1)], times);
    }
}
