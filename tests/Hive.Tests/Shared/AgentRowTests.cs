using Hive.Contracts.Json;
using Hive.Shared.Agents;

namespace Hive.Tests.Shared;

/// <summary>Agent rows: features add typed facts; names come from the records, and a clash fails whatever the order.</summary>
public sealed class AgentRowTests
{
    private static readonly AgentInfo[] Agents = [new("manager", "manager", "/d/agents/manager/state"), new("alice", "agent", "/d/agents/alice/state")];

    [Fact]
    public async Task Features_facts_follow_the_directorys_under_snake_case_names()
    {
        var rows = await new AgentRows([new Counts(), new Moods()]).BuildAsync(Agents, CancellationToken.None);
        Assert.Equal(
            """[{"name":"manager","kind":"manager","state_dir":"/d/agents/manager/state","open_tasks":7,"mood":null,"mood_since":null},""" +
            """{"name":"alice","kind":"agent","state_dir":"/d/agents/alice/state","open_tasks":5,"mood":"calm","mood_since":"2026-11-21T21:00:00.123Z"}]""",
            JsonSerializer.Serialize(rows, HiveJson.Options));
    }

    [Fact]
    public async Task Two_features_giving_the_same_name_fail_in_either_order()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => new AgentRows([new Counts(), new MoreCounts()]).BuildAsync(Agents, CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => new AgentRows([new MoreCounts(), new Counts()]).BuildAsync(Agents, CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => new AgentRows([new Impostor()]).BuildAsync(Agents, CancellationToken.None));
    }

    [Fact]
    public async Task A_feature_must_give_facts_for_every_agent()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new AgentRows([new Forgetful()]).BuildAsync(Agents, CancellationToken.None));
        Assert.Contains("alice", error.Message);
    }

    private sealed record TaskFacts(long OpenTasks);
    private sealed record MoodFacts(string? Mood, DateTimeOffset? MoodSince);
    private sealed record NameFacts(string Name);

    private sealed class Counts : AgentRowContributor<TaskFacts>
    {
        protected override Task<IReadOnlyDictionary<string, TaskFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, TaskFacts>>(agents.ToDictionary(a => a.Name, a => new TaskFacts(a.Name.Length)));
    }

    private sealed class MoreCounts : AgentRowContributor<TaskFacts>
    {
        protected override Task<IReadOnlyDictionary<string, TaskFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, TaskFacts>>(agents.ToDictionary(a => a.Name, _ => new TaskFacts(0)));
    }

    private sealed class Moods : AgentRowContributor<MoodFacts>
    {
        protected override Task<IReadOnlyDictionary<string, MoodFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, MoodFacts>>(agents.ToDictionary(a => a.Name, a => a.Name == "alice"
                ? new MoodFacts("calm", new DateTimeOffset(2026, 11, 21, 21, 0, 0, 123, TimeSpan.Zero).AddTicks(4567))
                : new MoodFacts(null, null)));
    }

    /// <summary>Tries to overwrite the directory's own <c>name</c>.</summary>
    private sealed class Impostor : AgentRowContributor<NameFacts>
    {
        protected override Task<IReadOnlyDictionary<string, NameFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, NameFacts>>(agents.ToDictionary(a => a.Name, _ => new NameFacts("someone else")));
    }

    private sealed class Forgetful : AgentRowContributor<TaskFacts>
    {
        protected override Task<IReadOnlyDictionary<string, TaskFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, TaskFacts>>(new Dictionary<string, TaskFacts> { ["manager"] = new(1) });
    }
}
