namespace Hive.Features.Containers;

/// <summary>
/// What follows an agent's exit nobody asked for, decided from its record and its recent restarts alone (no clock, no
/// process): it stays <c>stopped</c> (it was not meant to run), <c>crashed</c> (policy <c>never</c>: by hand), <c>failed</c>
/// (the cap of restarts within the window is reached), or <c>crashed</c> and restarted after a backoff that doubles with
/// each restart in the window, up to its maximum.
/// </summary>
internal static class RestartPolicy
{
    /// <param name="State">The state the agent's row takes now.</param>
    /// <param name="Next">What happens next, as the log and the manager's message say it.</param>
    /// <param name="RestartIn">The backoff before the restart; null when there is none.</param>
    public sealed record Decision(string State, string Next, TimeSpan? RestartIn);

    /// <param name="restartsInWindow">The restarts the policy made within <see cref="ContainersOptions.RestartWindowMinutes"/>.</param>
    public static Decision Decide(AgentRecord record, int restartsInWindow, ContainersOptions options)
    {
        if (record.Desired != DesiredStates.Running) return new(States.Stopped, "it was not meant to run", null);
        if (record.RestartPolicy == RestartPolicies.Never) return new(States.Crashed, "restart policy never: start it by hand", null);
        if (restartsInWindow >= options.MaxRestarts)
            return new(States.Failed, $"failed: {restartsInWindow} restarts in {options.RestartWindowMinutes:0.##} minutes; start it by hand", null);
        var delay = TimeSpan.FromSeconds(Math.Min(options.MaxRestartBackoffSeconds, options.RestartBackoffSeconds * Math.Pow(2, restartsInWindow)));
        return new(States.Crashed, $"restarting in {delay.TotalSeconds:0.###} s", delay);
    }

    /// <summary>The restart times still inside the window at <paramref name="now"/> (the older ones are dropped from the list).</summary>
    public static int PruneWindow(List<DateTimeOffset> restartTimes, DateTimeOffset now, ContainersOptions options)
    {
        restartTimes.RemoveAll(t => now - t > TimeSpan.FromMinutes(options.RestartWindowMinutes));
        return restartTimes.Count;
    }
}
